// hs_replay_check: checks of a recording that the hindsight CLI cannot make,
// for the record/replay tests in tests/replay/. Every check prints what it
// did and exits 0 when it holds, 1 when it does not, 2 on bad usage or an
// unreadable recording.
//
//   hs_replay_check make-guest OUT [LOOPS [WORK]]
//       writes the raw guest of tests/replay/rtc_guest.hpp (--bios none)
//   hs_replay_check restore-all REC [--to-end all|N]
//       for every usable snapshot: a fresh Timeline seeks to it (a restore
//       from the snapshot file), replays on and compares the full state hash
//       with the recorded one at the next check (snapshot or end). With
//       --to-end all (the default) every snapshot replays to the end of the
//       recording and its final hash must be the end record's; --to-end N
//       does that for N snapshots spread evenly (the first and last
//       included) and replays the others to the next snapshot only. The
//       replay from the boot images (position 0, no restore) is always run
//       to the end.
//   hs_replay_check seek-random REC [--count N] [--seed S] [--edge-snapshots K]
//       N random positions (and the edges: 0, every snapshot -- or K of them
//       spread evenly -- and its +-1, the end), visited with Timeline::seek in random order (forward and
//       backward) on one Timeline, full state hash at each; then a second
//       Timeline runs straight through the sorted positions with run_to and
//       hashes at each: every pair must be equal
//   hs_replay_check rewrite-version FILE MAGIC VERSION [INDEX]
//       re-encodes record INDEX (default 0) of FILE (a schemas/framing.hpp
//       record file with magic MAGIC) with format version VERSION and a
//       valid checksum; the other records are kept as they are
//   hs_replay_check tamper-journal REC wall-clock-value|wall-clock-position DELTA
//       rewrites REC/journal with the same frames and valid checksums, but
//       the first wall-clock event's value (in ns) or position plus DELTA
//   hs_replay_check seek-time REC POS...
//       for each POS: opens a fresh Timeline (timed apart), then times
//       Timeline::seek(POS) alone (restore + replay); prints
//       "POS OPEN_SECONDS SEEK_SECONDS RESTORED_FROM" (for scripts/bench-record)
//   hs_replay_check list-records FILE MAGIC
//       prints "INDEX OFFSET BYTES" for each complete record of FILE
//   hs_replay_check journal-frames REC
//       prints "INDEX OFFSET BYTES START END EVENTS" for each usable frame
//   hs_replay_check end-hash REC
//       prints the end record's state hash and position
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/user_error.hpp"
#include "replay/journal.hpp"
#include "replay/timeline.hpp"
#include "schemas/framing.hpp"
#include "snapshot/state_hash.hpp"
#include "tests/replay/journal_edit.hpp"
#include "tests/replay/rtc_guest.hpp"

using namespace hs;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void usage(const std::string& why) {
  fmt::print(stderr, "hs_replay_check: {}\n(see the comment at the top of tests/replay/replay_check.cpp)\n",
             why);
  std::exit(2);
}

uint64_t parse_u64(const std::string& s, const char* what) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (s.empty() || *end || errno) usage(fmt::format("{}: not a number: '{}'", what, s));
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Hash128 hash_of(Timeline& t) { return full_state_hash(t.machine(), t.session().board()); }


const char* stop_name(Timeline::Stop s) {
  switch (s) {
    case Timeline::Stop::kTarget: return "target";
    case Timeline::Stop::kEnd: return "end";
    case Timeline::Stop::kDivergence: return "divergence";
    case Timeline::Stop::kBreakpoint: return "breakpoint";
    case Timeline::Stop::kWatchpoint: return "watchpoint";
    case Timeline::Stop::kInterrupted: return "interrupted";
  }
  return "?";
}

// --- make-guest ------------------------------------------------------------------

int make_guest(const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 3) usage("make-guest OUT [LOOPS [WORK]]");
  const uint64_t loops = args.size() > 1 ? parse_u64(args[1], "LOOPS") : 2000;
  const uint64_t work = args.size() > 2 ? parse_u64(args[2], "WORK") : 1000;
  if (loops == 0 || work == 0 || loops > 0x7fffffff || work > 0x7fffffff)
    usage("LOOPS and WORK must be in 1 .. 2^31-1");
  const std::vector<uint8_t> img =
      test::rtc_guest_image(static_cast<uint32_t>(loops), static_cast<uint32_t>(work));
  std::ofstream out(args[0], std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
  if (!out) usage(fmt::format("{}: cannot write", args[0]));
  fmt::print("wrote {} ({} bytes, {} loops of {} work)\n", args[0], img.size(), loops, work);
  return 0;
}

// --- restore-all -------------------------------------------------------------------

int restore_all(const std::vector<std::string>& args) {
  if (args.empty()) usage("restore-all REC [--to-end all|N]");
  const std::string dir = args[0];
  std::optional<uint64_t> to_end_count;  // nullopt: all
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--to-end" && i + 1 < args.size()) {
      ++i;
      if (args[i] != "all") to_end_count = parse_u64(args[i], "--to-end");
    } else {
      usage(fmt::format("restore-all: unexpected argument '{}'", args[i]));
    }
  }

  std::vector<SnapshotInfo> snaps;
  std::optional<RecordingEnd> end;
  Position end_pos;
  {
    Timeline probe(dir);
    snaps = probe.snapshots().snapshots();
    end = probe.end_record();
    end_pos = probe.end();
    if (!probe.snapshots().unusable().empty())
      fmt::print("note: {} unusable snapshot(s) left out\n", probe.snapshots().unusable().size());
  }
  if (!end) {
    fmt::print("FAIL: {} has no end record (cut short): nothing to compare the end with\n", dir);
    return 1;
  }
  if (snaps.empty()) {
    fmt::print("FAIL: {} has no usable snapshot\n", dir);
    return 1;
  }
  const Hash128 want_end = end->state_hash;
  fmt::print("recording {}: {} snapshots, end at position {}, end state {}\n", dir, snaps.size(),
             end_pos.v, want_end.to_string());

  // Which snapshots replay to the end.
  std::set<size_t> to_end;
  if (!to_end_count || *to_end_count >= snaps.size()) {
    for (size_t i = 0; i < snaps.size(); ++i) to_end.insert(i);
  } else if (*to_end_count > 0) {
    const uint64_t n = *to_end_count;
    for (uint64_t k = 0; k < n; ++k)
      to_end.insert(n == 1 ? snaps.size() - 1 : static_cast<size_t>(k * (snaps.size() - 1) / (n - 1)));
  }

  int failures = 0;
  auto fail = [&failures](const std::string& what) {
    fmt::print("FAIL: {}\n", what);
    ++failures;
  };

  // From the boot images: position 0 without any restore, to the end.
  {
    const auto t0 = std::chrono::steady_clock::now();
    Timeline t(dir);
    const Timeline::Stop s = t.run_to(Position::max());
    const Hash128 h = hash_of(t);
    fmt::print("boot images -> {} ({}): {} checks verified, state {} ({:.2f} s)\n", t.position().v,
               stop_name(s), t.verified(), h.to_string(), seconds_since(t0));
    if (s != Timeline::Stop::kEnd) fail(fmt::format("replay from the boot images stopped: {}", t.error()));
    else if (h != want_end) fail("replay from the boot images: final state hash differs from the end record's");
  }

  for (size_t i = 0; i < snaps.size(); ++i) {
    const SnapshotInfo& snap = snaps[i];
    const bool full = to_end.count(i) != 0;
    const Position target = full || i + 1 == snaps.size() ? end_pos : snaps[i + 1].position;
    const auto t0 = std::chrono::steady_clock::now();
    Timeline t(dir);
    // A fresh Timeline has no in-memory checkpoints: seek restores the
    // snapshot file. Position 0 needs no restore (the machine is there);
    // restore it explicitly so snapshot 0's file is exercised too.
    Timeline::Stop s;
    if (snap.position.v == 0) {
      SnapshotStore store = SnapshotStore::open(dir);
      const uint64_t cursor = store.restore(snap, t.machine(), t.session().board());
      if (cursor != 0) fail(fmt::format("snapshot at 0 has journal cursor {}", cursor));
      s = t.seek(Position{0});
    } else {
      s = t.seek(snap.position);
    }
    const Position at = t.position();
    const Hash128 restored = hash_of(t);
    if (s == Timeline::Stop::kDivergence) {
      fail(fmt::format("snapshot {} at {}: seek diverged: {}", i, snap.position.v, t.error()));
      continue;
    }
    if (at != snap.position)
      fail(fmt::format("snapshot {} at {}: seek arrived at {}", i, snap.position.v, at.v));
    if (restored != snap.state_hash)
      fail(fmt::format("snapshot {} at {}: restored state hash {} != recorded {}", i,
                       snap.position.v, restored.to_string(), snap.state_hash.to_string()));
    const Timeline::Stop r = t.run_to(target);
    const Hash128 h = hash_of(t);
    Hash128 want = want_end;
    const char* what = "end";
    if (target != end_pos) {
      want = snaps[i + 1].state_hash;
      what = "next snapshot";
    }
    fmt::print("snapshot {:>3} at {:>12} -> {:>12} ({}, {} checks verified): state {} ({:.2f} s)\n",
               i, snap.position.v, t.position().v, stop_name(r), t.verified(), h.to_string(),
               seconds_since(t0));
    if (r == Timeline::Stop::kDivergence) {
      fail(fmt::format("snapshot {} at {}: replay diverged: {}", i, snap.position.v, t.error()));
    } else if (t.position() != target) {
      fail(fmt::format("snapshot {} at {}: replay stopped at {}, not {}", i, snap.position.v,
                       t.position().v, target.v));
    } else if (h != want) {
      fail(fmt::format("snapshot {} at {}: state hash at {} is {}, the {}'s is {}", i,
                       snap.position.v, target.v, h.to_string(), what, want.to_string()));
    }
  }
  fmt::print("{}: {} snapshots restored ({} replayed to the end), {} failure(s)\n",
             failures ? "FAILED" : "ok", snaps.size(), to_end.size(), failures);
  return failures ? 1 : 0;
}

// --- seek-random -------------------------------------------------------------------

int seek_random(const std::vector<std::string>& args) {
  if (args.empty()) usage("seek-random REC [--count N] [--seed S] [--edge-snapshots K]");
  const std::string dir = args[0];
  uint64_t count = 20;
  uint64_t seed = 20261121;
  std::optional<uint64_t> edge_snaps;  // nullopt: all
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--count" && i + 1 < args.size()) count = parse_u64(args[++i], "--count");
    else if (args[i] == "--seed" && i + 1 < args.size()) seed = parse_u64(args[++i], "--seed");
    else if (args[i] == "--edge-snapshots" && i + 1 < args.size())
      edge_snaps = parse_u64(args[++i], "--edge-snapshots");
    else usage(fmt::format("seek-random: unexpected argument '{}'", args[i]));
  }

  Timeline a(dir);
  const Position end = a.end();
  std::mt19937_64 rng(seed);
  std::vector<Position> targets;
  for (uint64_t i = 0; i < count; ++i)
    targets.push_back(Position{end.v ? rng() % (end.v + 1) : 0});
  // The edges: the start, the end, each snapshot and its neighbours.
  targets.push_back(Position{0});
  targets.push_back(end);
  if (end.v) targets.push_back(Position{end.v - 1});
  std::vector<SnapshotInfo> edges;
  for (const SnapshotInfo& s : a.snapshots().snapshots())
    if (s.position <= end) edges.push_back(s);
  if (edge_snaps && *edge_snaps < edges.size()) {
    // N snapshots spread evenly, the first and the last included
    std::vector<SnapshotInfo> some;
    for (uint64_t k = 0; k < *edge_snaps; ++k)
      some.push_back(edges[*edge_snaps == 1 ? edges.size() - 1
                                            : k * (edges.size() - 1) / (*edge_snaps - 1)]);
    edges = some;
  }
  for (const SnapshotInfo& s : edges) {
    targets.push_back(s.position);
    if (s.position.v) targets.push_back(Position{s.position.v - 1});
    if (s.position < end) targets.push_back(s.position + 1);
  }
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  std::vector<Position> order = targets;
  std::shuffle(order.begin(), order.end(), rng);
  fmt::print("seek-random {}: seed {}, {} random + edge positions = {} targets, end {}\n", dir,
             seed, count, targets.size(), end.v);

  int failures = 0;
  auto fail = [&failures](const std::string& what) {
    fmt::print("FAIL: {}\n", what);
    ++failures;
  };

  std::vector<std::pair<Position, Hash128>> seeked;
  double worst = 0;
  Position prev{0};
  unsigned backward = 0;
  for (const Position p : order) {
    const auto t0 = std::chrono::steady_clock::now();
    const Timeline::Stop s = a.seek(p);
    const double secs = seconds_since(t0);
    worst = std::max(worst, secs);
    if (p < prev) ++backward;
    prev = p;
    if (s == Timeline::Stop::kDivergence) {
      fail(fmt::format("seek to {} diverged: {}", p.v, a.error()));
      return 1;
    }
    if (a.position() != p) fail(fmt::format("seek to {} arrived at {}", p.v, a.position().v));
    const Hash128 h = hash_of(a);
    fmt::print("  seek {:>12}: {} ({:.3f} s)\n", p.v, h.to_string(), secs);
    seeked.emplace_back(p, h);
  }
  fmt::print("{} seeks ({} backward), slowest {:.3f} s; now a straight run\n", order.size(),
             backward, worst);

  std::sort(seeked.begin(), seeked.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  Timeline b(dir);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& [p, h] : seeked) {
    const Timeline::Stop s = b.run_to(p);
    if (s == Timeline::Stop::kDivergence) {
      fail(fmt::format("straight run to {} diverged: {}", p.v, b.error()));
      return 1;
    }
    if (b.position() != p) fail(fmt::format("run_to {} arrived at {}", p.v, b.position().v));
    const Hash128 g = hash_of(b);
    if (g != h)
      fail(fmt::format("position {}: seek gave state {}, straight run {}", p.v, h.to_string(),
                       g.to_string()));
  }
  fmt::print("straight run through {} positions: {:.2f} s\n", seeked.size(), seconds_since(t0));
  if (b.end_record() && b.position() == b.end_record()->position &&
      hash_of(b) != b.end_record()->state_hash)
    fail("straight run: final state hash differs from the end record's");
  fmt::print("{}: {} positions compared, {} failure(s)\n", failures ? "FAILED" : "ok",
             seeked.size(), failures);
  return failures ? 1 : 0;
}

// --- rewrite-version ---------------------------------------------------------------

int rewrite_version(const std::vector<std::string>& args) {
  if (args.size() < 3 || args.size() > 4) usage("rewrite-version FILE MAGIC VERSION [INDEX]");
  const std::string file = args[0];
  if (args[1].size() != 4) usage("MAGIC must be 4 characters");
  char magic[5] = {};
  std::memcpy(magic, args[1].data(), 4);
  const uint64_t version = parse_u64(args[2], "VERSION");
  const uint64_t index = args.size() > 3 ? parse_u64(args[3], "INDEX") : 0;
  if (version > 0xffff) usage("VERSION must fit 16 bits");

  const std::vector<uint8_t> data = read_whole_file(file);
  std::vector<uint8_t> out;
  uint64_t off = 0, k = 0;
  bool done = false;
  while (off < data.size()) {
    const DecodedRecord r = decode_record(data, off, magic);
    if (r.status != RecordStatus::kOk) {
      fmt::print(stderr, "hs_replay_check: {}: offset {}: {}\n", file, off, r.problem);
      return 2;
    }
    if (k == index) {
      // Same compression as the original record.
      RecordHeader h;
      std::memcpy(&h, data.data() + off, sizeof h);
      const int level = (h.flags & RecordHeader::kCompressed) ? 3 : 0;
      const std::vector<uint8_t> rec =
          encode_record(magic, static_cast<uint16_t>(version), r.payload, level);
      out.insert(out.end(), rec.begin(), rec.end());
      fmt::print("{}: record {} at offset {}: version {} -> {}\n", file, k, off, r.version, version);
      done = true;
    } else {
      out.insert(out.end(), data.begin() + static_cast<ptrdiff_t>(off),
                 data.begin() + static_cast<ptrdiff_t>(r.next_offset));
    }
    off = r.next_offset;
    ++k;
  }
  if (!done) {
    fmt::print(stderr, "hs_replay_check: {}: has {} records, no record {}\n", file, k, index);
    return 2;
  }
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  return f ? 0 : 2;
}

// --- tamper-journal ----------------------------------------------------------------

int tamper_journal(const std::vector<std::string>& args) {
  if (args.size() != 3) usage("tamper-journal REC wall-clock-value|wall-clock-position DELTA");
  const std::string dir = args[0];
  const std::string how = args[1];
  const int64_t delta = static_cast<int64_t>(std::strtoll(args[2].c_str(), nullptr, 0));
  if (how != "wall-clock-value" && how != "wall-clock-position")
    usage("unknown tamper mode " + how);

  const JournalReader j = JournalReader::open(dir);
  std::vector<Event> events = j.events();
  const std::vector<FrameInfo> frames = j.frames();
  auto it = std::find_if(events.begin(), events.end(),
                         [](const Event& e) { return e.source == InputSource::kWallClock; });
  if (it == events.end() || it->payload.size() != 8) {
    fmt::print(stderr, "hs_replay_check: {}: no wall-clock event\n", dir);
    return 2;
  }
  if (how == "wall-clock-value") {
    uint64_t ns = 0;
    for (size_t i = 0; i < 8; ++i) ns |= uint64_t{it->payload[i]} << (8 * i);
    const uint64_t now = ns + static_cast<uint64_t>(delta);
    for (size_t i = 0; i < 8; ++i) it->payload[i] = static_cast<uint8_t>(now >> (8 * i));
    fmt::print("wall-clock event at {}: {} -> {} ns\n", it->pos.v, ns, now);
  } else {
    const Position was = it->pos;
    it->pos = Position{was.v + static_cast<uint64_t>(delta)};
    if ((it != events.begin() && it->pos < (it - 1)->pos) ||
        (it + 1 != events.end() && it->pos > (it + 1)->pos)) {
      fmt::print(stderr, "hs_replay_check: moving the event to {} would unsort the journal\n",
                 it->pos.v);
      return 2;
    }
    fmt::print("wall-clock event: position {} -> {}\n", was.v, it->pos.v);
  }
  hs::test::rewrite_journal(dir, frames, events);
  fmt::print("rewrote {}/journal: {} frames, {} events\n", dir, frames.size(), events.size());
  return 0;
}

int seek_time(const std::vector<std::string>& args) {
  if (args.size() < 2) usage("seek-time REC POS...");
  for (size_t i = 1; i < args.size(); ++i) {
    const Position p{parse_u64(args[i], "POS")};
    const auto t0 = std::chrono::steady_clock::now();
    Timeline t(args[0]);
    const double open_s = seconds_since(t0);
    const std::optional<Position> from = t.checkpoint_before(p + 1);
    const auto t1 = std::chrono::steady_clock::now();
    const Timeline::Stop s = t.seek(p);
    const double seek_s = seconds_since(t1);
    if (s == Timeline::Stop::kDivergence || t.position() != std::min(p, t.end())) {
      fmt::print(stderr, "hs_replay_check: seek to {} failed: {}\n", p.v, t.error());
      return 1;
    }
    fmt::print("{} {:.4f} {:.4f} {}\n", p.v, open_s, seek_s, from ? from->v : 0);
  }
  return 0;
}

int list_records(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[1].size() != 4) usage("list-records FILE MAGIC");
  char magic[5] = {};
  std::memcpy(magic, args[1].data(), 4);
  const std::vector<uint8_t> data = read_whole_file(args[0]);
  uint64_t off = 0, k = 0;
  while (off < data.size()) {
    const DecodedRecord r = decode_record(data, off, magic);
    if (r.status != RecordStatus::kOk) {
      fmt::print(stderr, "hs_replay_check: {}: offset {}: {}\n", args[0], off, r.problem);
      return 1;
    }
    fmt::print("{} {} {}\n", k++, off, r.next_offset - off);
    off = r.next_offset;
  }
  return 0;
}

int journal_frames(const std::vector<std::string>& args) {
  if (args.size() != 1) usage("journal-frames REC");
  const JournalReader j = JournalReader::open(args[0]);
  size_t k = 0;
  for (const FrameInfo& f : j.frames())
    fmt::print("{} {} {} {} {} {}\n", k++, f.offset, f.bytes, f.start.v, f.end.v, f.event_count);
  return 0;
}

int end_hash_cmd(const std::vector<std::string>& args) {
  if (args.size() != 1) usage("end-hash REC");
  const std::optional<RecordingEnd> e = read_end(args[0]);
  if (!e) {
    fmt::print("no end record\n");
    return 1;
  }
  fmt::print("{} {}\n", e->position.v, e->state_hash.to_string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("missing command");
  const std::string cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "make-guest") return make_guest(args);
    if (cmd == "restore-all") return restore_all(args);
    if (cmd == "seek-random") return seek_random(args);
    if (cmd == "rewrite-version") return rewrite_version(args);
    if (cmd == "tamper-journal") return tamper_journal(args);
    if (cmd == "end-hash") return end_hash_cmd(args);
    if (cmd == "list-records") return list_records(args);
    if (cmd == "seek-time") return seek_time(args);
    if (cmd == "journal-frames") return journal_frames(args);
    usage("unknown command " + cmd);
  } catch (const FormatError& e) {
    fmt::print(stderr, "hs_replay_check: {}\n", e.what());
    return 2;
  } catch (const UserError& e) {
    fmt::print(stderr, "hs_replay_check: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hs_replay_check: error: {}\n", e.what());
    return 2;
  }
}
