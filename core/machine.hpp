// The machine: bus, hart, decoder, block cache and the run loop.
//
// The loop runs blocks while the position is below the next stop point: the
// caller's target, the earliest device deadline, and the next host-input poll.
// It never overshoots any of them (a block longer than the remaining budget is
// executed instruction by instruction), so interrupts and inputs happen at the
// same positions however execution is sliced (determinism contract, rule 3).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "core/block_cache.hpp"
#include "core/bus.hpp"
#include "core/compiled.hpp"
#include "core/decoder.hpp"
#include "core/device.hpp"
#include "core/hart.hpp"
#include "core/types.hpp"

namespace hs {

enum class StopReason {
  kTarget,    // reached the requested position
  kExit,      // the guest requested power-off/reset (see exit_code())
  kIdle,      // WFI with no interrupt that can ever arrive (no deadline, no input)
  kRequest,   // request_stop() was called
  kBreakpoint,  // about to execute an instruction at a breakpoint (pc unchanged)
  kWatchpoint,  // an instruction is about to access a watchpoint; it has not
                // executed (pc and position are its own; hart().watch_hit)
};

class Machine {
 public:
  // Positions between two host-input polls (console bytes etc.). Polls happen
  // at multiples of it, plus wherever next_input()/pace_idle say.
  static constexpr uint64_t kPollInterval = 1u << 16;

  // Attaches the compiled tier of tier_factory(), if any (core/compiled.hpp).
  Machine();
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  Bus& bus() { return bus_; }
  Hart& hart() { return hart_; }
  const Hart& hart() const { return hart_; }
  const Decoder& decoder() const { return decoder_; }
  Position position() const { return Position{hart_.position}; }

  // Devices whose next_deadline()/advance() the loop must honour.
  void add_timed_device(Device* dev) { timed_.push_back(dev); }

  // Called at every poll point (the first block boundary past each multiple
  // of kPollInterval positions) and while idle;
  // pushes host input (console bytes) into devices. `idle_wait` is called when
  // the hart waits with no deadline: it may block for input and returns false
  // if no input can ever arrive.
  std::function<void()> on_poll;
  std::function<bool()> idle_wait;
  // Optional real-time pacing of sleep (live runs): called before the clock
  // jumps `positions` ahead while the hart sleeps; may block up to that much
  // real time and returns how far to actually advance (less than asked when
  // host input arrived, which is then delivered at once). Determinism holds:
  // the recording layer logs where inputs arrive, and replay stops there.
  std::function<uint64_t(Position now, uint64_t positions)> pace_idle;
  // Replay: position of the next journaled input (console bytes, idle wake),
  // or Position::max(). The loop stops exactly there and polls, so inputs are
  // delivered where they were recorded.
  std::function<Position()> next_input;

  // Runs until position `until`, a guest exit, a stop request, or a
  // breakpoint/watchpoint. With `step_over_breakpoint`, a breakpoint at the
  // pc where the run starts is ignored (resuming from a breakpoint). A
  // watchpoint stop is not skipped that way: gdb removes watchpoints to step
  // over the access (see also Hart::watch_skip).
  StopReason run(Position until = Position::max(), bool step_over_breakpoint = false);

  // Debugger breakpoints on guest virtual pcs. Changing them drops decoded
  // blocks, which are then split so that every breakpoint starts a block: the
  // check costs one set lookup per block, and nothing when there are none.
  void set_breakpoints(std::unordered_set<uint64_t> pcs);
  const std::unordered_set<uint64_t>& breakpoints() const { return breakpoints_; }
  // Disarmed, breakpoints and watchpoints stay in place (blocks stay split,
  // watched pages stay out of the TLB) but do not stop the run: for seeking.
  void arm_debug_stops(bool armed) {
    breakpoints_armed_ = armed;
    hart_.watch_armed = armed;
  }

  // Guest power-off (test finisher, SBI reset through it): stops the loop.
  void request_exit(int code) {
    exit_code_ = code;
    stop_ = true;
  }
  void request_stop() { stop_ = true; }
  std::optional<int> exit_code() const { return exit_code_; }
  // Instructions retired inside compiled units (the rest ran interpreted).
  uint64_t compiled_instructions() const { return compiled_instructions_; }
  // Instructions interpreted in blocks whose compiled unit was still waiting
  // for the compile thread.
  uint64_t waited_instructions() const { return waited_instructions_; }
  bool has_compiled_tier() const { return tier_ != nullptr; }
  // Positions skipped while the hart slept in WFI.
  uint64_t idle_positions() const { return idle_positions_; }

  // The hart's state and memory contents were replaced wholesale (snapshot
  // restore): drops every decoded block and code- and table-page mark, flushes the TLB,
  // resets the loop's scratch (cur_idx, block_exit) and polls host input at
  // the start of the next run. Call between runs only. Cost: O(blocks + pages).
  void state_replaced();
  // Starts a new dirty-page generation (see Bus::mark_dirty) and returns the
  // one that ended: pages written from now on have dirty > the returned
  // value. Drops the hart's write TLB entries so stores re-mark their pages.
  // Call between runs only. Cost: one write-TLB flush (768 entries).
  uint32_t dirty_checkpoint();

 private:
  Position next_deadline() const;
  void advance_devices();
  // Executes up to `budget` (>= 1) instructions from `b`'s start, compiled
  // or interpreted (counting its heat for the compiled tier). True if the next
  // block may follow directly (plain control flow only; anything that can
  // change interrupt state, deadlines or translation returns false).
  bool execute(Block& b, uint64_t budget);
  // The interpreter's run of `b` (up to `budget` instructions), ending with
  // pc/position/instret as a compiled unit leaves them (UnitEntry).
  bool run_block(Block& b, uint64_t budget);
  bool run_unit(CompiledUnit* unit, UnitEntry entry, uint64_t budget);
  // The one place a run's flow is acted on: trap entry, WFI, chaining.
  bool end_run(Flow f);
  // No guest code executes here: frees retired blocks, lets the tier install
  // or evict code.
  void safe_point();

  Bus bus_;
  Hart hart_;
  Decoder decoder_;
  BlockCache blocks_;
  std::unique_ptr<CompiledTier> tier_;
  uint64_t compiled_instructions_ = 0;
  uint64_t waited_instructions_ = 0;
  std::vector<Device*> timed_;
  std::unordered_set<uint64_t> breakpoints_;
  bool breakpoints_armed_ = true;
  std::optional<int> exit_code_;
  bool stop_ = false;
  uint64_t next_poll_ = 0;
  uint64_t idle_positions_ = 0;
  // run_block's copy of a block cut short by a stop point, plus its sentinel.
  DecodedInsn partial_[BlockCache::kMaxInsns + 1];
};

}  // namespace hs
