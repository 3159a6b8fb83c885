#include "replay/timeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/user_error.hpp"
#include "snapshot/state_hash.hpp"

namespace hs {

MachineConfig config_from_manifest(const std::string& dir, const RecordingManifest& m) {
  MachineConfig cfg;
  cfg.boot.ram_size = m.ram_size;
  cfg.boot.bios = m.bios_mode == BiosMode::kNone ? "none" : resolve_image(dir, *m.bios);
  if (m.kernel) cfg.boot.kernel = resolve_image(dir, *m.kernel);
  if (m.initrd) cfg.boot.initrd = resolve_image(dir, *m.initrd);
  if (m.dtb) cfg.boot.dtb = resolve_image(dir, *m.dtb);
  cfg.boot.append = m.append;
  for (const DriveRef& d : m.drives)
    cfg.drives.push_back(DriveSpec{resolve_image(dir, d.image), d.readonly, {}});
  cfg.rng = m.rng;
  return cfg;
}

namespace {

// Where two machines differ, for the divergence report: the hart's
// architectural registers and RAM pages (device state only when nothing else
// differs).
std::string describe_differences(Machine& a, Machine& b) {
  std::vector<std::string> out;
  const Hart& x = a.hart();
  const Hart& y = b.hart();
  auto reg = [&](const char* name, uint64_t u, uint64_t v) {
    if (u != v) out.push_back(fmt::format("{} {:#x} (recorded {:#x})", name, u, v));
  };
  reg("pc", x.pc, y.pc);
  reg("priv", static_cast<uint64_t>(x.priv), static_cast<uint64_t>(y.priv));
  reg("instret", x.instret, y.instret);
  for (unsigned r = 1; r < 32; ++r) reg(fmt::format("x{}", r).c_str(), x.x[r], y.x[r]);
  for (unsigned r = 0; r < 32; ++r) reg(fmt::format("f{}", r).c_str(), x.f[r], y.f[r]);
  reg("mstatus", x.mstatus, y.mstatus);
  reg("mip", x.effective_mip(), y.effective_mip());
  reg("mie", x.mie, y.mie);
  reg("satp", x.satp, y.satp);
  const auto& ma = a.bus().memories();
  const auto& mb = b.bus().memories();
  for (size_t r = 0; r < ma.size() && r < mb.size(); ++r) {
    uint64_t differing = 0, first = 0;
    for (uint64_t off = 0; off < ma[r]->size; off += kPageSize) {
      if (std::memcmp(ma[r]->host + off, mb[r]->host + off,
                      std::min<uint64_t>(kPageSize, ma[r]->size - off)) != 0) {
        if (differing++ == 0) first = ma[r]->base.v + off;
      }
    }
    if (differing)
      out.push_back(fmt::format("{}: {} page(s) differ, first at {:#x}", ma[r]->name, differing,
                                first));
  }
  if (out.empty()) return "device or disk state differs";
  if (out.size() > 8) {
    const size_t more = out.size() - 8;
    out.resize(8);
    out.push_back(fmt::format("and {} more", more));
  }
  std::string s;
  for (const std::string& o : out) s += (s.empty() ? "" : "; ") + o;
  return s;
}

}  // namespace

Timeline::Timeline(const std::string& dir)
    : dir_(dir), checkpoints_(SnapshotStore::in_memory()) {
  manifest_ = read_manifest(dir_);
  verify_images(dir_, manifest_);
  journal_ = std::make_unique<JournalReader>(JournalReader::open(dir_));
  end_record_ = read_end(dir_);
  snapshots_ = std::make_unique<SnapshotStore>(SnapshotStore::open(dir_));
  end_ = journal_->end_position();
  if (end_record_) end_ = std::min(end_, end_record_->position);

  session_ = std::make_unique<Session>(config_from_manifest(dir_, manifest_), input_);
  Machine& m = session_->machine();
  replay_input_ = std::make_unique<ReplayHostInput>(*journal_, m.hart().clock(), 0);
  input_.set(replay_input_.get());
  replay_input_->on_divergence = [&m](const Divergence&) { m.request_stop(); };
  replay_input_->on_check = [this](const Event& e) { check_hart(e); };
  m.next_input = [this] { return replay_input_->next_input(); };
  m.on_poll = [this] {
    replay_input_->poll_point(machine().position());
    session_->board().poll_input();
  };
  // Waiting for host input: in a replay every input was delivered at the
  // poll where it was recorded, so nothing more can arrive.
  m.idle_wait = [] { return false; };
  session_->board().on_reset = [&m] { m.request_exit(0); };

  for (const SnapshotInfo& s : snapshots_->snapshots())
    if (s.position <= end_) checks_.push_back({s.position, s.state_hash, "snapshot"});
  if (end_record_ && end_record_->position == end_)
    checks_.push_back({end_, end_record_->state_hash, "end"});
  std::stable_sort(checks_.begin(), checks_.end(),
                   [](const Check& a, const Check& b) { return a.pos < b.pos; });
}

Timeline::~Timeline() = default;

void Timeline::check_hart(const Event& e) {
  const std::array<uint8_t, 16> mine = hart_hash(machine().hart()).canonical();
  if (e.payload.size() == mine.size() && std::equal(mine.begin(), mine.end(), e.payload.begin())) {
    last_check_ = e.pos;
    return;
  }
  diverged(fmt::format(
      "replay diverged between positions {} and {}: the hart state differs at the check at {} "
      "(pc {:#x}, instret {})",
      last_check_.v, e.pos.v, e.pos.v, machine().hart().pc, machine().hart().instret));
  machine().request_stop();
}

void Timeline::diverged(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

bool Timeline::verify(const Check& check) {
  const SnapshotInfo mine =
      checkpoints_.capture(machine(), session_->board(), replay_input_->cursor());
  if (mine.state_hash == check.hash) {
    last_verified_ = check.pos;
    ++verified_;
    return true;
  }
  std::string what = "state hash differs";
  if (const SnapshotInfo* rec = snapshots_->nearest_at_or_before(check.pos);
      rec && rec->position == check.pos) {
    // Show what differs: the recorded state, restored into a scratch machine.
    InputSwitch scratch_input;
    LiveHostInput unused;
    scratch_input.set(&unused);
    Session scratch(session_->config(), scratch_input);
    snapshots_->restore(*rec, scratch.machine(), scratch.board());
    what = describe_differences(machine(), scratch.machine());
  }
  diverged(fmt::format(
      "replay diverged between positions {} and {} ({} at {}: recorded {}, replayed {}): {}",
      last_verified_.value_or(Position{0}).v, check.pos.v, check.what, check.pos.v, check.hash.to_string(),
      mine.state_hash.to_string(), what));
  return false;
}

Timeline::Stop Timeline::run_to(Position target, const std::function<bool(Position)>& progress,
                                bool step_over_breakpoint) {
  // Slices bound how long a progress callback (a debugger's Ctrl-C) waits.
  constexpr uint64_t kSlice = 10'000'000;
  target = std::min(target, end_);
  Machine& m = machine();
  if (!error_.empty()) return Stop::kDivergence;
  bool stopped = false;  // the guest itself stopped (power-off at the end)
  for (;;) {
    const Position now = m.position();
    // Verify a check at exactly this position once (e.g. after arriving).
    auto next = std::lower_bound(checks_.begin(), checks_.end(), now,
                                 [](const Check& c, Position p) { return c.pos < p; });
    if (next != checks_.end() && next->pos == now && (!last_verified_ || *last_verified_ < now)) {
      if (!verify(*next)) return Stop::kDivergence;
    }
    if (now >= target || stopped) break;
    while (next != checks_.end() && next->pos <= now) ++next;
    Position stop = next == checks_.end() ? target : std::min(target, next->pos);
    if (progress) stop = std::min(stop, now + kSlice);
    const StopReason why = m.run(stop, step_over_breakpoint && now == m.position());
    step_over_breakpoint = false;
    if (const auto& d = replay_input_->divergence()) diverged(d->what);
    if (!error_.empty()) return Stop::kDivergence;
    if (why == StopReason::kBreakpoint) return Stop::kBreakpoint;
    if (why == StopReason::kWatchpoint) return Stop::kWatchpoint;
    if (progress && !progress(m.position())) return Stop::kInterrupted;
    if (why != StopReason::kTarget && m.position() < end_) {
      diverged(fmt::format("replay diverged: the guest {} at position {}, but the recording "
                           "continues to {}",
                           why == StopReason::kExit ? "powered off" : "stopped", m.position().v,
                           end_.v));
      return Stop::kDivergence;
    }
    stopped = why != StopReason::kTarget;
  }
  return m.position() >= end_ ? Stop::kEnd : Stop::kTarget;
}

std::pair<SnapshotStore*, const SnapshotInfo*> Timeline::nearest(Position target) {
  const SnapshotInfo* mem = checkpoints_.nearest_at_or_before(target);
  const SnapshotInfo* file = snapshots_->nearest_at_or_before(target);
  // An in-memory checkpoint restores faster than the same position from disk.
  if (mem && (!file || mem->position >= file->position)) return {&checkpoints_, mem};
  return {snapshots_.get(), file};
}

void Timeline::restore_nearest(Position target) {
  const auto [store, info] = nearest(target);
  if (!info)
    throw UserError(fmt::format("{}: no usable snapshot at or before position {}", dir_,
                                target.v));
  replay_input_->set_cursor(store->restore(*info, machine(), session_->board()));
  last_verified_ = machine().position();
}

std::optional<Position> Timeline::checkpoint_before(Position p) const {
  std::optional<Position> best;
  for (const SnapshotStore* store : {static_cast<const SnapshotStore*>(&checkpoints_),
                                     static_cast<const SnapshotStore*>(snapshots_.get())})
    for (const SnapshotInfo& s : store->snapshots())
      if (s.position < p && (!best || s.position > *best)) best = s.position;
  return best;
}

Timeline::Stop Timeline::seek(Position target) {
  target = std::min(target, end_);
  const Position now = position();
  const SnapshotInfo* best = nearest(target).second;
  if (now > target || (best && best->position > now)) restore_nearest(target);
  // A far seek leaves an in-memory checkpoint a little before the target, so
  // the reverse steps a debugger takes next replay a short distance.
  constexpr uint64_t kNear = 1'000'000;
  if (target.v >= position().v + 2 * kNear) {
    const Stop s = run_to(Position{target.v - kNear});
    if (s != Stop::kTarget) return s;
    checkpoints_.capture(machine(), session_->board(), replay_input_->cursor());
  }
  return run_to(target);
}

}  // namespace hs
