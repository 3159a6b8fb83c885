#include "devices/clint.hpp"

#include "core/hart.hpp"  // Clock::now()

namespace hs {

namespace {

// A 4- or 8-byte access inside the 64-bit register at `reg`: returns the byte
// shift of the accessed half (0 or 32), or -1 if the access does not hit it.
int half_shift(uint64_t offset, unsigned size, uint64_t reg) {
  if (size == 8 && offset == reg) return 0;
  if (size == 4 && (offset == reg || offset == reg + 4)) return static_cast<int>(offset - reg) * 8;
  return -1;
}

uint64_t extract(uint64_t reg, int shift, unsigned size) {
  return size == 8 ? reg : (reg >> shift) & 0xffffffffu;
}

uint64_t merge(uint64_t reg, int shift, unsigned size, uint64_t value) {
  if (size == 8) return value;
  const uint64_t mask = 0xffffffffull << shift;
  return (reg & ~mask) | ((value & 0xffffffffu) << shift);
}

}  // namespace

Clint::Clint(const Clock& clock, IrqSink* hart)
    : clock_(clock), msi_{hart, irq::kMSI}, mti_{hart, irq::kMTI} {}

uint64_t Clint::mtime() const { return Clock::ticks_at(clock_.now()); }

bool Clint::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (offset == kRegMsip && size == 4) {
    value = s_.msip;
    return true;
  }
  if (int sh = half_shift(offset, size, kRegMtimecmp); sh >= 0) {
    value = extract(s_.mtimecmp, sh, size);
    return true;
  }
  if (int sh = half_shift(offset, size, kRegMtime); sh >= 0) {
    value = extract(mtime(), sh, size);
    return true;
  }
  return false;
}

bool Clint::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == kRegMsip && size == 4) {
    s_.msip = value & 1;
    msi_.set(s_.msip != 0);
    return true;
  }
  if (int sh = half_shift(offset, size, kRegMtimecmp); sh >= 0) {
    s_.mtimecmp = merge(s_.mtimecmp, sh, size, value);
    update_mtip(clock_.now());
    return true;
  }
  // mtime is the position: stores are accepted and dropped (header comment).
  return half_shift(offset, size, kRegMtime) >= 0;
}

Position Clint::next_deadline() const {
  if (s_.mtip) return Position::max();
  return Clock::position_of_tick(s_.mtimecmp);
}

void Clint::advance(Position now) { update_mtip(now); }

void Clint::update_mtip(Position now) {
  const bool level = Clock::ticks_at(now) >= s_.mtimecmp;
  if (level == s_.mtip) return;
  s_.mtip = level;
  mti_.set(level);
}

void Clint::restore(const State& s) {
  s_ = s;
  msi_.set(s_.msip != 0);
  mti_.set(s_.mtip);
}

}  // namespace hs
