#include "rsp/live_debuggee.hpp"

#include <fmt/format.h>

namespace hs::rsp {

using Outcome = ResumeResult::Outcome;

namespace {

// Breakpoints and watchpoints live on the machine; carry them across.
void copy_debug_stops(Machine& from, Machine& to) {
  to.set_breakpoints(from.breakpoints());
  to.hart().set_watchpoints(from.hart().watchpoints());
}

}  // namespace

void LiveDebuggee::enter_replay() {
  recorder_.sync_journal();
  timeline_ = std::make_unique<Timeline>(dir_);
  timeline_->session().board().uart().on_tx = [](uint8_t) {};  // already shown live
  replay_ = std::make_unique<ReplayDebuggee>(*timeline_);
  copy_debug_stops(live_.machine(), timeline_->machine());
  timeline_->machine().arm_debug_stops(false);
  timeline_->seek(live_.machine().position());
  timeline_->machine().arm_debug_stops(true);
}

void LiveDebuggee::leave_replay() {
  copy_debug_stops(timeline_->machine(), live_.machine());
  replay_.reset();
  timeline_.reset();
}

ResumeResult LiveDebuggee::run_live(bool step, const std::function<bool()>& interrupted,
                                    bool step_over) {
  if (finished_) return ResumeResult{Outcome::kExited, {}, live_.machine().exit_code().value_or(0)};
  Machine& m = live_.machine();
  constexpr uint64_t kSlice = 10'000'000;
  for (;;) {
    const Position until = step ? m.position() + 1 : m.position() + kSlice;
    const StopReason why = recorder_.run_until(until, step_over);
    step_over = false;
    switch (why) {
      case StopReason::kBreakpoint: return ResumeResult{Outcome::kBreakpoint};
      case StopReason::kWatchpoint: return ResumeResult{Outcome::kWatchpoint, m.hart().watch_hit};
      case StopReason::kTarget:
        if (step) return ResumeResult{Outcome::kStopped};
        if (interrupted()) return ResumeResult{Outcome::kInterrupted};
        continue;
      case StopReason::kExit:
      case StopReason::kRequest:
      case StopReason::kIdle:
        finished_ = why;
        return ResumeResult{Outcome::kExited, {}, m.exit_code().value_or(0)};
    }
  }
}

ResumeResult LiveDebuggee::resume(Direction dir, bool step,
                                  const std::function<bool()>& interrupted) {
  if (dir == Direction::kReverse) {
    if (!replaying()) enter_replay();
    return replay_->resume(dir, step, interrupted);
  }
  if (!replaying()) return run_live(step, interrupted, true);
  // Forward in the past: replay up to the live point, then go on live.
  ResumeResult r = replay_->resume(dir, step, interrupted);
  if (r.outcome != Outcome::kHistoryEnd) return r;
  // At the live point: a step executes live; a continue passes through it
  // (a breakpoint right there stops, as it would have in the replay).
  leave_replay();
  return run_live(step, interrupted, step);
}

std::optional<std::string> LiveDebuggee::monitor(const std::string& command) {
  if (replaying()) {
    if (command == "info replay")
      return fmt::format("Replaying the live recording {}: position {}, live point {}\n", dir_,
                         timeline_->position().v, live_.machine().position().v);
    return replay_->monitor(command);
  }
  if (command == "info replay")
    return fmt::format("Live (recording into {}): position {} (instructions {})\n", dir_,
                       live_.machine().position().v, live_.machine().hart().instret);
  if (command == "help")
    return std::string(
        "info replay              current position (live, recorded as it goes)\n"
        "reverse-stepi / reverse-continue switch to the recording; going forward returns live\n");
  return std::nullopt;
}

}  // namespace hs::rsp
