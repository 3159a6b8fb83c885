// Record and replay through the library (replay/recorder, replay/timeline):
// a tiny raw guest (tests/replay/rtc_guest.hpp: an RTC read, console input
// echoed, busy loops) recorded with Recorder + Session, then replayed with
// Timeline: the end record's state hash, seeks backward and forward against
// a straight run, and divergences when the journal is tampered with (valid
// checksums, other values or positions). Fast: no Linux, ~1e6 positions.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "replay/journal.hpp"
#include "replay/recorder.hpp"
#include "replay/session.hpp"
#include "replay/timeline.hpp"
#include "snapshot/state_hash.hpp"
#include "tests/replay/journal_edit.hpp"
#include "tests/replay/rtc_guest.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace hs;
using hs::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kWallClock = 1'700'000'000'123'456'789ull;
constexpr uint64_t kSnapshotEvery = 100'000;

// The live host of a recording: console bytes one per call (as a slow
// typist), a fixed wall clock, constant entropy.
struct ScriptedInput : HostInput {
  std::string console_bytes;
  size_t next = 0;
  explicit ScriptedInput(std::string text) : console_bytes(std::move(text)) {}
  size_t console(std::span<uint8_t> out) override {
    if (next >= console_bytes.size() || out.empty()) return 0;
    out[0] = static_cast<uint8_t>(console_bytes[next++]);
    return 1;
  }
  uint64_t wall_clock_ns() override { return kWallClock; }
  void entropy(std::span<uint8_t> out) override { std::fill(out.begin(), out.end(), 0x5a); }
};

struct Recorded {
  RecordResult result;
  std::string output;  // the guest's console output
};

MachineConfig guest_config(const std::string& kernel) {
  MachineConfig cfg;
  cfg.boot.ram_size = 16ull << 20;
  cfg.boot.bios = "none";
  cfg.boot.kernel = kernel;
  return cfg;
}

Recorded record(const std::string& dir, const std::string& kernel, const std::string& input,
                uint64_t snapshot_every = kSnapshotEvery) {
  const MachineConfig cfg = guest_config(kernel);
  RecordOptions opt;
  opt.dir = dir;
  opt.snapshot_every = snapshot_every;
  opt.command_line = "test_timeline";
  Recorder rec(opt, cfg);
  ScriptedInput live(input);
  InputSwitch input_switch;
  input_switch.set(&live);
  Session s(cfg, input_switch);
  Recorded r;
  s.board().uart().on_tx = [&r](uint8_t c) { r.output.push_back(static_cast<char>(c)); };
  rec.attach(s, input_switch, live, {});
  r.result = rec.run();
  return r;
}

// The raw guest in `dir`/guest.bin.
std::string write_guest(const TempDir& tmp, uint32_t loops = 250, uint32_t work = 1000) {
  const std::string path = tmp / "guest.bin";
  const std::vector<uint8_t> img = test::rtc_guest_image(loops, work);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
  REQUIRE(out.good());
  return path;
}

Hash128 hash_of(Timeline& t) { return full_state_hash(t.machine(), t.session().board()); }


// Rewrites REC/journal with the same frames after `edit` changed the events.
void rewrite_journal(const std::string& dir, const std::function<void(std::vector<Event>&)>& edit) {
  const JournalReader j = JournalReader::open(dir);
  std::vector<Event> events = j.events();
  edit(events);
  hs::test::rewrite_journal(dir, j.frames(), events);
}

Event& wall_clock_event(std::vector<Event>& events) {
  for (Event& e : events)
    if (e.source == InputSource::kWallClock) return e;
  FAIL("no wall-clock event in the journal");
  return events.front();
}

}  // namespace

TEST_CASE("Timeline: a recording replays to the end record's state, output and all") {
  TempDir tmp("hs_test_timeline");
  const std::string rec = tmp / "rec";
  const Recorded r = record(rec, write_guest(tmp), "typed!\n");
  REQUIRE(r.result.stop == StopReason::kExit);
  REQUIRE(r.result.end.exit_code == 0);
  std::string echoed = r.output;  // the guest echoed its input among its dots
  std::erase(echoed, '.');
  CHECK(echoed.find("start\ntyped!\n") != std::string::npos);
  CHECK(r.output.find("rtc-guest done") != std::string::npos);
  INFO("recorded " << r.result.end.position.v << " positions, " << r.result.snapshots
                   << " snapshots");
  REQUIRE(r.result.snapshots >= 5);

  Timeline t(rec);
  std::string out;
  t.session().board().uart().on_tx = [&out](uint8_t c) { out.push_back(static_cast<char>(c)); };
  REQUIRE(!t.cut_short());
  REQUIRE(t.end() == r.result.end.position);
  CHECK(t.journal().count(InputSource::kConsole) == 7);
  CHECK(t.journal().count(InputSource::kWallClock) == 1);
  const Timeline::Stop s = t.run_to(Position::max());
  INFO(t.error());
  REQUIRE(s == Timeline::Stop::kEnd);
  CHECK(t.position() == r.result.end.position);
  CHECK(hash_of(t) == t.end_record()->state_hash);
  CHECK(t.verified() == t.snapshots().snapshots().size());  // the last one is at the end
  CHECK(out == r.output);
  CHECK(t.error().empty());

  // Forward again: nothing more to replay.
  CHECK(t.run_to(Position::max()) == Timeline::Stop::kEnd);
}

TEST_CASE("Timeline: seeks backward and forward reach the states of a straight run") {
  TempDir tmp("hs_test_timeline");
  const std::string rec = tmp / "rec";
  const Recorded r = record(rec, write_guest(tmp), "abc");
  const Position end = r.result.end.position;

  std::vector<Position> targets = {Position{0}, Position{1}, Position{9}, Position{10},
                                   Position{kSnapshotEvery - 1}, Position{kSnapshotEvery},
                                   Position{kSnapshotEvery + 1}, Position{end.v / 2},
                                   Position{end.v / 3 + 7}, Position{3 * kSnapshotEvery + 12345},
                                   Position{end.v - 1}, end};
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());

  std::map<uint64_t, Hash128> straight;
  {
    Timeline t(rec);
    for (const Position p : targets) {
      INFO("run_to " << p.v);
      const Timeline::Stop s = t.run_to(p);
      REQUIRE(s != Timeline::Stop::kDivergence);
      REQUIRE(t.position() == p);
      straight[p.v] = hash_of(t);
    }
    CHECK(straight[end.v] == t.end_record()->state_hash);
  }

  // Backward and forward, from the end, through snapshots and between them.
  const std::vector<Position> order = {end,
                                       Position{0},
                                       Position{end.v / 2},
                                       Position{kSnapshotEvery + 1},
                                       Position{kSnapshotEvery},
                                       Position{kSnapshotEvery - 1},
                                       Position{3 * kSnapshotEvery + 12345},
                                       Position{9},
                                       Position{end.v - 1},
                                       Position{1},
                                       Position{end.v / 3 + 7},
                                       Position{10},
                                       end,
                                       Position{end.v / 2}};
  Timeline t(rec);
  for (const Position p : order) {
    INFO("seek " << p.v);
    const Timeline::Stop s = t.seek(p);
    REQUIRE(s != Timeline::Stop::kDivergence);
    REQUIRE(t.position() == p);
    CHECK(hash_of(t) == straight.at(p.v));
  }
  // Past the end: clamped.
  CHECK(t.seek(Position{end.v + 1000}) == Timeline::Stop::kEnd);
  CHECK(t.position() == end);
  CHECK(t.error().empty());
}

TEST_CASE("Timeline: a changed wall-clock value is a divergence at the next state check") {
  TempDir tmp("hs_test_timeline");
  const std::string rec = tmp / "rec";
  record(rec, write_guest(tmp), "");
  rewrite_journal(rec, [](std::vector<Event>& events) {
    Event& e = wall_clock_event(events);
    REQUIRE(e.payload.size() == 8);
    e.payload[0] ^= 1;  // one nanosecond
  });

  Timeline t(rec);
  const Timeline::Stop s = t.run_to(Position::max());
  REQUIRE(s == Timeline::Stop::kDivergence);
  INFO(t.error());
  // Verified at 0 (before the read), differs at the first snapshot after it;
  // the guest stored the time at kRtcGuestData.
  CHECK(t.error().find(fmt::format("replay diverged between positions 0 and {}", kSnapshotEvery)) !=
        std::string::npos);
  CHECK(t.error().find(fmt::format("first at {:#x}", test::kRtcGuestData)) != std::string::npos);
  CHECK(t.position() == Position{kSnapshotEvery});
  // It stays diverged.
  CHECK(t.run_to(Position::max()) == Timeline::Stop::kDivergence);
}

TEST_CASE("Timeline: a moved wall-clock event is a divergence at the position of the read") {
  const int delta = GENERATE(1, -1);
  TempDir tmp("hs_test_timeline");
  const std::string rec = tmp / "rec";
  record(rec, write_guest(tmp), "");
  Position read_at;
  rewrite_journal(rec, [&](std::vector<Event>& events) {
    Event& e = wall_clock_event(events);
    read_at = e.pos;
    e.pos = Position{e.pos.v + static_cast<uint64_t>(delta)};
  });

  Timeline t(rec);
  const Timeline::Stop s = t.run_to(Position::max());
  REQUIRE(s == Timeline::Stop::kDivergence);
  INFO(t.error());
  CHECK(t.error().find(fmt::format("replay diverged at position {}", read_at.v)) !=
        std::string::npos);
  CHECK(t.error().find(fmt::format("at position {}", read_at.v + delta)) != std::string::npos);
}

TEST_CASE("Timeline: a recording cut short replays up to its last complete frame") {
  TempDir tmp("hs_test_timeline");
  const std::string rec = tmp / "rec";
  const Recorded r = record(rec, write_guest(tmp), "xyz");
  const JournalReader full = JournalReader::open(rec);
  REQUIRE(full.frames().size() >= 4);
  const FrameInfo& keep = full.frames()[2];
  // A kill: no end record, the journal ends inside frame 3.
  fs::remove(fs::path(rec) / rec_file::kEnd);
  fs::resize_file(fs::path(rec) / rec_file::kJournal, keep.offset + keep.bytes + 10);

  Timeline t(rec);
  CHECK(t.cut_short());
  REQUIRE(t.journal().cut_short().has_value());
  CHECK(t.journal().cut_short()->truncated);
  REQUIRE(t.end() == keep.end);
  const Timeline::Stop s = t.run_to(Position::max());
  INFO(t.error());
  REQUIRE(s == Timeline::Stop::kEnd);
  CHECK(t.position() == keep.end);
  CHECK(t.verified() >= 2);  // the snapshots up to there
  // The state there is the recording's: a snapshot was taken at every frame
  // end, and seeking back and forth still works.
  const SnapshotInfo* snap = t.snapshots().nearest_at_or_before(keep.end);
  REQUIRE(snap != nullptr);
  CHECK(snap->position == keep.end);
  CHECK(hash_of(t) == snap->state_hash);
  REQUIRE(t.seek(Position{1}) == Timeline::Stop::kTarget);
  REQUIRE(t.seek(keep.end) == Timeline::Stop::kEnd);
  CHECK(hash_of(t) == snap->state_hash);
  (void)r;
}

#ifdef HS_TEST_GUEST_DIR
TEST_CASE("Timeline: an ELF guest with timer interrupts and WFI idle time replays") {
  const std::string elf = std::string(HS_TEST_GUEST_DIR) + "/timer.elf";
  if (!fs::exists(elf)) {
    WARN("no " << elf << " (guest programs not built): skipped");
    return;
  }
  TempDir tmp("hs_test_timeline");
  const std::string rec = tmp / "rec";
  const Recorded r = record(rec, elf, "", 50'000);
  REQUIRE(r.result.stop == StopReason::kExit);
  REQUIRE(r.result.end.exit_code == 0);
  REQUIRE(r.result.end.idle_positions > 0);
  CHECK(r.output.find("PASS timer") != std::string::npos);

  Timeline t(rec);
  std::string out;
  t.session().board().uart().on_tx = [&out](uint8_t c) { out.push_back(static_cast<char>(c)); };
  REQUIRE(t.run_to(Position::max()) == Timeline::Stop::kEnd);
  CHECK(hash_of(t) == t.end_record()->state_hash);
  CHECK(out == r.output);
  // Into the idle stretches and back.
  const Position end = t.end();
  for (const Position p : {Position{end.v / 2}, Position{end.v / 4}, Position{end.v - 3}}) {
    REQUIRE(t.seek(p) != Timeline::Stop::kDivergence);
    CHECK(t.position() == p);
  }
  CHECK(t.error().empty());
}
#else
TEST_CASE("Timeline: an ELF guest with timer interrupts and WFI idle time replays") {
  WARN("built without the guest programs (HINDSIGHT_GUEST_TESTS off): skipped");
}
#endif
