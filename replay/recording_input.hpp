// The record and replay implementations of HostInput (determinism contract,
// rule 2): devices call the same interface either way and cannot tell.
//
// Recording forwards every call to the live host and journals what it got at
// clock.now(). Replay returns the journaled values, insisting that the guest
// asks for exactly the same input at exactly the same position; anything else
// is a divergence (the replay is no longer the recorded run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "core/clock.hpp"
#include "core/host_input.hpp"
#include "core/types.hpp"
#include "replay/journal.hpp"

namespace hs {

// Live input, journaled. The writer's flush policy is the caller's (e.g. after
// every run slice); this class only appends. Cost per call: the live call +
// one Event allocation.
class RecordingHostInput : public HostInput {
 public:
  // `live`, `journal` and `clock` must outlive this object.
  RecordingHostInput(HostInput& live, JournalWriter& journal, const Clock& clock)
      : live_(live), journal_(journal), clock_(clock) {}

  // Forwards; journals a console event only when bytes arrived.
  size_t console(std::span<uint8_t> out) override;
  // Forwards; journals the value (8 bytes, little-endian).
  uint64_t wall_clock_ns() override;
  // Forwards; journals the bytes.
  void entropy(std::span<uint8_t> out) override;

  // Live pacing woke the sleeping hart early at `p` (the loop polls there).
  void log_wake(Position p);
  // The user ended the run at `p`: the last event of the recording.
  void log_stop(Position p);
  // A hart-state hash at `p` (fine-grained divergence checks).
  void log_check(Position p, std::span<const uint8_t> hash);

 private:
  void log(InputSource s, std::span<const uint8_t> payload);

  HostInput& live_;
  JournalWriter& journal_;
  const Clock& clock_;
};

// Where and how the replay left the recorded run.
struct Divergence {
  Position expected;  // position of the journal's next input (max() if none)
  Position actual;    // position at which the guest asked
  std::string what;   // one line for the user, starting "replay diverged at position N"
};

// Journaled input. Never throws through device code: a mismatch records the
// first Divergence, calls on_divergence, and returns a benign value (0 bytes,
// time 0, zero bytes); the caller checks divergence() after each run slice.
// All calls are O(1) amortized.
class ReplayHostInput : public HostInput {
 public:
  // Delivers journal.events() from index `cursor` on (0 from the start; a
  // snapshot's saved cursor when restoring). `journal` and `clock` must
  // outlive this object; events the reader gains by refresh() are seen.
  ReplayHostInput(const JournalReader& journal, const Clock& clock, size_t cursor = 0)
      : journal_(journal), clock_(clock), cursor_(cursor), poll_idx_(cursor) {}

  // The next event's bytes iff it is a console event at exactly clock.now()
  // (divergence if `out` is smaller than it); 0 when the next input is later.
  size_t console(std::span<uint8_t> out) override;
  // The next event's value; it must be a wall-clock event at clock.now().
  uint64_t wall_clock_ns() override;
  // The next event's bytes; it must be an entropy event of out.size() bytes
  // at clock.now().
  void entropy(std::span<uint8_t> out) override;

  // Position of the next unconsumed console, wake or stop event, or
  // Position::max(): the Machine's next_input hook, so the loop polls there.
  Position next_input() const;
  // Call at every poll (the Machine's on_poll), before the board polls the
  // console: consumes wake events at `now`; an unconsumed event before `now`
  // is a divergence (the guest no longer asks where it did).
  void poll_point(Position now);

  // Index of the next unconsumed event (saved in snapshots).
  size_t cursor() const { return cursor_; }
  // Repositions after a snapshot restore and clears any divergence.
  void set_cursor(size_t cursor);
  // No events left but (at most) the stop that ends the recording.
  bool at_end() const;

  const std::optional<Divergence>& divergence() const { return divergence_; }
  // Called once, when the first divergence is recorded (e.g. to stop the
  // machine at once: Machine::request_stop()).
  std::function<void(const Divergence&)> on_divergence;
  // Called with each check event as the replay passes its position.
  std::function<void(const Event&)> on_check;

 private:
  const Event* peek() const;
  // Consumes wake events at exactly `now`.
  void skip_wakes(Position now);
  // Consumes and returns the next event if it is `source` at clock.now()
  // with `size` bytes; else records a divergence and returns nullptr.
  const Event* take(InputSource source, size_t size, const std::string& action);
  // Records the first divergence only (later ones are its consequences).
  void diverge(Position expected, Position actual, const std::string& what);

  const JournalReader& journal_;
  const Clock& clock_;
  size_t cursor_;
  mutable size_t poll_idx_;  // no console/wake/stop event in [cursor_, poll_idx_)
  std::optional<Divergence> divergence_;
};

}  // namespace hs
