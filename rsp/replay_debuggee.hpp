// Debugging a recording: forward and reverse execution over a Timeline, and
// the QEMU-style monitor commands `info replay`, `replay_break POS`,
// `replay_delete_break` and `replay_seek POS`.
//
// Reverse execution is built from restore + forward replay (rr's approach):
// reverse-stepi from P seeks to P-1; reverse-continue scans back segment by
// segment (checkpoint to the next), replaying each with the breakpoints and
// watchpoints armed and keeping the last hit before P, then seeks there. A
// watchpoint hit found going backward is reported just before the accessing
// instruction (the old value), so gdb sees the value change, as with its own
// record-full target.
#pragma once

#include <optional>
#include <string>

#include "replay/timeline.hpp"
#include "rsp/debuggee.hpp"

namespace hs::rsp {

class ReplayDebuggee : public Debuggee {
 public:
  explicit ReplayDebuggee(Timeline& timeline) : t_(timeline) {}

  Machine& machine() override { return t_.machine(); }
  bool reversible() const override { return true; }
  bool writable() const override { return false; }
  ResumeResult resume(Direction dir, bool step, const std::function<bool()>& interrupted) override;
  std::optional<std::string> monitor(const std::string& command) override;

 private:
  ResumeResult forward(bool step, const std::function<bool()>& interrupted);
  ResumeResult reverse_step();
  ResumeResult reverse_continue(const std::function<bool()>& interrupted);
  // Seek with debugger stops disarmed.
  void quiet_seek(Position p);
  ResumeResult from_stop(Timeline::Stop stop);

  Timeline& t_;
  std::optional<Position> replay_break_;
};

}  // namespace hs::rsp
