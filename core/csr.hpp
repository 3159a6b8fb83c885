// CSR numbers, mstatus/satp/PMP bit layouts, and small helpers shared by the
// CSR table (csr.cpp), trap entry (trap.cpp), the system instructions
// (isa/rv_system.cpp), the MMU, the gdb stub and tests.
//
// Stable interface: add, don't change.
#pragma once

#include <cstdint>

#include "core/hart.hpp"
#include "core/types.hpp"

namespace hs {

namespace csr {
// Unprivileged floating-point and counter CSRs.
constexpr unsigned kFflags = 0x001, kFrm = 0x002, kFcsr = 0x003;
constexpr unsigned kCycle = 0xc00, kTime = 0xc01, kInstret = 0xc02, kHpmcounter3 = 0xc03,
                   kHpmcounter31 = 0xc1f;

// Supervisor.
constexpr unsigned kSstatus = 0x100, kSie = 0x104, kStvec = 0x105, kScounteren = 0x106,
                   kSenvcfg = 0x10a, kSscratch = 0x140, kSepc = 0x141, kScause = 0x142,
                   kStval = 0x143, kSip = 0x144, kSatp = 0x180;

// Machine.
constexpr unsigned kMvendorid = 0xf11, kMarchid = 0xf12, kMimpid = 0xf13, kMhartid = 0xf14,
                   kMconfigptr = 0xf15;
constexpr unsigned kMstatus = 0x300, kMisa = 0x301, kMedeleg = 0x302, kMideleg = 0x303,
                   kMie = 0x304, kMtvec = 0x305, kMcounteren = 0x306, kMenvcfg = 0x30a,
                   kMcountinhibit = 0x320, kMhpmevent3 = 0x323, kMhpmevent31 = 0x33f,
                   kMscratch = 0x340, kMepc = 0x341, kMcause = 0x342, kMtval = 0x343,
                   kMip = 0x344;
constexpr unsigned kPmpcfg0 = 0x3a0, kPmpcfg15 = 0x3af, kPmpaddr0 = 0x3b0, kPmpaddr63 = 0x3ef;
constexpr unsigned kMcycle = 0xb00, kMinstret = 0xb02, kMhpmcounter3 = 0xb03,
                   kMhpmcounter31 = 0xb1f;
// Debug triggers: none implemented (tselect/tdata* read 0, writes ignored).
constexpr unsigned kTselect = 0x7a0, kTdata1 = 0x7a1, kTdata2 = 0x7a2, kTdata3 = 0x7a3;
}  // namespace csr

// mstatus fields (RV64). sstatus is a restricted view of the same register.
namespace mstatus {
constexpr uint64_t kSIE = 1ull << 1, kMIE = 1ull << 3, kSPIE = 1ull << 5, kMPIE = 1ull << 7,
                   kSPP = 1ull << 8;
constexpr unsigned kMPPShift = 11, kFSShift = 13;
constexpr uint64_t kMPP = 3ull << kMPPShift, kFS = 3ull << kFSShift;
constexpr uint64_t kFSDirty = 3ull << kFSShift;
constexpr uint64_t kMPRV = 1ull << 17, kSUM = 1ull << 18, kMXR = 1ull << 19, kTVM = 1ull << 20,
                   kTW = 1ull << 21, kTSR = 1ull << 22;
constexpr uint64_t kUXL = 3ull << 32, kSXL = 3ull << 34;
constexpr uint64_t kUXL64 = 2ull << 32, kSXL64 = 2ull << 34;  // XLEN=64, hardwired
constexpr uint64_t kSD = 1ull << 63;
// Fields whose change invalidates cached translations: MXR (loads from
// execute-only pages). MPRV and SUM select another data-TLB set instead
// (HartState::dmode, dtlb).
constexpr uint64_t kTranslationBits = kMXR;
}  // namespace mstatus

// satp (Sv39/Sv48 only; ASID is 16 bits).
namespace satp {
constexpr unsigned kModeShift = 60;
constexpr uint64_t kModeBare = 0, kModeSv39 = 8, kModeSv48 = 9;
constexpr uint64_t kAsidMask = 0xffffull << 44;
constexpr uint64_t kPpnMask = (1ull << 44) - 1;
}  // namespace satp

// pmpcfg byte fields.
namespace pmp {
constexpr uint8_t kR = 1, kW = 2, kX = 4, kL = 0x80;
constexpr unsigned kAShift = 3;
constexpr uint8_t kAMask = 3 << kAShift;
constexpr uint8_t kOff = 0, kTor = 1, kNa4 = 2, kNapot = 3;
// pmpaddr holds physical address bits 55:2.
constexpr uint64_t kAddrMask = (1ull << 54) - 1;
}  // namespace pmp

// misa: RV64 (MXL=2) with I M A F D C S U.
constexpr uint64_t kMisaRv64gcsu = 2ull << 62 | 1u << ('I' - 'A') | 1u << ('M' - 'A') |
                                   1u << ('A' - 'A') | 1u << ('F' - 'A') | 1u << ('D' - 'A') |
                                   1u << ('C' - 'A') | 1u << ('S' - 'A') | 1u << ('U' - 'A');
static_assert(kMisaRv64gcsu == 0x800000000014112dull);

// mip/mie bits by name.
constexpr uint64_t irq_bit(unsigned irq) { return 1ull << irq; }
// Interrupts S-mode may own: the only bits mideleg can hold.
constexpr uint64_t kSupervisorIrqs = irq_bit(irq::kSSI) | irq_bit(irq::kSTI) | irq_bit(irq::kSEI);
constexpr uint64_t kMachineIrqs = irq_bit(irq::kMSI) | irq_bit(irq::kMTI) | irq_bit(irq::kMEI);

// The data-TLB set of dmode (HartState::dtlb).
inline void update_dtlb(HartState& h) {
  h.dtlb = h.dmode == Priv::S && (h.mstatus & mstatus::kSUM) ? 2 : static_cast<uint8_t>(h.dmode);
}

// Privilege for loads and stores: mstatus.MPP when MPRV=1 in M-mode, else the
// current privilege; and its data-TLB set. Call after every change of priv or
// mstatus.
inline void update_dmode(HartState& h) {
  if (h.priv == Priv::M && (h.mstatus & mstatus::kMPRV))
    h.dmode = static_cast<Priv>((h.mstatus & mstatus::kMPP) >> mstatus::kMPPShift);
  else
    h.dmode = h.priv;
  update_dtlb(h);
}

// Value that a CSRRS/CSRRC read-modify-write starts from, given the value the
// read returned. Differs from it only for mip: the PLIC's SEIP level is
// visible to reads but must not be latched into the software SEIP bit
// (privileged spec §3.1.9).
inline uint64_t csr_rmw_base(const HartState& h, unsigned csr, uint64_t read_value) {
  if (csr != csr::kMip) return read_value;
  const uint64_t seip = irq_bit(irq::kSEI);
  return (read_value & ~seip) | (h.mip & seip);
}

}  // namespace hs
