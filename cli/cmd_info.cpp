// `info` (a summary of a recording) and `dump` (its events and snapshots).
#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <memory>

#include "cli/commands.hpp"
#include "replay/journal.hpp"
#include "replay/manifest.hpp"
#include "replay/recording_layout.hpp"
#include "snapshot/snapshot.hpp"

namespace hs {

namespace {

namespace fs = std::filesystem;

std::string mib(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

uint64_t dir_bytes(const fs::path& p) {
  std::error_code ec;
  uint64_t total = 0;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
  if (!fs::is_directory(p, ec)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(p, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

std::string image_line(const char* what, const std::optional<ImageRef>& ref) {
  if (!ref) return {};
  return fmt::format("  {:<8} {} ({}, xxh128 {}){}\n", what, ref->path, mib(ref->size),
                     ref->hash.to_string().substr(0, 16), ref->stored.empty() ? ", not copied" : "");
}

const char* end_reason(EndReason r) {
  switch (r) {
    case EndReason::kGuestExit: return "guest power-off";
    case EndReason::kUserStop: return "stopped by the user";
    case EndReason::kLimit: return "position limit";
  }
  return "?";
}

int info(const std::string& dir) {
  const RecordingManifest m = read_manifest(dir);
  const JournalReader j = JournalReader::open(dir);
  const std::optional<RecordingEnd> end = read_end(dir);
  const SnapshotStore snaps = SnapshotStore::open(dir);

  fmt::print("recording {}\n", dir);
  fmt::print("  made by hindsight {} (format {}), {}\n", m.hindsight_version, m.format_version,
             m.created);
  fmt::print("  command  {}\n", m.command_line);
  fmt::print("machine\n  ram      {}\n", mib(m.ram_size));
  if (m.bios_mode == BiosMode::kNone) fmt::print("  bios     none\n");
  fmt::print("{}{}{}{}", image_line("bios", m.bios), image_line("kernel", m.kernel),
             image_line("initrd", m.initrd), image_line("dtb", m.dtb));
  if (!m.append.empty()) fmt::print("  append   \"{}\"\n", m.append);
  for (const DriveRef& d : m.drives)
    fmt::print("{}", image_line(d.readonly ? "drive ro" : "drive", d.image));

  const Position last = end ? end->position : j.end_position();
  fmt::print("positions\n  0 .. {} ({:.3f} s of guest time at {} positions/s)\n", last.v,
             static_cast<double>(last.v) /
                 static_cast<double>(Clock::kTimebaseHz * Clock::kPositionsPerTick),
             Clock::kTimebaseHz * Clock::kPositionsPerTick);
  if (end) {
    fmt::print("  ended    {}{}, {} instructions, {} idle positions\n", end_reason(end->reason),
               end->reason == EndReason::kGuestExit ? fmt::format(" (exit code {})", end->exit_code)
                                                    : "",
               end->instructions, end->idle_positions);
    fmt::print("  state    {}\n", end->state_hash.to_string());
    // A damaged journal in a recording that finished: replay stops early.
    if (const auto& d = j.cut_short())
      fmt::print("  CUT SHORT: {}\n", d->describe(dir + "/" + rec_file::kJournal));
    else if (j.end_position() < end->position)
      fmt::print("  CUT SHORT: {}/{} ends at position {}, before the end record's\n", dir,
                 rec_file::kJournal, j.end_position().v);
  } else if (const auto& d = j.cut_short()) {
    fmt::print("  CUT SHORT: {}\n", d->describe(dir + "/" + rec_file::kJournal));
  } else {
    fmt::print("  CUT SHORT: no end record (the recording was killed); replayable to {}\n",
               last.v);
  }

  std::array<uint64_t, 8> count{}, bytes{};
  for (const Event& e : j.events()) {
    const auto s = static_cast<size_t>(e.source);
    if (s < count.size()) ++count[s], bytes[s] += e.payload.size();
  }
  fmt::print("events\n  {} in {} frames ({} bytes of journal)\n", j.events().size(),
             j.frames().size(), j.valid_bytes());
  for (size_t s = 0; s < count.size(); ++s)
    if (count[s])
      fmt::print("  {:<11} {} events, {} bytes\n", source_name(static_cast<InputSource>(s)),
                 count[s], bytes[s]);
  fmt::print("snapshots\n  {} usable (every {} positions), {} unusable; pages.pack {}\n",
             snaps.snapshots().size(), m.snapshot_interval, snaps.unusable().size(),
             mib(dir_bytes(fs::path(dir) / "pages.pack")));
  for (const UnusableSnapshot& u : snaps.unusable())
    fmt::print("  unusable: {}\n", u.reason);
  fmt::print("size\n  total {} (images {}, snapshots {}, journal {})\n", mib(dir_bytes(dir)),
             mib(dir_bytes(fs::path(dir) / rec_file::kImagesDir)),
             mib(dir_bytes(fs::path(dir) / "pages.pack") + dir_bytes(fs::path(dir) / "snapshots")),
             mib(j.file_bytes()));
  return 0;
}

std::string payload_text(const Event& e) {
  if (e.source == InputSource::kWallClock && e.payload.size() == 8) {
    uint64_t ns = 0;
    for (size_t i = 0; i < 8; ++i) ns |= uint64_t{e.payload[i]} << (8 * i);
    return fmt::format("{} ns since the epoch", ns);
  }
  std::string s;
  for (size_t i = 0; i < e.payload.size() && i < 32; ++i) {
    const uint8_t c = e.payload[i];
    if (e.source == InputSource::kConsole && c >= 0x20 && c < 0x7f && c != '\\')
      s.push_back(static_cast<char>(c));
    else
      s += fmt::format("\\x{:02x}", c);
  }
  if (e.payload.size() > 32) s += fmt::format("... ({} bytes)", e.payload.size());
  return s;
}

struct DumpOptions {
  std::string dir;
  bool events = false, snapshots = false;
  size_t limit = SIZE_MAX;
};

int dump(const DumpOptions& o) {
  const bool both = !o.events && !o.snapshots;
  if (both || o.events) {
    const JournalReader j = JournalReader::open(o.dir);
    fmt::print("# events: position source payload\n");
    size_t n = 0;
    for (const Event& e : j.events()) {
      if (n++ >= o.limit) break;
      fmt::print("{:>14} {:<11} {}\n", e.pos.v, source_name(e.source), payload_text(e));
    }
    if (const auto& d = j.cut_short()) fmt::print("# cut short: {}\n", d->reason);
  }
  if (both || o.snapshots) {
    const SnapshotStore s = SnapshotStore::open(o.dir);
    fmt::print("# snapshots: position instret journal-cursor state-hash file\n");
    size_t n = 0;
    for (const SnapshotInfo& i : s.snapshots()) {
      if (n++ >= o.limit) break;
      fmt::print("{:>14} {:>14} {:>8} {} {}\n", i.position.v, i.instret, i.journal_cursor,
                 i.state_hash.to_string(), fs::path(i.file).filename().string());
    }
    for (const UnusableSnapshot& u : s.unusable())
      fmt::print("# unusable: {}\n", u.reason);
  }
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Summarise a recording: machine, positions, events by source, snapshots, sizes");
  cmd->add_option("recording", *dir, "Recording directory")->required();
  return [dir, cmd]() { return cmd->parsed() ? info(*dir) : -1; };
}

Command add_dump_command(CLI::App& app) {
  auto o = std::make_shared<DumpOptions>();
  CLI::App* cmd =
      app.add_subcommand("dump", "List a recording's journal events and snapshots, readable");
  cmd->add_option("recording", o->dir, "Recording directory")->required();
  cmd->add_flag("--events", o->events, "Only the journal events");
  cmd->add_flag("--snapshots", o->snapshots, "Only the snapshots");
  cmd->add_option("--limit", o->limit, "At most this many lines of each");
  return [o, cmd]() { return cmd->parsed() ? dump(*o) : -1; };
}

}  // namespace hs
