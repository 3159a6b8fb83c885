// A recording opened for replay: the machine rebuilt from the manifest, the
// journal feeding its inputs, the recorded snapshots for seeking, and
// in-memory checkpoints taken while replaying.
//
// The replay only ever runs forward (STYLE.md, rr's layering); going to an
// earlier position restores the nearest checkpoint or snapshot at or before
// it and runs forward from there. Whenever the replay passes a position where
// the recording stored a state hash (every snapshot, and the end), it
// compares: the first difference stops the replay with a description of
// where and what differs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "replay/journal.hpp"
#include "replay/manifest.hpp"
#include "replay/recording_input.hpp"
#include "replay/session.hpp"
#include "snapshot/snapshot.hpp"

namespace hs {

class Timeline {
 public:
  enum class Stop {
    kTarget,      // reached the requested position
    kEnd,         // reached the end of the recording
    kDivergence,  // the replay no longer matches the recording (see error())
    kBreakpoint,  // a debugger breakpoint (Machine::set_breakpoints)
    kWatchpoint,  // a debugger watchpoint (hart().watch_hit)
    kInterrupted, // `progress` returned false
  };

  // Opens REC: manifest, image hashes, journal, snapshots, end record; builds
  // the machine. Throws FormatError / UserError naming the file and reason.
  explicit Timeline(const std::string& dir);
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  const std::string& dir() const { return dir_; }
  const RecordingManifest& manifest() const { return manifest_; }
  const JournalReader& journal() const { return *journal_; }
  const SnapshotStore& snapshots() const { return *snapshots_; }
  const std::optional<RecordingEnd>& end_record() const { return end_record_; }
  // Last replayable position: the end record's, or the last complete
  // journal frame's when the recording was cut short.
  Position end() const { return end_; }
  bool cut_short() const { return !end_record_ || end_ < end_record_->position; }

  Session& session() { return *session_; }
  Machine& machine() { return session_->machine(); }
  Position position() { return machine().position(); }

  // Replays forward to min(target, end()), stopping early at armed debugger
  // breakpoints/watchpoints. Cost: the instructions between. `progress` is
  // called every few million positions; returning false interrupts.
  // `step_over_breakpoint` ignores a breakpoint at the starting pc.
  Stop run_to(Position target, const std::function<bool(Position)>& progress = {},
              bool step_over_breakpoint = false);
  // Goes to `target` (<= end()): restores the nearest checkpoint at or before
  // it unless the current position is already on the way, then runs forward.
  // Cost: one restore (~20-150 ms) plus at most one snapshot interval of replay.
  // A far seek also takes an in-memory checkpoint 1M positions before the
  // target, so nearby seeks that follow (reverse steps) are short.
  Stop seek(Position target);
  // The latest position before `p` that seek() can restore directly (a
  // recorded snapshot or an in-memory checkpoint), or nullopt.
  std::optional<Position> checkpoint_before(Position p) const;

  // The first divergence, as one line for the user (empty if none).
  const std::string& error() const { return error_; }
  // Positions whose recorded state hashes were compared and matched.
  uint64_t verified() const { return verified_; }

 private:
  struct Check {
    Position pos;
    Hash128 hash;
    const char* what;  // "snapshot" or "end"
  };
  // The latest checkpoint or recorded snapshot at or before `target` (info
  // nullptr if none), and the store that holds it.
  std::pair<SnapshotStore*, const SnapshotInfo*> nearest(Position target);
  void restore_nearest(Position target);
  bool verify(const Check& check);
  void diverged(std::string message);
  void check_hart(const Event& e);  // a check event from record --check-every

  std::string dir_;
  RecordingManifest manifest_;
  std::unique_ptr<JournalReader> journal_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::optional<RecordingEnd> end_record_;
  Position end_;
  InputSwitch input_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<ReplayHostInput> replay_input_;
  SnapshotStore checkpoints_;   // in memory: the states this replay passed
  std::vector<Check> checks_;  // sorted by position
  std::optional<Position> last_verified_;  // latest position known to match
  uint64_t verified_ = 0;
  Position last_check_{0};  // latest hart check that matched
  std::string error_;
};

// The machine configuration a recording was made with, its images resolved
// inside the recording (or at their original paths when not copied).
MachineConfig config_from_manifest(const std::string& dir, const RecordingManifest& m);

}  // namespace hs
