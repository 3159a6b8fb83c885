#include "rsp/replay_debuggee.hpp"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

namespace hs::rsp {

using Outcome = ResumeResult::Outcome;

namespace {

std::optional<uint64_t> parse_position(const std::string& s) {
  uint64_t v = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

}  // namespace

void ReplayDebuggee::quiet_seek(Position p) {
  machine().arm_debug_stops(false);
  t_.seek(p);
  machine().arm_debug_stops(true);
}

ResumeResult ReplayDebuggee::from_stop(Timeline::Stop stop) {
  ResumeResult r;
  switch (stop) {
    case Timeline::Stop::kBreakpoint: r.outcome = Outcome::kBreakpoint; break;
    case Timeline::Stop::kWatchpoint:
      r.outcome = Outcome::kWatchpoint;
      r.watch = machine().hart().watch_hit;
      break;
    case Timeline::Stop::kInterrupted: r.outcome = Outcome::kInterrupted; break;
    case Timeline::Stop::kEnd: r.outcome = Outcome::kHistoryEnd; break;
    case Timeline::Stop::kTarget: r.outcome = Outcome::kStopped; break;
    case Timeline::Stop::kDivergence:
      r.outcome = Outcome::kError;
      r.message = t_.error();
      break;
  }
  return r;
}

ResumeResult ReplayDebuggee::resume(Direction dir, bool step,
                                    const std::function<bool()>& interrupted) {
  if (dir == Direction::kForward) return forward(step, interrupted);
  return step ? reverse_step() : reverse_continue(interrupted);
}

ResumeResult ReplayDebuggee::forward(bool step, const std::function<bool()>& interrupted) {
  const Position now = t_.position();
  if (now >= t_.end()) return ResumeResult{Outcome::kHistoryEnd};
  if (step) return from_stop(t_.run_to(now + 1, {}, /*step_over_breakpoint=*/true));
  Position target = t_.end();
  if (replay_break_ && *replay_break_ > now) target = std::min(target, *replay_break_);
  const Timeline::Stop stop =
      t_.run_to(target, [&interrupted](Position) { return !interrupted(); }, true);
  if (stop == Timeline::Stop::kTarget) replay_break_.reset();  // reached the position breakpoint
  return from_stop(stop);
}

// gdb treats RISC-V watchpoints as non-steppable (riscv-tdep.c): on a
// watchpoint stop it assumes the accessing instruction has not executed yet
// and steps over it, in the current direction, with the watchpoints removed.
// Going forward the machine stops just before the access (Hart::watch_stop),
// which is what gdb expects. Going backward, the accessing instruction is the
// one that led to the reported position, so a hit is reported right after it
// (at the position the instruction reached); gdb's own step back then ends
// just before the access, with the old value in place.
ResumeResult ReplayDebuggee::reverse_step() {
  const Position now = t_.position();
  if (now.v == 0) return ResumeResult{Outcome::kHistoryBegin};
  const Position prev{now.v - 1};
  quiet_seek(prev);
  if (!machine().hart().watchpoints().empty()) {
    // Does the instruction being undone access a watchpoint? Replay it armed:
    // it stops before the access. Then report from where it was.
    const Timeline::Stop stop = t_.run_to(now, {}, /*step_over_breakpoint=*/false);
    if (stop == Timeline::Stop::kDivergence) return from_stop(stop);
    if (stop == Timeline::Stop::kWatchpoint && t_.position() == prev) {
      const WatchHit hit = machine().hart().watch_hit;
      quiet_seek(now);
      return ResumeResult{Outcome::kWatchpoint, hit};
    }
    quiet_seek(prev);
  }
  return ResumeResult{Outcome::kStopped};
}

ResumeResult ReplayDebuggee::reverse_continue(const std::function<bool()>& interrupted) {
  const Position origin = t_.position();
  Machine& m = machine();
  const bool has_stops = !m.breakpoints().empty() || !m.hart().watchpoints().empty();
  std::optional<Position> hit;
  ResumeResult hit_result;
  Position segment_end = origin;
  while (has_stops && !hit && segment_end.v > 0) {
    if (interrupted()) {
      quiet_seek(origin);
      return ResumeResult{Outcome::kInterrupted};
    }
    const Position start = t_.checkpoint_before(segment_end).value_or(Position{0});
    quiet_seek(start);
    // Replay the segment, noting every stop before the segment's end; the
    // last one wins.
    bool step_over = false;
    for (;;) {
      // Past a noted stop: its breakpoint, or the watched access.
      m.hart().watch_skip = step_over ? t_.position().v : ~0ull;
      const Timeline::Stop stop = t_.run_to(segment_end, {}, step_over);
      m.hart().watch_skip = ~0ull;
      step_over = true;
      if (stop == Timeline::Stop::kBreakpoint) {
        hit = t_.position();
        hit_result = ResumeResult{Outcome::kBreakpoint};
      } else if (stop == Timeline::Stop::kWatchpoint) {
        // Stopped before the access; reported right after the accessing
        // instruction: gdb steps back over it (see reverse_step) and shows
        // the state just before it.
        hit = t_.position() + 1;
        hit_result = ResumeResult{Outcome::kWatchpoint, m.hart().watch_hit};
      } else if (stop == Timeline::Stop::kDivergence) {
        return from_stop(stop);
      } else {
        break;
      }
      if (t_.position() >= segment_end) break;
    }
    segment_end = start;
  }
  if (!hit) {
    quiet_seek(Position{0});
    return ResumeResult{Outcome::kHistoryBegin};
  }
  quiet_seek(*hit);
  return hit_result;
}

std::optional<std::string> ReplayDebuggee::monitor(const std::string& command) {
  std::istringstream in(command);
  std::string word, arg;
  in >> word;
  if (word == "info") {
    in >> arg;
    if (arg != "replay") return std::nullopt;
    return fmt::format(
        "Replaying {}: position {} of {} (instructions {}){}\n", t_.dir(), t_.position().v,
        t_.end().v, machine().hart().instret,
        replay_break_ ? fmt::format(", replay_break at {}", replay_break_->v) : std::string());
  }
  if (word == "replay_break" || word == "replay_seek") {
    in >> arg;
    const std::optional<uint64_t> pos = parse_position(arg);
    if (!pos || *pos > t_.end().v)
      return fmt::format("{}: expected a position between 0 and {}\n", word, t_.end().v);
    if (word == "replay_break") {
      replay_break_ = Position{*pos};
      return fmt::format("replay_break at position {}\n", *pos);
    }
    quiet_seek(Position{*pos});
    return fmt::format("position {} (run `maint flush register-cache` if gdb shows stale state)\n",
                       t_.position().v);
  }
  if (word == "replay_delete_break") {
    replay_break_.reset();
    return std::string("replay_break deleted\n");
  }
  if (word == "help")
    return std::string(
        "info replay              current position, end of the recording\n"
        "replay_break POS         stop forward execution at position POS\n"
        "replay_delete_break      remove it\n"
        "replay_seek POS          go to position POS\n");
  return std::nullopt;
}

}  // namespace hs::rsp
