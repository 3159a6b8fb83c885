// The interface every MMIO device implements, and interrupt wiring.
#pragma once

#include <cstdint>

#include "core/types.hpp"

namespace hs {

// Receives level-triggered interrupt lines (the PLIC for device IRQs, the hart
// for mip bits).
class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void set_irq(unsigned line, bool level) = 0;
};

// One output wire: a device raises/lowers it; the sink decides what it means.
struct IrqLine {
  IrqSink* sink = nullptr;
  unsigned line = 0;
  void set(bool level) const {
    if (sink) sink->set_irq(line, level);
  }
};

// An MMIO device mapped on the bus. Offsets are relative to the device base;
// sizes are 1, 2, 4 or 8 and the bus guarantees the access lies inside the
// mapping. Devices read time only from the Clock and input only from the
// machine's input interface, never from the host directly.
class Device {
 public:
  virtual ~Device() = default;
  virtual const char* name() const = 0;
  // Returns false for an access the device rejects (guest access fault).
  virtual bool read(uint64_t offset, unsigned size, uint64_t& value) = 0;
  virtual bool write(uint64_t offset, unsigned size, uint64_t value) = 0;
  // Earliest position at which the device's outputs change by themselves
  // (timer expiry); Position::max() if never. The run loop never runs past it
  // without calling advance().
  virtual Position next_deadline() const { return Position::max(); }
  // Bring time-driven state (interrupt outputs) up to date for position `now`.
  virtual void advance(Position /*now*/) {}
};

}  // namespace hs
