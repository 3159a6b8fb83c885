// `run` and `record`: a live guest on this terminal. `record` is `run` plus
// a Recorder journaling every input and taking snapshots.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <chrono>
#include <fstream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/gdb_stub.hpp"
#include "core/user_error.hpp"
#include "replay/recorder.hpp"
#include "rsp/live_debuggee.hpp"

namespace hs {

namespace {

// A private temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/hindsight-live-XXXXXX";
    if (!mkdtemp(pattern.data())) throw UserError(fmt::format("{}: {}", pattern, std::strerror(errno)));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct LiveOptions {
  MachineOptions machine;
  JitOption jit;
  std::string dump_dtb;
  std::string gdb;
  bool wait_gdb = false;
  bool stats = false;
  bool no_pace = false;
  void add_to(CLI::App& cmd) {
    machine.add_to(cmd);
    jit.add_to(cmd);
    cmd.add_option("--gdb", gdb,
                   "Serve gdb on [HOST:]PORT (default host 127.0.0.1). The run is recorded as it "
                   "goes, so reverse-stepi/reverse-continue work at any moment");
    cmd.add_flag_callback("-s", [this] { gdb = "1234"; }, "Shorthand for --gdb 1234 (as QEMU)");
    cmd.add_flag("-S", wait_gdb, "Wait for gdb before the first instruction (as QEMU)");
    cmd.add_flag("--no-pace", no_pace,
                 "Let guest time jump through idle periods instead of sleeping in real time");
    cmd.add_flag("--stats", stats,
                 "At exit, print position, retired instructions, idle time and speed on stderr");
  }
};

void print_stats(Machine& m, std::chrono::steady_clock::duration elapsed) {
  const double secs = std::chrono::duration<double>(elapsed).count();
  fmt::print(stderr, "hindsight: position {} (instructions {}, idle {}), {:.3f} s, {:.0f} MIPS\n",
             m.position().v, m.hart().instret, m.idle_positions(), secs,
             secs > 0 ? static_cast<double>(m.hart().instret) / secs / 1e6 : 0.0);
  if (m.has_compiled_tier()) print_jit_stats(m);
}

// A sleeping guest sleeps in real time, as on QEMU: `sleep 5` takes 5 s and
// an idle shell costs no CPU. Busy guests still run flat out.
std::function<uint64_t(Position, uint64_t)> real_time_pacing(Console& console) {
  return [&console](Position, uint64_t positions) -> uint64_t {
    constexpr uint64_t kNsPerPosition =
        1'000'000'000 / (Clock::kTimebaseHz * Clock::kPositionsPerTick);
    const uint64_t ns = positions * kNsPerPosition;
    const auto start = std::chrono::steady_clock::now();
    if (!console.wait_for(ns)) return positions;
    const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - start);
    return std::min<uint64_t>(positions, static_cast<uint64_t>(waited.count()) / kNsPerPosition);
  };
}

int exit_code_of(StopReason why, Machine& m) {
  switch (why) {
    case StopReason::kExit:
      return *m.exit_code();
    case StopReason::kIdle:
      fmt::print(stderr,
                 "hindsight: the guest waits for an interrupt that cannot arrive "
                 "(WFI with no timer armed and no console input) at position {}\n",
                 m.position().v);
      return 1;
    case StopReason::kRequest:
    case StopReason::kTarget:
    case StopReason::kBreakpoint:
    case StopReason::kWatchpoint:
      break;
  }
  return 0;
}

int dump_dtb(const MachineConfig& cfg, const std::string& path) {
  // Like QEMU's dumpdtb: write the tree the guest would get, then exit.
  LiveHostInput live;
  InputSwitch input;
  input.set(&live);
  Session s(cfg, input);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(s.boot_info().fdt.data()),
            static_cast<std::streamsize>(s.boot_info().fdt.size()));
  if (!out) throw UserError(fmt::format("{}: cannot write", path));
  return 0;
}

// A live run under gdb, recorded as it goes (into REC, or a temporary
// recording removed at exit). Returns the stop that ended the run.
StopReason run_under_gdb(LiveOptions& o, Session& s, Recorder& recorder, Console& console,
                         const std::string& dir) {
  GdbStub stub(o.gdb);
  Machine& m = s.machine();
  rsp::LiveDebuggee target(s, recorder, dir);
  auto record_poll = m.on_poll;
  bool attach = false;
  m.on_poll = [&] {
    record_poll();
    if (console.quit_requested()) {
      recorder.request_stop();
      m.request_stop();
    }
    if (stub.client_waiting()) {
      attach = true;
      m.request_stop();
    }
  };
  recorder.start();
  bool killed = false;
  if (o.wait_gdb) killed = stub.serve(target);
  while (!killed && !target.finished()) {
    attach = false;
    const StopReason why = recorder.run_until(Position::max());
    if (why == StopReason::kRequest && attach && !console.quit_requested()) {
      killed = stub.serve(target);  // gdb attached while the guest ran
      continue;
    }
    if (why == StopReason::kBreakpoint || why == StopReason::kWatchpoint) continue;
    return why;
  }
  return target.finished().value_or(StopReason::kRequest);
}

int run_live(LiveOptions& o, const RecordOptions* rec_opt) {
  require_gdb_for_wait(o.wait_gdb, o.gdb);
  o.jit.apply();
  const MachineConfig cfg = o.machine.config();
  if (!o.dump_dtb.empty()) return dump_dtb(cfg, o.dump_dtb);

  // Under gdb a plain `run` records into a temporary directory too.
  std::optional<TempDir> temp;
  RecordOptions temp_opt;
  if (!rec_opt && !o.gdb.empty()) {
    temp.emplace();
    temp_opt.dir = temp->path();
    temp_opt.force = true;
    rec_opt = &temp_opt;
  }
  std::unique_ptr<Recorder> recorder;
  if (rec_opt) recorder = std::make_unique<Recorder>(*rec_opt, cfg);

  Console console;
  LiveHostInput live([&console](std::span<uint8_t> out) { return console.read(out); });
  InputSwitch input;
  input.set(&live);
  Session s(cfg, input);
  Machine& m = s.machine();
  s.board().uart().on_tx = [&console](uint8_t c) { console.output(c); };
  s.board().on_reset = [&m] { m.request_exit(0); };
  m.idle_wait = [&console] { return console.wait(); };
  auto pace = o.no_pace ? std::function<uint64_t(Position, uint64_t)>{} : real_time_pacing(console);

  const auto started = std::chrono::steady_clock::now();
  StopReason why;
  if (recorder && !o.gdb.empty()) {
    recorder->attach(s, input, live, pace);
    why = run_under_gdb(o, s, *recorder, console, rec_opt->dir);
    recorder->finish(why);
    console.flush();
  } else if (recorder) {
    recorder->attach(s, input, live, pace);
    auto record_poll = m.on_poll;
    m.on_poll = [&] {
      record_poll();
      if (console.quit_requested()) {
        recorder->request_stop();
        m.request_stop();
      }
    };
    const RecordResult r = recorder->run();
    why = r.stop;
    console.flush();
    fmt::print(stderr,
               "hindsight: recorded {} positions into {}: {} events, {} snapshots ({:.1f} MiB, "
               "{:.2f} s), journal {} bytes\n",
               r.end.position.v, rec_opt->dir, r.end.events, r.snapshots,
               static_cast<double>(r.snapshot_bytes) / (1 << 20), r.snapshot_seconds,
               r.end.journal_bytes);
  } else {
    m.on_poll = [&] {
      s.board().poll_input();
      if (console.quit_requested()) m.request_stop();
    };
    m.pace_idle = pace;
    why = m.run();
    console.flush();
  }
  if (o.stats) print_stats(m, std::chrono::steady_clock::now() - started);
  return exit_code_of(why, m);
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto o = std::make_shared<LiveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a guest on the QEMU-virt-compatible board (console on stdin/stdout)");
  o->add_to(*cmd);
  cmd->add_option("--dump-dtb", o->dump_dtb, "Write the generated device tree blob to FILE and exit");
  cmd->footer(
      "Console: Ctrl-A x quits, Ctrl-A h shows help. The exit code is the guest's "
      "(test finisher / SBI shutdown).");
  return [o, cmd]() { return cmd->parsed() ? run_live(*o, nullptr) : -1; };
}

Command add_record_command(CLI::App& app, const std::string& command_line) {
  auto o = std::make_shared<LiveOptions>();
  auto r = std::make_shared<RecordOptions>();
  r->command_line = command_line;
  CLI::App* cmd = app.add_subcommand(
      "record", "Run a guest like `run` and record it into a directory for offline replay");
  cmd->add_option("-o,--output", r->dir, "Recording directory to create")->required();
  cmd->add_flag("--force", r->force, "Replace the contents of an existing non-empty directory");
  cmd->add_option("--snapshot-every", r->snapshot_every,
                  "Positions between snapshots (0 = only at start and end)")
      ->capture_default_str();
  cmd->add_option("--limit", r->limit, "Stop recording at this position");
  cmd->add_option("--check-every", r->check_every,
                  "Debug mode: journal a hart-state hash every N positions, so a replay "
                  "divergence is pinned to within N positions");
  o->add_to(*cmd);
  cmd->footer(
      "Every input (console bytes, RTC, entropy) is journaled; images are copied into the "
      "recording so it replays anywhere. Ctrl-A x ends the recording.");
  return [o, r, cmd]() { return cmd->parsed() ? run_live(*o, r.get()) : -1; };
}

}  // namespace hs
