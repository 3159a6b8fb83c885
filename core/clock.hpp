// The machine clock: the hart's position, and the fixed mapping from position
// to the 10 MHz timebase that mtime/time and every device delay use.
#pragma once

#include <cstdint>

#include "core/types.hpp"

namespace hs {

struct HartState;

class Clock {
 public:
  // QEMU virt's timebase; the device tree advertises it.
  static constexpr uint64_t kTimebaseHz = 10'000'000;
  // Positions per mtime tick: the guest sees a nominal 100 MIPS machine.
  static constexpr uint64_t kPositionsPerTick = 10;

  explicit Clock(const HartState& hart) : hart_(hart) {}

  // Exact position of the instruction currently executing (or of the next one
  // when called between instructions). Defined in core/hart.hpp.
  inline Position now() const;

  // Timebase ticks elapsed at `p`.
  static constexpr uint64_t ticks_at(Position p) { return p.v / kPositionsPerTick; }
  // First position at which `ticks` have elapsed.
  static constexpr Position position_of_tick(uint64_t ticks) {
    if (ticks > UINT64_MAX / kPositionsPerTick) return Position::max();
    return Position{ticks * kPositionsPerTick};
  }

 private:
  const HartState& hart_;
};

}  // namespace hs
