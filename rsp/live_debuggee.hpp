// Debugging a live run that is recorded as it goes, so reverse execution
// works at any moment. Forward execution runs the live machine (recording).
// The first reverse command opens the recording so far as a Timeline (a
// second machine) and debugging continues there; going forward again
// replays to the live point, where the live machine waits in exactly that
// state, and continues live from there.
#pragma once

#include <memory>
#include <string>

#include "replay/recorder.hpp"
#include "replay/session.hpp"
#include "replay/timeline.hpp"
#include "rsp/debuggee.hpp"
#include "rsp/replay_debuggee.hpp"

namespace hs::rsp {

class LiveDebuggee : public Debuggee {
 public:
  // `live` is being recorded by `recorder` (started) into `dir`.
  LiveDebuggee(Session& live, Recorder& recorder, std::string dir)
      : live_(live), recorder_(recorder), dir_(std::move(dir)) {}

  Machine& machine() override { return replaying() ? timeline_->machine() : live_.machine(); }
  bool reversible() const override { return true; }
  // Changing registers or memory would make the recording lie.
  bool writable() const override { return false; }
  ResumeResult resume(Direction dir, bool step, const std::function<bool()>& interrupted) override;
  std::optional<std::string> monitor(const std::string& command) override;

  // The guest powered off (or the user quit) while live.
  std::optional<StopReason> finished() const { return finished_; }

 private:
  bool replaying() const { return timeline_ != nullptr; }
  void enter_replay();
  void leave_replay();
  ResumeResult run_live(bool step, const std::function<bool()>& interrupted, bool step_over);

  Session& live_;
  Recorder& recorder_;
  std::string dir_;
  std::unique_ptr<Timeline> timeline_;
  std::unique_ptr<ReplayDebuggee> replay_;
  std::optional<StopReason> finished_;
};

}  // namespace hs::rsp
