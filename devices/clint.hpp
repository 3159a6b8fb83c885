// CLINT (SiFive core-local interruptor, "sifive,clint0"), single hart, with
// QEMU virt's layout: machine software interrupt (msip) and machine timer
// (mtime/mtimecmp).
//
// mtime is not a register with its own state: it is Clock::ticks_at(now), a
// pure function of the machine position (determinism contract, rule 1). So
// writes to mtime are accepted and ignored: letting the guest move it would
// make time something other than the position and would need its own journal
// and snapshot handling for no guest we know of (OpenSBI and Linux never
// write it).
//
// Outputs: msip bit 0 drives the hart's MSIP line; MTIP is raised when
// mtime >= mtimecmp. Timer expiry is reported to the run loop through
// next_deadline()/advance(); a store to mtimecmp re-evaluates MTIP at once
// (MMIO stores end the block, so the loop sees the new level before the next
// instruction).
#pragma once

#include <cstdint>

#include "core/clock.hpp"
#include "core/device.hpp"

namespace hs {

class Clint : public Device {
 public:
  static constexpr uint64_t kSize = 0x10000;
  // Register offsets (hart 0 only).
  static constexpr uint64_t kRegMsip = 0x0;         // 32-bit, bit 0 writable
  static constexpr uint64_t kRegMtimecmp = 0x4000;  // 64-bit, 4- or 8-byte access
  static constexpr uint64_t kRegMtime = 0xbff8;     // 64-bit, read-only (see above)

  // Everything a snapshot needs. mtip is the level currently driven on the
  // hart's MTIP line: it changes only at store/advance points, so it is state
  // rather than something recomputed from the clock.
  struct State {
    uint32_t msip = 0;
    uint64_t mtimecmp = UINT64_MAX;  // no timer interrupt until firmware sets one
    bool mtip = false;
  };

  // `hart` receives irq::kMSI and irq::kMTI.
  Clint(const Clock& clock, IrqSink* hart);

  const char* name() const override { return "clint"; }
  // msip: 4-byte accesses. mtimecmp/mtime: 4-byte (either half) or 8-byte
  // accesses at natural alignment. Everything else is an access fault.
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  // Position at which mtime reaches mtimecmp while MTIP is low; max() while
  // MTIP is already raised (it only falls through a store to mtimecmp).
  Position next_deadline() const override;
  void advance(Position now) override;

  // Current mtime: timebase ticks at the clock's position.
  uint64_t mtime() const;
  const State& state() const { return s_; }
  // Restores a snapshot and re-drives both output lines from it.
  void restore(const State& s);

 private:
  void update_mtip(Position now);

  const Clock& clock_;
  IrqLine msi_;
  IrqLine mti_;
  State s_;
};

}  // namespace hs
