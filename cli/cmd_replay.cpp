// `replay`: re-runs a recording offline, reproducing its console output and
// checking its state hashes; `--seek` jumps to a position and prints the hart.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/gdb_stub.hpp"
#include "core/user_error.hpp"
#include "replay/timeline.hpp"
#include "rsp/replay_debuggee.hpp"

namespace hs {

namespace {

struct ReplayOptions {
  std::string dir;
  std::string gdb;
  uint64_t until = UINT64_MAX;
  std::optional<uint64_t> seek;
  bool quiet = false;
  bool wait_gdb = false;
  bool stats = false;
  JitOption jit;
};

const char* const kAbi[32] = {"zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2",
                              "s0",   "s1", "a0", "a1", "a2",  "a3",  "a4", "a5",
                              "a6",   "a7", "s2", "s3", "s4",  "s5",  "s6", "s7",
                              "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

void print_hart(Timeline& t) {
  const Hart& h = t.machine().hart();
  static const char* const kPriv[4] = {"U", "S", "?", "M"};
  fmt::print("position {}  instret {}  pc {:016x}  priv {}\n", t.position().v, h.instret, h.pc,
             kPriv[static_cast<unsigned>(h.priv) & 3]);
  for (unsigned r = 0; r < 32; ++r)
    fmt::print("x{:<2} {:>4} {:016x}{}", r, kAbi[r], h.x[r], r % 4 == 3 ? "\n" : "  ");
  fmt::print("mstatus {:016x}  mcause {:016x}  mepc {:016x}  mtval {:016x}\n", h.mstatus,
             h.mcause, h.mepc, h.mtval);
  fmt::print("sstatus {:016x}  scause {:016x}  sepc {:016x}  stval {:016x}\n",
             h.mstatus & 0x80000003000de762ull, h.scause, h.sepc, h.stval);
  fmt::print("satp    {:016x}  mip    {:016x}  mie  {:016x}\n", h.satp, h.effective_mip(), h.mie);
}

// Progress on a terminal: one line rewritten about ten times a second.
class Progress {
 public:
  explicit Progress(Position end) : end_(end), tty_(isatty(STDERR_FILENO)) {}
  void operator()(Position p) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    shown_ = true;
    fmt::print(stderr, "\rreplay: position {} of {} ({:.0f}%)", p.v, end_.v,
               end_.v ? 100.0 * static_cast<double>(p.v) / static_cast<double>(end_.v) : 100.0);
  }
  ~Progress() {
    if (shown_) fmt::print(stderr, "\r\033[K");
  }

 private:
  Position end_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

int replay(const ReplayOptions& o) {
  require_gdb_for_wait(o.wait_gdb, o.gdb);
  o.jit.apply();
  Timeline t(o.dir);
  // As gdb's `monitor replay_seek`: a position past the end is a mistake.
  if (o.seek && *o.seek > t.end().v)
    throw UserError(fmt::format("--seek {}: beyond the end of the recording (position {})", *o.seek,
                                t.end().v));
  if (!o.gdb.empty()) {
    // Under gdb: the replay starts at position 0 (or --seek's) and moves only
    // as gdb asks; the guest's console output goes to stdout as it is replayed.
    // Reverse execution replays stretches again: show each byte once, when the
    // replay first gets past it.
    std::optional<uint64_t> shown;
    t.session().board().uart().on_tx = [&t, &shown](uint8_t c) {
      const uint64_t at = t.machine().hart().clock().now().v;
      if (shown && at <= *shown) return;
      shown = at;
      std::fputc(c, stdout);
      if (c == '\n') std::fflush(stdout);
    };
    if (o.seek && t.seek(Position{*o.seek}) == Timeline::Stop::kDivergence) {
      fmt::print(stderr, "hindsight: {}\n", t.error());
      return 1;
    }
    rsp::ReplayDebuggee target(t);
    GdbStub(o.gdb).serve(target);
    std::fflush(stdout);
    return 0;
  }
  std::string out;
  const bool echo = !o.quiet && !o.seek;
  t.session().board().uart().on_tx = [&out, echo](uint8_t c) {
    if (!echo) return;
    out.push_back(static_cast<char>(c));
    if (c == '\n' || out.size() > 4096) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      out.clear();
    }
  };
  // The journal may end before the end record's position (a corrupt or
  // truncated frame in a recording that finished): that is cut short too.
  const std::optional<JournalDamage>& damage = t.journal().cut_short();
  const bool journal_short = t.end_record() && t.end() < t.end_record()->position;
  if (t.cut_short() || journal_short)
    fmt::print(stderr, "hindsight: {} was cut short; replaying up to position {}{}\n", o.dir,
               t.end().v,
               damage ? fmt::format(" ({})", damage->describe(o.dir + "/" + rec_file::kJournal))
               : journal_short
                   ? fmt::format(" (the journal ends before the end record's position {})",
                                 t.end_record()->position.v)
                   : "");

  Timeline::Stop stop;
  {
    Progress progress(t.end());
    const auto report = [&progress](Position p) {
      progress(p);
      return true;
    };
    stop = o.seek ? t.seek(Position{*o.seek}) : t.run_to(Position{o.until}, report);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (stop == Timeline::Stop::kDivergence) {
    fmt::print(stderr, "hindsight: {}\n", t.error());
    return 1;
  }
  if (o.seek) {
    print_hart(t);
    return 0;
  }
  fmt::print(stderr, "hindsight: replayed to position {}{}, {} state hash(es) verified\n",
             t.position().v,
             stop != Timeline::Stop::kEnd ? ""
             : t.cut_short() || journal_short ? " (end of the usable journal)"
                                              : " (end of recording)",
             t.verified());
  if (o.stats && t.machine().has_compiled_tier())
    print_jit_stats(t.machine());
  if (stop == Timeline::Stop::kEnd && !journal_short && t.end_record() &&
      t.end_record()->reason == EndReason::kGuestExit)
    return t.end_record()->exit_code;
  return 0;
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Replay a recording offline: same console output, state hashes verified");
  cmd->add_option("recording", o->dir, "Recording directory (made by `hindsight record`)")
      ->required();
  cmd->add_option("--until", o->until, "Stop at this position");
  cmd->add_option("--seek", o->seek,
                  "Restore the nearest snapshot, run to this position and print the hart state "
                  "(with --gdb: start the session there)");
  cmd->add_flag("-q,--quiet", o->quiet, "Do not print the guest's console output");
  cmd->add_option("--gdb", o->gdb,
                  "Serve gdb on [HOST:]PORT (default host 127.0.0.1) at position 0; forward and "
                  "reverse execution, monitor info replay / replay_break / replay_seek");
  cmd->add_flag_callback("-s", [o] { o->gdb = "1234"; }, "Shorthand for --gdb 1234 (as QEMU)");
  cmd->add_flag("--stats", o->stats, "At the end, print what the LLVM tier compiled and ran");
  o->jit.add_to(*cmd);
  cmd->add_flag("-S", o->wait_gdb, "Accepted for QEMU compatibility (a replay under gdb always waits)");
  cmd->footer(
      "Needs none of the original files. Exit code: the guest's when the replay reaches the "
      "end of a recording that ended with a power-off, 1 on a divergence.");
  return [o, cmd]() { return cmd->parsed() ? replay(*o) : -1; };
}

}  // namespace hs
