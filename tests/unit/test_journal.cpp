// The input journal (replay/journal), the end record, and the record/replay
// HostInputs (replay/recording_input): round trips, damage handling, cursors,
// divergence reports.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "core/hart.hpp"
#include "replay/journal.hpp"
#include "replay/recording_input.hpp"
#include "schemas/framing.hpp"
#include "tests/unit/format_error.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace hs;
using hs::test::TempDir;
using hs::test::format_error;
using hs::test::read_file;
using hs::test::write_file;
namespace fs = std::filesystem;

namespace {


void write_file(const std::string& path, const std::vector<uint8_t>& data, size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(n));
  REQUIRE(out.good());
}

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31);
  return v;
}

// Event i of a synthetic run: positions non-decreasing with repeats, all
// sources but stop, payload sizes as the devices produce them.
Event synthetic_event(size_t i) {
  const auto src = static_cast<InputSource>(i % 4);
  size_t n = 0;
  switch (src) {
    case InputSource::kConsole: n = i % 16 + 1; break;
    case InputSource::kWallClock: n = 8; break;
    case InputSource::kEntropy: n = (i * 13) % 300 + 1; break;
    default: break;
  }
  return Event{Position{i * 37 / 3}, src, bytes(n, static_cast<uint8_t>(i))};
}

// Writes `frames` frames of `per_frame` synthetic events; frame k ends 5
// positions after its last event. Returns the events.
std::vector<Event> write_synthetic(const std::string& dir, size_t frames, size_t per_frame) {
  JournalWriter w = JournalWriter::create(dir);
  std::vector<Event> all;
  for (size_t k = 0; k < frames; ++k) {
    for (size_t j = 0; j < per_frame; ++j) {
      all.push_back(synthetic_event(k * per_frame + j));
      w.append(all.back());
    }
    w.flush(all.back().pos + 5);
  }
  w.close(all.back().pos + 5);
  return all;
}

}  // namespace

TEST_CASE("journal: many events over several frames read back exactly", "[journal]") {
  TempDir dir;
  const std::vector<Event> written = write_synthetic(dir.str(), 10, 100);
  const JournalReader r = JournalReader::open(dir.str());
  REQUIRE(r.events().size() == 1000);
  CHECK(r.events() == written);
  REQUIRE(r.frames().size() == 10);
  for (size_t k = 0; k < 10; ++k) {
    const FrameInfo& f = r.frames()[k];
    CHECK(f.first_event == 100 * k);
    CHECK(f.event_count == 100);
    CHECK(f.start == (k == 0 ? Position{0} : r.frames()[k - 1].end));
    CHECK(f.end == written[100 * k + 99].pos + 5);
    if (k > 0) CHECK(f.offset == r.frames()[k - 1].offset + r.frames()[k - 1].bytes);
  }
  CHECK(r.end_position() == Position{999 * 37 / 3 + 5});
  for (InputSource s : {InputSource::kConsole, InputSource::kWallClock, InputSource::kEntropy,
                        InputSource::kWake})
    CHECK(r.count(s) == 250);
  CHECK(r.count(InputSource::kStop) == 0);
  CHECK_FALSE(r.stop_position().has_value());
  CHECK(r.valid_bytes() == fs::file_size(dir / "journal"));
  CHECK(r.file_bytes() == r.valid_bytes());
  CHECK_FALSE(r.cut_short().has_value());
}

TEST_CASE("journal: the writer's index matches the reader's", "[journal]") {
  TempDir dir;
  JournalWriter w = JournalWriter::create(dir.str());
  w.append(Event{Position{3}, InputSource::kWallClock, bytes(8, 1)});
  w.flush(Position{10});
  w.append(Event{Position{10}, InputSource::kConsole, bytes(2, 2)});  // at the boundary
  w.append(Event{Position{12}, InputSource::kEntropy, bytes(64, 3)});
  w.flush(Position{20});
  CHECK(w.events_written() == 3);
  CHECK(w.pending() == 0);
  CHECK(w.covered_until() == Position{20});
  w.close(Position{20});
  CHECK_FALSE(w.is_open());
  const JournalReader r = JournalReader::open(dir.str());
  REQUIRE(r.frames().size() == 2);
  REQUIRE(w.frames().size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    CHECK(r.frames()[k].offset == w.frames()[k].offset);
    CHECK(r.frames()[k].bytes == w.frames()[k].bytes);
    CHECK(r.frames()[k].start == w.frames()[k].start);
    CHECK(r.frames()[k].end == w.frames()[k].end);
    CHECK(r.frames()[k].first_event == w.frames()[k].first_event);
    CHECK(r.frames()[k].event_count == w.frames()[k].event_count);
  }
  CHECK(r.frames()[1].start == Position{10});
  CHECK(r.frames()[1].first_event == 1);
  CHECK(r.events()[1].pos == Position{10});
  CHECK(w.bytes_written() == fs::file_size(dir / "journal"));
}

TEST_CASE("journal: empty frames extend the end position", "[journal]") {
  TempDir dir;
  JournalWriter w = JournalWriter::create(dir.str());
  w.flush(Position{100});
  w.flush(Position{250});
  w.flush(Position{250});  // nothing new: writes nothing
  CHECK(w.frames().size() == 2);
  w.close(Position{400});
  const JournalReader r = JournalReader::open(dir.str());
  CHECK(r.events().empty());
  REQUIRE(r.frames().size() == 3);
  CHECK(r.frames()[1].start == Position{100});
  CHECK(r.frames()[1].end == Position{250});
  CHECK(r.end_position() == Position{400});
  CHECK_FALSE(r.cut_short().has_value());
}

TEST_CASE("journal: a new journal is empty and an existing one is never overwritten", "[journal]") {
  TempDir dir;
  {
    JournalWriter w = JournalWriter::create(dir.str());
    const JournalReader r = JournalReader::open(dir.str());
    CHECK(r.end_position() == Position{0});
    CHECK(r.events().empty());
    CHECK(r.frames().empty());
    CHECK(r.file_bytes() == 0);
  }
  const auto err = format_error([&] { JournalWriter::create(dir.str()); });
  REQUIRE(err.has_value());
  CHECK_THAT(err->what(), Catch::Contains("already exists"));
  CHECK(err->file() == dir / "journal");
}

TEST_CASE("journal: a missing journal is a FormatError naming it", "[journal]") {
  TempDir dir;
  const auto err = format_error([&] { JournalReader::open(dir.str()); });
  REQUIRE(err.has_value());
  CHECK(err->file() == dir / "journal");
  CHECK_THAT(err->what(), Catch::Contains("missing"));
}

TEST_CASE("journal: truncation anywhere in the last frame keeps the earlier frames", "[journal]") {
  TempDir dir;
  const std::vector<Event> written = write_synthetic(dir.str(), 3, 20);
  const std::vector<uint8_t> file = read_file(dir / "journal");
  const JournalReader full = JournalReader::open(dir.str());
  REQUIRE(full.frames().size() == 3);
  const uint64_t last_start = full.frames()[2].offset;
  const Position good_end = full.frames()[1].end;
  REQUIRE(last_start + full.frames()[2].bytes == file.size());

  TempDir cut_dir;
  for (uint64_t cut = last_start; cut < file.size(); ++cut) {
    write_file(cut_dir / "journal", file, cut);
    const JournalReader r = JournalReader::open(cut_dir.str());
    INFO("cut at " << cut);
    REQUIRE(r.frames().size() == 2);
    REQUIRE(r.events().size() == 40);
    CHECK(r.events().back() == written[39]);
    CHECK(r.end_position() == good_end);
    CHECK(r.valid_bytes() == last_start);
    if (cut == last_start) {  // ends exactly at a frame boundary: nothing lost
      CHECK_FALSE(r.cut_short().has_value());
      continue;
    }
    REQUIRE(r.cut_short().has_value());
    const JournalDamage& d = *r.cut_short();
    CHECK(d.truncated);
    CHECK(d.offset == last_start);
    CHECK(d.bytes_ignored == cut - last_start);
    CHECK(d.last_good == good_end);
    if (cut - last_start < RecordHeader::kSize)
      CHECK(d.reason == "incomplete record header");
    else
      CHECK_THAT(d.reason, Catch::Contains("payload bytes, file has"));
    CHECK_THAT(d.describe("J"), Catch::Contains(fmt::format(
                                    "J: offset {}: truncated frame", last_start)));
    CHECK_THAT(d.describe("J"),
               Catch::Contains(fmt::format("replayable up to position {}", good_end.v)));
  }
}

TEST_CASE("journal: a corrupt middle frame leaves the prefix usable and says so", "[journal]") {
  TempDir dir;
  write_synthetic(dir.str(), 3, 20);
  std::vector<uint8_t> file = read_file(dir / "journal");
  const JournalReader full = JournalReader::open(dir.str());
  const FrameInfo mid = full.frames()[1];

  SECTION("a flipped payload byte fails the checksum") {
    file[mid.offset + RecordHeader::kSize + mid.bytes / 2] ^= 0x40;
    write_file(dir / "journal", file, file.size());
    const JournalReader r = JournalReader::open(dir.str());
    CHECK(r.frames().size() == 1);
    CHECK(r.events().size() == 20);
    CHECK(r.end_position() == full.frames()[0].end);
    REQUIRE(r.cut_short().has_value());
    CHECK_FALSE(r.cut_short()->truncated);
    CHECK(r.cut_short()->reason == "checksum mismatch");
    CHECK(r.cut_short()->offset == mid.offset);
    CHECK(r.cut_short()->bytes_ignored == file.size() - mid.offset);
    CHECK_THAT(r.cut_short()->describe("J"),
               Catch::Contains("corrupt frame (checksum mismatch)"));
  }
  SECTION("a flipped magic byte is a bad magic") {
    file[mid.offset] = 'X';
    write_file(dir / "journal", file, file.size());
    const JournalReader r = JournalReader::open(dir.str());
    CHECK(r.frames().size() == 1);
    REQUIRE(r.cut_short().has_value());
    CHECK(r.cut_short()->reason == "bad magic (expected HSJF)");
  }
}

TEST_CASE("journal: frames that do not continue each other are corrupt", "[journal]") {
  TempDir a, b;
  {
    JournalWriter w = JournalWriter::create(a.str());
    w.close(Position{100});  // frame [0, 100]
  }
  {
    JournalWriter w = JournalWriter::create(b.str());
    w.flush(Position{50});
    w.close(Position{200});  // frames [0, 50], [50, 200]
  }
  std::vector<uint8_t> file = read_file(a / "journal");
  const JournalReader rb = JournalReader::open(b.str());
  const std::vector<uint8_t> fb = read_file(b / "journal");
  file.insert(file.end(), fb.begin() + static_cast<long>(rb.frames()[1].offset), fb.end());
  write_file(a / "journal", file, file.size());
  const JournalReader r = JournalReader::open(a.str());
  CHECK(r.frames().size() == 1);
  CHECK(r.end_position() == Position{100});
  REQUIRE(r.cut_short().has_value());
  CHECK(r.cut_short()->reason == "frame covers [50, 200] but the previous frame ended at 100");
}

TEST_CASE("journal: a frame of another format version is refused", "[journal]") {
  TempDir dir;
  {
    JournalWriter w = JournalWriter::create(dir.str());
    w.close(Position{10});
  }
  std::vector<uint8_t> file = read_file(dir / "journal");
  const uint64_t first = file.size();
  const std::vector<uint8_t> payload(16, 0);
  const std::vector<uint8_t> alien = encode_record("HSJF", kRecordingFormatVersion + 1, payload);
  file.insert(file.end(), alien.begin(), alien.end());
  write_file(dir / "journal", file, file.size());
  const auto err = format_error([&] { JournalReader::open(dir.str()); });
  REQUIRE(err.has_value());
  CHECK(err->offset() == first);
  CHECK_THAT(err->what(), Catch::Contains(fmt::format("format version {} is not supported",
                                                      kRecordingFormatVersion + 1)));
}

TEST_CASE("journal: cursor_at finds the first event at or after a position", "[journal]") {
  TempDir dir;
  JournalWriter w = JournalWriter::create(dir.str());
  for (uint64_t p : {10, 10, 20, 30}) w.append(Event{Position{p}, InputSource::kWake, {}});
  w.close(Position{40});
  const JournalReader r = JournalReader::open(dir.str());
  CHECK(r.cursor_at(Position{0}) == 0);
  CHECK(r.cursor_at(Position{10}) == 0);
  CHECK(r.cursor_at(Position{11}) == 2);
  CHECK(r.cursor_at(Position{20}) == 2);
  CHECK(r.cursor_at(Position{30}) == 3);
  CHECK(r.cursor_at(Position{31}) == 4);
}

TEST_CASE("journal: refresh picks up frames appended after open", "[journal]") {
  TempDir dir;
  JournalWriter w = JournalWriter::create(dir.str());
  w.append(Event{Position{5}, InputSource::kConsole, {'a'}});
  w.flush(Position{10});
  JournalReader r = JournalReader::open(dir.str());
  CHECK(r.events().size() == 1);
  CHECK(r.refresh() == 0);
  w.append(Event{Position{15}, InputSource::kConsole, {'b'}});
  w.flush(Position{20});
  w.flush(Position{30});
  CHECK(r.refresh() == 2);
  REQUIRE(r.events().size() == 2);
  CHECK(r.events()[1].payload == std::vector<uint8_t>{'b'});
  CHECK(r.end_position() == Position{30});
  CHECK(r.valid_bytes() == w.bytes_written());
}

TEST_CASE("journal: the end record round-trips and is optional", "[journal]") {
  TempDir dir;
  CHECK_FALSE(read_end(dir.str()).has_value());
  RecordingEnd end;
  end.position = Position{123456789};
  end.reason = EndReason::kUserStop;
  end.exit_code = -3;
  end.state_hash = *Hash128::from_hex("00112233445566778899aabbccddeeff");
  end.instructions = 120000000;
  end.idle_positions = 3456789;
  end.events = 42;
  end.frames = 7;
  end.journal_bytes = 4096;
  write_end(dir.str(), end);
  const std::optional<RecordingEnd> back = read_end(dir.str());
  REQUIRE(back.has_value());
  CHECK(*back == end);
  CHECK(back->state_hash.to_string() == "00112233445566778899aabbccddeeff");

  const std::string file = (dir.path / "end").string();
  std::vector<uint8_t> data = read_file(file);
  data.back() ^= 1;
  write_file(file, data, data.size());
  const auto err = format_error([&] { read_end(dir.str()); });
  REQUIRE(err.has_value());
  CHECK(err->file() == file);
  CHECK_THAT(err->what(), Catch::Contains("checksum mismatch"));
}

// --- record -> replay ------------------------------------------------------------

namespace {

// The host, scripted: queued console bytes, a clock that ticks per read,
// entropy from a counter.
struct FakeLive : HostInput {
  std::deque<uint8_t> typed;
  uint64_t time = 1'700'000'000'123'456'789ull;
  uint8_t next_random = 0x10;
  size_t console(std::span<uint8_t> out) override {
    size_t n = 0;
    while (n < out.size() && !typed.empty()) {
      out[n++] = typed.front();
      typed.pop_front();
    }
    return n;
  }
  uint64_t wall_clock_ns() override { return time += 1000; }
  void entropy(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = next_random++;
  }
};

struct Recorded {
  TempDir dir;
  uint64_t t1 = 0;
  std::vector<uint8_t> rand16, rand32;
};

void at(HartState& hs, uint64_t position, uint8_t idx = 0) {
  hs.position = position;
  hs.cur_idx = idx;
}

// Records: wall clock @100, entropy(16) @203, console "ls\n" @65536, an empty
// console poll @70000, wake + console "x" @80000, entropy(32) @90000, stop
// @100000.
void record_run(Recorded& rec) {
  HartState hs;
  Clock clock(hs);
  FakeLive live;
  JournalWriter w = JournalWriter::create(rec.dir.str());
  RecordingHostInput in(live, w, clock);
  uint8_t buf[16];
  at(hs, 100);
  rec.t1 = in.wall_clock_ns();
  at(hs, 200, 3);
  rec.rand16.resize(16);
  in.entropy(rec.rand16);
  w.flush(Position{1000});
  at(hs, 65536);
  live.typed = {'l', 's', '\n'};
  REQUIRE(in.console(buf) == 3);
  at(hs, 70000);
  REQUIRE(in.console(buf) == 0);
  in.log_wake(Position{80000});
  at(hs, 80000);
  live.typed = {'x'};
  REQUIRE(in.console(buf) == 1);
  at(hs, 90000);
  rec.rand32.resize(32);
  in.entropy(rec.rand32);
  in.log_stop(Position{100000});
  w.close(Position{100000});
}

}  // namespace

TEST_CASE("record/replay: the journal returns the same inputs at the same positions", "[replay]") {
  Recorded rec;
  record_run(rec);
  const JournalReader r = JournalReader::open(rec.dir.str());
  REQUIRE(r.events().size() == 7);
  CHECK(r.events()[1].pos == Position{203});
  CHECK(r.count(InputSource::kConsole) == 2);
  CHECK(r.stop_position() == Position{100000});
  CHECK(rec.t1 == 1'700'000'000'123'457'789ull);

  HartState hs;
  Clock clock(hs);
  ReplayHostInput in(r, clock);
  uint8_t buf[16];
  CHECK(in.next_input() == Position{65536});
  at(hs, 100);
  CHECK(in.wall_clock_ns() == rec.t1);
  at(hs, 200, 3);
  std::vector<uint8_t> rand16(16);
  in.entropy(rand16);
  CHECK(rand16 == rec.rand16);
  CHECK(rand16[0] == 0x10);
  at(hs, 65535);
  in.poll_point(Position{65535});
  CHECK(in.console(buf) == 0);  // a poll before the input's position
  at(hs, 65536);
  in.poll_point(Position{65536});
  REQUIRE(in.console(buf) == 3);
  CHECK(std::string(buf, buf + 3) == "ls\n");
  CHECK(in.next_input() == Position{80000});
  at(hs, 70000);
  in.poll_point(Position{70000});
  CHECK(in.console(buf) == 0);
  at(hs, 80000);
  in.poll_point(Position{80000});  // consumes the wake
  CHECK(in.cursor() == 4);
  CHECK(in.next_input() == Position{80000});
  REQUIRE(in.console(buf) == 1);
  CHECK(buf[0] == 'x');
  CHECK(in.next_input() == Position{100000});
  CHECK_FALSE(in.at_end());
  at(hs, 90000);
  std::vector<uint8_t> rand32(32);
  in.entropy(rand32);
  CHECK(rand32 == rec.rand32);
  CHECK(in.at_end());
  CHECK(in.cursor() == 6);
  CHECK(in.next_input() == Position{100000});
  CHECK_FALSE(in.divergence().has_value());
}

TEST_CASE("record/replay: a replay started from a cursor resumes there", "[replay]") {
  Recorded rec;
  record_run(rec);
  const JournalReader r = JournalReader::open(rec.dir.str());
  HartState hs;
  Clock clock(hs);
  ReplayHostInput in(r, clock, r.cursor_at(Position{65537}));
  CHECK(in.cursor() == 3);
  CHECK(in.next_input() == Position{80000});
  at(hs, 90000);
  in.set_cursor(r.cursor_at(Position{90000}));
  std::vector<uint8_t> rand32(32);
  in.entropy(rand32);
  CHECK(rand32 == rec.rand32);
  CHECK_FALSE(in.divergence().has_value());
}

TEST_CASE("record/replay: mismatches are divergences with benign results", "[replay]") {
  Recorded rec;
  record_run(rec);
  const JournalReader r = JournalReader::open(rec.dir.str());
  HartState hs;
  Clock clock(hs);
  ReplayHostInput in(r, clock);
  int calls = 0;
  in.on_divergence = [&calls](const Divergence&) { ++calls; };
  uint8_t buf[16];

  SECTION("wrong source") {
    at(hs, 100);
    std::vector<uint8_t> out(8, 0xff);
    in.entropy(out);
    CHECK(out == std::vector<uint8_t>(8, 0));
    REQUIRE(in.divergence().has_value());
    CHECK(in.divergence()->expected == Position{100});
    CHECK(in.divergence()->actual == Position{100});
    CHECK(in.divergence()->what ==
          "replay diverged at position 100: the guest drew 8 entropy bytes, but the journal's "
          "next input is a wall-clock read at position 100");
    CHECK(in.wall_clock_ns() == 0);  // the first divergence sticks
    CHECK(in.cursor() == 0);
    CHECK(calls == 1);
  }
  SECTION("wrong position") {
    at(hs, 101);
    CHECK(in.wall_clock_ns() == 0);
    REQUIRE(in.divergence().has_value());
    CHECK(in.divergence()->expected == Position{100});
    CHECK(in.divergence()->actual == Position{101});
    CHECK_THAT(in.divergence()->what,
               Catch::StartsWith("replay diverged at position 101: the guest read the wall clock"));
    CHECK(calls == 1);
  }
  SECTION("wrong entropy size") {
    at(hs, 100);
    in.wall_clock_ns();
    at(hs, 203);
    std::vector<uint8_t> out(32, 0xff);
    in.entropy(out);
    CHECK(out == std::vector<uint8_t>(32, 0));
    REQUIRE(in.divergence().has_value());
    CHECK(in.divergence()->what ==
          "replay diverged at position 203: the guest drew 32 entropy bytes, but the journal "
          "recorded 16 bytes there");
  }
  SECTION("console buffer smaller than the recorded input") {
    in.set_cursor(2);
    at(hs, 65536);
    CHECK(in.console(std::span<uint8_t>(buf, 2)) == 0);
    REQUIRE(in.divergence().has_value());
    CHECK(in.divergence()->what ==
          "replay diverged at position 65536: the console poll has room for 2 bytes, but the "
          "journal delivers 3 there");
    CHECK(in.cursor() == 2);
  }
  SECTION("an input the guest never asked for") {
    at(hs, 100);
    in.wall_clock_ns();
    in.poll_point(Position{65536});
    REQUIRE(in.divergence().has_value());
    CHECK(in.divergence()->expected == Position{203});
    CHECK(in.divergence()->actual == Position{65536});
    CHECK(in.divergence()->what ==
          "replay diverged at position 65536: the journal's next input, an entropy fill of 16 "
          "bytes at position 203, was never consumed");
    in.set_cursor(1);  // a snapshot restore starts over cleanly
    CHECK_FALSE(in.divergence().has_value());
    at(hs, 200, 3);
    std::vector<uint8_t> out(16);
    in.entropy(out);
    CHECK(out == rec.rand16);
  }
  SECTION("past the last input") {
    in.set_cursor(7);
    CHECK(in.at_end());
    CHECK(in.next_input() == Position::max());
    at(hs, 200000);
    CHECK(in.wall_clock_ns() == 0);
    REQUIRE(in.divergence().has_value());
    CHECK(in.divergence()->expected == Position::max());
    CHECK(in.divergence()->what ==
          "replay diverged at position 200000: the guest read the wall clock, but the journal "
          "has no more inputs");
  }
}
