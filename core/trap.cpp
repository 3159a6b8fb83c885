// Reset, trap entry with delegation, interrupt selection and interrupt lines
// (privileged spec §3.1.6-3.1.9, §3.3.1, §3.4).
#include "core/csr.hpp"
#include "core/hart.hpp"

namespace hs {

namespace {

using namespace mstatus;

// Standard priority among interrupts destined for the same mode (§3.1.9).
constexpr unsigned kIrqPriority[] = {irq::kMEI, irq::kMSI, irq::kMTI,
                                     irq::kSEI, irq::kSSI, irq::kSTI};

// Highest-priority interrupt in `set` (non-empty).
unsigned highest(uint64_t set) {
  for (unsigned n : kIrqPriority)
    if (set & irq_bit(n)) return n;
  // Only the six standard bits can be pending: mie/mip masks allow no others.
  return irq::kMEI;
}

}  // namespace

Hart::Hart(Bus& bus) : bus_(bus), clock_(*this) {
  bus_.on_table_write = [this](PAddr page, uint8_t bits) { table_written(page, bits); };
  reset(0);
}

void Hart::reset(uint64_t reset_pc) {
  // The position is the machine's clock and keeps running across a guest
  // reset; interrupt lines belong to the devices, which still drive them.
  const uint64_t keep_position = position, keep_instret = instret, keep_hartid = mhartid;
  const uint64_t keep_lines = mip & kMachineIrqs, keep_seip = seip_ext;
  static_cast<HartState&>(*this) = HartState{};
  position = keep_position;
  instret = keep_instret;
  mhartid = keep_hartid;
  mip = keep_lines;
  seip_ext = keep_seip;

  pc = reset_pc;
  priv = Priv::M;
  misa = kMisaRv64gcsu;
  // FS starts Off, as on QEMU: firmware and kernels enable it themselves.
  mstatus = kUXL64 | kSXL64;
  update_dmode(*this);
  tlb_flush();
  block_exit = true;
}

void Hart::take_trap(uint64_t cause, uint64_t tval, uint64_t epc) {
  const bool interrupt = cause & cause::kInterruptBit;
  const uint64_t code = cause & ~cause::kInterruptBit;
  const uint64_t deleg = interrupt ? mideleg : medeleg;
  // Delegation never moves a trap to a less privileged mode than the current one.
  const bool to_s = priv != Priv::M && code < 64 && ((deleg >> code) & 1);
  const uint64_t prev = static_cast<uint64_t>(priv);
  epc &= ~1ull;

  if (to_s) {
    scause = cause;
    sepc = epc;
    stval = tval;
    mstatus = (mstatus & ~(kSPIE | kSIE | kSPP)) | ((mstatus & kSIE) ? kSPIE : 0) |
              (prev ? kSPP : 0);
    priv = Priv::S;
    pc = stvec & ~3ull;
    if (interrupt && (stvec & 3) == 1) pc += 4 * code;
  } else {
    mcause = cause;
    mepc = epc;
    mtval = tval;
    mstatus = (mstatus & ~(kMPIE | kMIE | kMPP)) | ((mstatus & kMIE) ? kMPIE : 0) |
              (prev << kMPPShift);
    priv = Priv::M;
    pc = mtvec & ~3ull;
    if (interrupt && (mtvec & 3) == 1) pc += 4 * code;
  }
  // A trap breaks any LR/SC sequence. The TLB is indexed by privilege, so the
  // mode change itself needs no flush.
  reservation_valid = false;
  update_dmode(*this);
}

uint64_t Hart::takeable_interrupts() const {
  const uint64_t pending = effective_mip() & mie;
  if (!pending) return 0;
  // M-level interrupts preempt any lower mode and fire in M-mode when MIE=1;
  // delegated ones fire below S, or in S-mode when SIE=1, never in M-mode.
  const bool m_on = priv != Priv::M || (mstatus & kMIE);
  const bool s_on = priv == Priv::U || (priv == Priv::S && (mstatus & kSIE));
  const uint64_t take = m_on ? pending & ~mideleg : 0;
  return take || !s_on ? take : pending & mideleg;
}

bool Hart::take_pending_interrupt() {
  const uint64_t take = takeable_interrupts();
  if (!take) return false;
  take_trap(cause::kInterruptBit | highest(take), 0, pc);
  return true;
}

void Hart::set_irq(unsigned line, bool level) {
  if (line >= 64) return;
  // The PLIC's S-context line is kept apart from the software SEIP bit; both
  // are OR-ed on reads of mip (effective_mip).
  if (line == irq::kSEI) {
    seip_ext = level ? 1 : 0;
    return;
  }
  if (level)
    mip |= irq_bit(line);
  else
    mip &= ~irq_bit(line);
}

}  // namespace hs
