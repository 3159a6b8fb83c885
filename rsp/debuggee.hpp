// What the gdb server drives: a machine that can be resumed forward (and,
// for replays, backward), with breakpoints and watchpoints set on the machine
// itself (Machine::set_breakpoints, Hart::set_watchpoints).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/machine.hpp"

namespace hs::rsp {

enum class Direction { kForward, kReverse };

struct ResumeResult {
  enum class Outcome {
    kBreakpoint,    // stopped before an instruction at a breakpoint
    kWatchpoint,    // a watched access (see watch)
    kStopped,       // a step finished, or a position breakpoint (replay_break)
    kInterrupted,   // gdb's Ctrl-C
    kHistoryBegin,  // reverse execution reached the start of the recording
    kHistoryEnd,    // forward replay reached the end of the recording
    kExited,        // the guest powered off (exit_code)
    kError,         // the target cannot go on (message), e.g. a replay divergence
  };
  ResumeResult() = default;
  explicit ResumeResult(Outcome o, WatchHit w = {}, int code = 0)
      : outcome(o), watch(w), exit_code(code) {}

  Outcome outcome = Outcome::kStopped;
  WatchHit watch;
  int exit_code = 0;
  std::string message;
};

class Debuggee {
 public:
  virtual ~Debuggee() = default;
  virtual Machine& machine() = 0;
  // bs/bc are possible.
  virtual bool reversible() const = 0;
  // Registers and memory may be modified (not while replaying a recording).
  virtual bool writable() const = 0;
  // Resumes until something stops it. `interrupted` is polled every few
  // million instructions (gdb's Ctrl-C).
  virtual ResumeResult resume(Direction dir, bool step,
                              const std::function<bool()>& interrupted) = 0;
  // A `monitor` command: its output, or nullopt if the command is unknown.
  virtual std::optional<std::string> monitor(const std::string& command) = 0;
};

}  // namespace hs::rsp
