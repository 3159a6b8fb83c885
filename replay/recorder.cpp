#include "replay/recorder.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fmt/format.h>

#include "core/user_error.hpp"
#include "devices/boot.hpp"
#include "snapshot/state_hash.hpp"

namespace hs {

namespace fs = std::filesystem;

namespace {

// Wall time between journal flushes while running: bounds what a kill loses.
constexpr auto kFlushEvery = std::chrono::milliseconds(250);

// Flushes the journal up to `p`. Snapshots are written in the background, so
// the first frame first waits for the initial snapshot to be durable: a
// recording killed after its first frame always has its base snapshot (as
// when captures were written inline). Later frames do not wait. Returns the
// seconds spent waiting.
double flush_journal(JournalWriter& journal, SnapshotStore& snapshots, Position p) {
  double waited = 0;
  if (journal.frames().empty() && p.v > 0) {
    const auto start = std::chrono::steady_clock::now();
    snapshots.flush();
    waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  journal.flush(p);
  return waited;
}

void prepare_directory(const std::string& dir, bool force) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw UserError(fmt::format("{}: not a directory", dir));
    if (!fs::is_empty(dir, ec)) {
      if (!force)
        throw UserError(fmt::format("{}: directory exists and is not empty (use --force)", dir));
      for (const auto& entry : fs::directory_iterator(dir)) fs::remove_all(entry.path(), ec);
    }
  }
  fs::create_directories(dir, ec);
  if (ec) throw UserError(fmt::format("{}: {}", dir, ec.message()));
}

// The manifest, except for the image hashes (ImageRef::hash/size/stored),
// which store_images() fills in. Checks what can be refused at once.
RecordingManifest make_manifest(const RecordOptions& opt, const MachineConfig& cfg) {
  RecordingManifest m;
  m.hindsight_version = HINDSIGHT_VERSION;
  m.created = utc_timestamp();
  m.command_line = opt.command_line;
  m.ram_size = cfg.boot.ram_size;
  auto image = [](const std::string& path) {
    ImageRef ref;
    ref.path = path;
    return ref;
  };
  if (cfg.boot.bios == "none") {
    m.bios_mode = BiosMode::kNone;
  } else if (cfg.boot.bios.empty()) {
    const std::string fw = default_firmware();
    if (fw.empty())
      throw UserError("no default firmware: install Debian's opensbi package or pass --bios");
    m.bios_mode = BiosMode::kDefault;
    m.bios = image(fw);
  } else {
    m.bios_mode = BiosMode::kFile;
    m.bios = image(cfg.boot.bios);
  }
  if (!cfg.boot.kernel.empty()) m.kernel = image(cfg.boot.kernel);
  if (!cfg.boot.initrd.empty()) m.initrd = image(cfg.boot.initrd);
  if (!cfg.boot.dtb.empty()) m.dtb = image(cfg.boot.dtb);
  m.append = cfg.boot.append;
  for (const DriveSpec& d : cfg.drives) {
    // A replay starts from the base image alone: a pre-filled persistent
    // overlay would be guest-visible state the recording does not hold.
    std::error_code ec;
    if (!d.overlay.empty() && fs::exists(d.overlay, ec) && fs::file_size(d.overlay, ec) > 0)
      throw UserError(fmt::format(
          "{}: recording needs an empty or new overlay (the recording must start from the base "
          "image)",
          d.overlay));
    m.drives.push_back(DriveRef{image(d.file), d.readonly});
  }
  m.rng = cfg.rng;
  m.snapshot_interval = opt.snapshot_every;
  m.pacing = true;
  return m;
}

// Hashes (and copies into REC/images/) every image make_manifest() named.
void store_images(RecordingManifest& m, const RecordOptions& opt) {
  auto store = [&](ImageRef& ref) { ref = store_image(opt.dir, ref.path, opt.copy_images); };
  for (auto* ref : {&m.bios, &m.kernel, &m.initrd, &m.dtb})
    if (ref->has_value()) store(**ref);
  for (DriveRef& d : m.drives) store(d.image);
}

}  // namespace

Recorder::Recorder(const RecordOptions& opt, const MachineConfig& cfg) : opt_(opt) {
  prepare_directory(opt_.dir, opt_.force);
  manifest_ = make_manifest(opt_, cfg);
  // The images (36 MB for the Linux guest) are hashed and copied, and the
  // manifest written, on a thread while the guest starts: the session reads
  // the same files itself. Joined before anything reads the recording.
  manifest_written_ = std::async(std::launch::async, [this] {
    store_images(manifest_, opt_);
    write_manifest(opt_.dir, manifest_);
  });
  journal_ = std::make_unique<JournalWriter>(JournalWriter::create(opt_.dir));
  // Background writes: compression and file writes overlap the guest.
  snapshots_ = std::make_unique<SnapshotStore>(
      SnapshotStore::create(opt_.dir, SnapshotStore::Writes::kBackground));
}

Recorder::~Recorder() = default;

void Recorder::attach(Session& session, InputSwitch& input_switch, HostInput& live,
                      std::function<uint64_t(Position, uint64_t)> pace) {
  session_ = &session;
  Machine& m = session.machine();
  input_ = std::make_unique<RecordingHostInput>(live, *journal_, m.hart().clock());
  input_switch.set(input_.get());
  m.on_poll = [this] { on_poll(); };
  if (pace) {
    m.pace_idle = [this, pace = std::move(pace)](Position now, uint64_t n) {
      const uint64_t step = pace(now, n);
      if (step < n) input_->log_wake(now + step);
      return step;
    };
  }
  last_flush_ = std::chrono::steady_clock::now();
}

void Recorder::on_poll() {
  Machine& m = session_->machine();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_flush_ >= kFlushEvery) {
    result_.snapshot_seconds += flush_journal(*journal_, *snapshots_, m.position());
    last_flush_ = now;
  }
  session_->board().poll_input();
  if (stop_requested_) m.request_stop();
}

void Recorder::request_stop() { stop_requested_ = true; }

SnapshotInfo Recorder::snapshot() {
  // The journal up to here first, so its flush never waits for this
  // snapshot's background write (flush_journal).
  result_.snapshot_seconds += flush_journal(*journal_, *snapshots_, session_->machine().position());
  const SnapshotInfo info =
      snapshots_->capture(session_->machine(), session_->board(), journal_->events_written() +
                                                                      journal_->pending());
  ++result_.snapshots;
  result_.snapshot_seconds += info.seconds;  // the capture's share; the writing overlaps the run
  last_flush_ = std::chrono::steady_clock::now();
  return info;
}

void Recorder::start() {
  snapshot();  // position 0: seeking never has to replay from the boot images
}

void Recorder::wait_manifest() {
  if (manifest_written_.valid()) manifest_written_.get();  // rethrows its error
}

void Recorder::sync_journal() {
  wait_manifest();
  snapshots_->flush();  // every snapshot taken so far is on disk for a reader
  journal_->flush(session_->machine().position());
}

StopReason Recorder::run_until(Position until, bool step_over_breakpoint) {
  Machine& m = session_->machine();
  const uint64_t every = opt_.snapshot_every;
  if (opt_.limit) until = std::min(until, Position{opt_.limit});
  for (;;) {
    Position stop = until;
    if (every) stop = std::min(stop, Position{(m.position().v / every + 1) * every});
    const uint64_t check = opt_.check_every;
    if (check) stop = std::min(stop, Position{(m.position().v / check + 1) * check});
    const StopReason why = m.run(stop, step_over_breakpoint);
    step_over_breakpoint = false;
    if (why != StopReason::kTarget) return why;
    if (check && m.position().v % check == 0) {
      input_->log_check(m.position(), hart_hash(m.hart()).canonical());
    }
    if (every && m.position().v % every == 0) snapshot();
    if (m.position() >= until) return why;
  }
}

RecordResult Recorder::run() {
  start();
  StopReason why;
  do {
    why = run_until(Position::max());
  } while (why == StopReason::kBreakpoint || why == StopReason::kWatchpoint);
  return finish(why);
}

RecordResult Recorder::finish(StopReason why) {
  wait_manifest();
  Machine& m = session_->machine();
  result_.stop = why;
  RecordingEnd& end = result_.end;
  end.position = m.position();
  if (why == StopReason::kRequest) {
    input_->log_stop(end.position);
    end.reason = EndReason::kUserStop;
  } else if (why == StopReason::kExit) {
    end.reason = EndReason::kGuestExit;
    end.exit_code = m.exit_code().value_or(0);
  } else {
    end.reason = EndReason::kLimit;
  }
  // The final snapshot makes the end seekable and gives the state hash
  // replay must reproduce.
  const SnapshotInfo last = snapshot();
  // Every snapshot durable before the end record says the recording is whole.
  const auto flush_start = std::chrono::steady_clock::now();
  snapshots_->flush();
  result_.snapshot_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - flush_start).count();
  result_.snapshot_bytes = snapshots_->bytes_written();
  journal_->close(end.position);
  end.state_hash = last.state_hash;
  end.instructions = m.hart().instret;
  end.idle_positions = m.idle_positions();
  end.events = journal_->events_written();
  end.frames = journal_->frames().size();
  end.journal_bytes = journal_->bytes_written();
  write_end(opt_.dir, end);
  return result_;
}

}  // namespace hs
