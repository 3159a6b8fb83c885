// Records a live session: writes the manifest (with copies of every image),
// journals every input through RecordingHostInput, takes periodic snapshots
// at deterministic positions, and writes the end record.
//
// Crash safety: journal frames are flushed at every snapshot and at least
// every ~0.25 s of wall time; snapshot records are written atomically. After a
// kill the recording replays up to its last complete frame (no end record).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "replay/journal.hpp"
#include "replay/manifest.hpp"
#include "replay/recording_input.hpp"
#include "replay/session.hpp"
#include "snapshot/snapshot.hpp"

namespace hs {

// Default distance between snapshots: at ~300 MIPS of replay, restoring the
// nearest snapshot and replaying at most this far stays under 0.3 s.
constexpr uint64_t kDefaultSnapshotInterval = 50'000'000;

struct RecordOptions {
  std::string dir;
  bool force = false;            // record into a non-empty directory
  uint64_t snapshot_every = kDefaultSnapshotInterval;
  bool copy_images = true;       // self-contained recording
  std::string command_line;      // for the manifest
  uint64_t limit = 0;            // stop after this many positions (0 = none)
  uint64_t check_every = 0;      // journal a hart-state hash this often (0 = never)
};

struct RecordResult {
  StopReason stop;
  RecordingEnd end;
  uint64_t snapshots = 0;
  uint64_t snapshot_bytes = 0;
  double snapshot_seconds = 0;
};

class Recorder {
 public:
  // Prepares REC (refuses an existing non-empty directory unless force) and
  // starts writing the image copies and the manifest on a thread (joined by
  // sync_journal() and finish(), which rethrow its errors). Throws UserError
  // / FormatError.
  Recorder(const RecordOptions& opt, const MachineConfig& cfg);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Attaches to `session` (built with `input_switch`): the guest's inputs
  // now come from `live` and are journaled. `pace` is the live pacing
  // function (may be empty).
  void attach(Session& session, InputSwitch& input_switch, HostInput& live,
              std::function<uint64_t(Position, uint64_t)> pace);

  // Runs the guest to its end (power-off, a user stop via request_stop(), the
  // limit, or an idle hart that can never wake), snapshotting on the way.
  // Writes the end record.
  RecordResult run();

  // Piecewise recording (a live session under gdb): start() takes the
  // initial snapshot; run_until() runs to `until` or any earlier stop
  // (guest exit, request_stop, breakpoint, watchpoint), snapshotting at the
  // interval; finish() ends the recording.
  void start();
  StopReason run_until(Position until, bool step_over_breakpoint = false);
  RecordResult finish(StopReason why);
  // Makes everything journaled so far visible to a JournalReader.
  void sync_journal();

  // The user ended the run (Ctrl-A x): journaled as a stop event.
  void request_stop();

  const std::string& dir() const { return opt_.dir; }

 private:
  void on_poll();
  SnapshotInfo snapshot();
  void wait_manifest();

  RecordOptions opt_;
  RecordingManifest manifest_;
  std::future<void> manifest_written_;  // after what it uses: joined first
  Session* session_ = nullptr;
  std::unique_ptr<JournalWriter> journal_;
  std::unique_ptr<RecordingHostInput> input_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::chrono::steady_clock::time_point last_flush_;
  bool stop_requested_ = false;
  RecordResult result_{};
};

}  // namespace hs
