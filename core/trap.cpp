// PLACEHOLDER: traps, interrupts, reset.
#include "core/hart.hpp"
namespace hs {
Hart::Hart(Bus& bus) : bus_(bus), clock_(*this) {}
void Hart::reset(uint64_t reset_pc) { pc = reset_pc; priv = dmode = Priv::M; }
void Hart::take_trap(uint64_t cause, uint64_t tval, uint64_t epc) {
  mcause = cause; mtval = tval; mepc = epc; pc = mtvec & ~3ull; priv = dmode = Priv::M;
}
bool Hart::take_pending_interrupt() { return false; }
void Hart::set_irq(unsigned line, bool level) {
  if (level) mip |= 1ull << line; else mip &= ~(1ull << line);
}
}  // namespace hs
