// CSR access through one table: CSR number -> read function, write function
// and an optional extra access condition. On top of each entry, every access
// obeys the rules encoded in the CSR address (privileged spec §2.1): bits
// [9:8] give the lowest privilege allowed, bits [11:10]==3 make it read-only.
//
// Unimplemented optional state is WARL read-only zero rather than absent
// where firmware or kernels probe it without a trap handler (hpm counters and
// events, mcountinhibit, PMP entries 16..63, debug triggers).
#include <array>

#include "core/csr.hpp"
#include "core/isa/fp_util.hpp"

namespace hs {
namespace {

struct Access {
  Hart& h;
  const DecodedInsn& i;  // the CSR instruction: gives the exact position
  unsigned csr;
};
using ReadFn = uint64_t (*)(const Access&);
using WriteFn = void (*)(const Access&, uint64_t);
using AllowFn = bool (*)(const Access&);

struct CsrDef {
  ReadFn read = nullptr;      // nullptr: no such CSR (illegal instruction)
  WriteFn write = nullptr;    // nullptr: writes are accepted and ignored
  AllowFn allowed = nullptr;  // extra condition beyond the address rules
};

// ---- generic entries ----

template <uint64_t HartState::*F>
uint64_t get(const Access& a) {
  return a.h.*F;
}
template <uint64_t HartState::*F>
void put(const Access& a, uint64_t v) {
  a.h.*F = v;
}
template <uint64_t HartState::*F, uint64_t Mask>
void put_masked(const Access& a, uint64_t v) {
  a.h.*F = v & Mask;
}
uint64_t zero(const Access&) { return 0; }

// ---- mstatus / sstatus ----

using namespace mstatus;
constexpr uint64_t kMstatusWritable =
    kSIE | kMIE | kSPIE | kMPIE | kSPP | kMPP | kFS | kMPRV | kSUM | kMXR | kTVM | kTW | kTSR;
// UBE, VS and XS are hardwired zero here (little-endian, no V, no custom state),
// so the S view is just these plus the fixed UXL and the derived SD.
constexpr uint64_t kSstatusView = kSIE | kSPIE | kSPP | kFS | kSUM | kMXR | kUXL | kSD;
constexpr uint64_t kSstatusWritable = kSIE | kSPIE | kSPP | kFS | kSUM | kMXR;

void write_status(Hart& h, uint64_t v, uint64_t writable) {
  const uint64_t old = h.mstatus;
  uint64_t next = (old & ~writable) | (v & writable);
  // MPP is WARL over the implemented modes: the reserved encoding 2 keeps the
  // old value (what QEMU does), so software probing modes reads back truth.
  if ((next & kMPP) >> kMPPShift == 2) next = (next & ~kMPP) | (old & kMPP);
  // SD summarises FS (VS and XS are always 0).
  next = (next & kFS) == kFSDirty ? next | kSD : next & ~kSD;
  h.mstatus = next;
  update_dmode(h);
  // The data TLB is indexed by effective privilege and SUM (dtlb), so only
  // MXR changes need a flush.
  if ((old ^ next) & kTranslationBits) h.tlb_flush();
}

void write_mstatus(const Access& a, uint64_t v) { write_status(a.h, v, kMstatusWritable); }
uint64_t read_sstatus(const Access& a) { return a.h.mstatus & kSstatusView; }
void write_sstatus(const Access& a, uint64_t v) { write_status(a.h, v, kSstatusWritable); }

// ---- interrupts and delegation ----

constexpr uint64_t kAllIrqs = kSupervisorIrqs | kMachineIrqs;
// Exceptions S-mode may handle: all but ecall-from-M (11) and the reserved 10, 14.
constexpr uint64_t kDelegableExceptions = 0xb3ff;
// mip bits software writes; MSIP/MTIP/MEIP follow the CLINT/PLIC (set_irq).
constexpr uint64_t kMipWritable = kSupervisorIrqs;

uint64_t read_mip(const Access& a) { return a.h.effective_mip(); }
void write_mip(const Access& a, uint64_t v) {
  a.h.mip = (a.h.mip & ~kMipWritable) | (v & kMipWritable);
}
// sie/sip show only what mideleg hands to S-mode; in sip only SSIP is writable
// (STIP and SEIP are driven by M-mode software and the PLIC).
uint64_t read_sie(const Access& a) { return a.h.mie & a.h.mideleg; }
void write_sie(const Access& a, uint64_t v) {
  a.h.mie = (a.h.mie & ~a.h.mideleg) | (v & a.h.mideleg);
}
uint64_t read_sip(const Access& a) { return a.h.effective_mip() & a.h.mideleg; }
void write_sip(const Access& a, uint64_t v) {
  const uint64_t m = a.h.mideleg & irq_bit(irq::kSSI);
  a.h.mip = (a.h.mip & ~m) | (v & m);
}

// xtvec: mode 0 (direct) and 1 (vectored); a write with a reserved mode is
// ignored entirely so the handler address never points somewhere unintended.
template <uint64_t HartState::*F>
void write_tvec(const Access& a, uint64_t v) {
  if ((v & 3) < 2) a.h.*F = v;
}
// xepc: IALIGN=16 (C is present), bit 0 always reads zero.
template <uint64_t HartState::*F>
void write_epc(const Access& a, uint64_t v) {
  a.h.*F = v & ~1ull;
}

// ---- counters ----
// cycle counts positions and instret retired instructions, both exact within
// a block: the CSR instruction at index idx sees position/instret + idx. A
// write replaces the increment of the writing instruction (Zicsr §2.1), so the
// next instruction reads the written value.

uint64_t exact_position(const Access& a) { return a.h.position + a.i.idx; }
uint64_t read_cycle(const Access& a) { return exact_position(a) + a.h.mcycle_offset; }
void write_mcycle(const Access& a, uint64_t v) { a.h.mcycle_offset = v - (exact_position(a) + 1); }
uint64_t read_instret(const Access& a) { return a.h.instret + a.i.idx + a.h.minstret_offset; }
void write_minstret(const Access& a, uint64_t v) {
  a.h.minstret_offset = v - (a.h.instret + a.i.idx + 1);
}
uint64_t read_time(const Access& a) { return Clock::ticks_at(Position{exact_position(a)}); }

// cycle/time/instret/hpmcounterN below M-mode need their mcounteren bit, and
// in U-mode also their scounteren bit.
bool counter_enabled(const Access& a) {
  const uint64_t bit = 1ull << (a.csr - csr::kCycle);
  if (a.h.priv != Priv::M && !(a.h.mcounteren & bit)) return false;
  return a.h.priv != Priv::U || (a.h.scounteren & bit);
}

// ---- floating point ----
// Illegal while mstatus.FS is Off; any write makes the state Dirty.

using isa::mark_fp_dirty;
bool fp_allowed(const Access& a) { return isa::fp_enabled(a.h); }
uint64_t read_fflags(const Access& a) { return a.h.fflags; }
uint64_t read_frm(const Access& a) { return a.h.frm; }
uint64_t read_fcsr(const Access& a) { return uint64_t{a.h.frm} << 5 | a.h.fflags; }
void write_fflags(const Access& a, uint64_t v) {
  a.h.fflags = v & 0x1f;
  mark_fp_dirty(a.h);
}
void write_frm(const Access& a, uint64_t v) {
  a.h.frm = v & 7;
  mark_fp_dirty(a.h);
}
void write_fcsr(const Access& a, uint64_t v) {
  a.h.fflags = v & 0x1f;
  a.h.frm = (v >> 5) & 7;
  mark_fp_dirty(a.h);
}

// ---- address translation ----

bool satp_allowed(const Access& a) {
  return !(a.h.priv == Priv::S && (a.h.mstatus & kTVM));
}
// Only Bare, Sv39 and Sv48 are accepted; a write selecting another mode is
// ignored entirely (WARL, §4.1.11), which is how kernels probe Sv57.
void write_satp(const Access& a, uint64_t v) {
  const uint64_t mode = v >> satp::kModeShift;
  if (mode != satp::kModeBare && mode != satp::kModeSv39 && mode != satp::kModeSv48) return;
  a.h.satp = v & (uint64_t{0xf} << satp::kModeShift | satp::kAsidMask | satp::kPpnMask);
  a.h.tlb_flush();
}

// ---- PMP ----
// 16 entries with 4-byte granularity (G=0). On RV64 only even pmpcfg numbers
// exist; each holds 8 entries' configuration bytes.

constexpr unsigned kPmpEntries = 16;

unsigned pmpcfg_first_entry(unsigned csr) { return (csr - csr::kPmpcfg0) * 4; }

uint64_t read_pmpcfg(const Access& a) {
  uint64_t v = 0;
  const unsigned first = pmpcfg_first_entry(a.csr);
  for (unsigned b = 0; b < 8 && first + b < kPmpEntries; ++b)
    v |= uint64_t{a.h.pmpcfg[first + b]} << (8 * b);
  return v;
}

void write_pmpcfg(const Access& a, uint64_t v) {
  const unsigned first = pmpcfg_first_entry(a.csr);
  for (unsigned b = 0; b < 8 && first + b < kPmpEntries; ++b) {
    uint8_t& cfg = a.h.pmpcfg[first + b];
    if (cfg & pmp::kL) continue;  // locked until reset
    uint8_t c = static_cast<uint8_t>(v >> (8 * b)) & ~0x60;  // bits 6:5 reserved
    if (!(c & pmp::kR)) c &= ~pmp::kW;  // R=0,W=1 is reserved: W reads back 0
    cfg = c;
  }
  a.h.tlb_flush();
}

unsigned pmp_mode(const HartState& h, unsigned k) { return (h.pmpcfg[k] & pmp::kAMask) >> pmp::kAShift; }

uint64_t read_pmpaddr(const Access& a) {
  const unsigned k = a.csr - csr::kPmpaddr0;
  return k < kPmpEntries ? a.h.pmpaddr[k] : 0;
}

void write_pmpaddr(const Access& a, uint64_t v) {
  const unsigned k = a.csr - csr::kPmpaddr0;
  if (k >= kPmpEntries) return;
  // A locked entry freezes its own address, and a locked TOR entry also the
  // address below it (its range's base).
  if (a.h.pmpcfg[k] & pmp::kL) return;
  if (k + 1 < kPmpEntries && (a.h.pmpcfg[k + 1] & pmp::kL) && pmp_mode(a.h, k + 1) == pmp::kTor)
    return;
  a.h.pmpaddr[k] = v & pmp::kAddrMask;
  a.h.tlb_flush();
}

// ---- the table ----

constexpr std::array<CsrDef, 4096> make_table() {
  std::array<CsrDef, 4096> t{};
  using S = HartState;
  // Unprivileged.
  t[csr::kFflags] = {read_fflags, write_fflags, fp_allowed};
  t[csr::kFrm] = {read_frm, write_frm, fp_allowed};
  t[csr::kFcsr] = {read_fcsr, write_fcsr, fp_allowed};
  t[csr::kCycle] = {read_cycle, nullptr, counter_enabled};
  t[csr::kTime] = {read_time, nullptr, counter_enabled};
  t[csr::kInstret] = {read_instret, nullptr, counter_enabled};
  for (unsigned n = csr::kHpmcounter3; n <= csr::kHpmcounter31; ++n) t[n] = {zero, nullptr, counter_enabled};

  // Supervisor.
  t[csr::kSstatus] = {read_sstatus, write_sstatus};
  t[csr::kSie] = {read_sie, write_sie};
  t[csr::kStvec] = {get<&S::stvec>, write_tvec<&S::stvec>};
  t[csr::kScounteren] = {get<&S::scounteren>, put_masked<&S::scounteren, 0xffffffff>};
  t[csr::kSenvcfg] = {get<&S::senvcfg>, put_masked<&S::senvcfg, 1>};  // FIOM only
  t[csr::kSscratch] = {get<&S::sscratch>, put<&S::sscratch>};
  t[csr::kSepc] = {get<&S::sepc>, write_epc<&S::sepc>};
  t[csr::kScause] = {get<&S::scause>, put<&S::scause>};
  t[csr::kStval] = {get<&S::stval>, put<&S::stval>};
  t[csr::kSip] = {read_sip, write_sip};
  t[csr::kSatp] = {get<&S::satp>, write_satp, satp_allowed};

  // Machine information (read-only by address).
  t[csr::kMvendorid] = {zero};
  t[csr::kMarchid] = {zero};
  t[csr::kMimpid] = {zero};
  t[csr::kMhartid] = {get<&S::mhartid>};
  t[csr::kMconfigptr] = {zero};

  // Machine trap setup and handling.
  t[csr::kMstatus] = {get<&S::mstatus>, write_mstatus};
  t[csr::kMisa] = {get<&S::misa>};  // writes ignored: extensions can't be turned off
  t[csr::kMedeleg] = {get<&S::medeleg>, put_masked<&S::medeleg, kDelegableExceptions>};
  t[csr::kMideleg] = {get<&S::mideleg>, put_masked<&S::mideleg, kSupervisorIrqs>};
  t[csr::kMie] = {get<&S::mie>, put_masked<&S::mie, kAllIrqs>};
  t[csr::kMtvec] = {get<&S::mtvec>, write_tvec<&S::mtvec>};
  t[csr::kMcounteren] = {get<&S::mcounteren>, put_masked<&S::mcounteren, 0xffffffff>};
  t[csr::kMenvcfg] = {get<&S::menvcfg>, put_masked<&S::menvcfg, 1>};  // FIOM only
  t[csr::kMcountinhibit] = {zero};  // counters always count
  for (unsigned n = csr::kMhpmevent3; n <= csr::kMhpmevent31; ++n) t[n] = {zero};
  t[csr::kMscratch] = {get<&S::mscratch>, put<&S::mscratch>};
  t[csr::kMepc] = {get<&S::mepc>, write_epc<&S::mepc>};
  t[csr::kMcause] = {get<&S::mcause>, put<&S::mcause>};
  t[csr::kMtval] = {get<&S::mtval>, put<&S::mtval>};
  t[csr::kMip] = {read_mip, write_mip};

  // PMP.
  for (unsigned n = csr::kPmpcfg0; n <= csr::kPmpcfg15; n += 2) t[n] = {read_pmpcfg, write_pmpcfg};
  for (unsigned n = csr::kPmpaddr0; n <= csr::kPmpaddr63; ++n) t[n] = {read_pmpaddr, write_pmpaddr};

  // Machine counters.
  t[csr::kMcycle] = {read_cycle, write_mcycle};
  t[csr::kMinstret] = {read_instret, write_minstret};
  for (unsigned n = csr::kMhpmcounter3; n <= csr::kMhpmcounter31; ++n) t[n] = {zero};

  // Debug triggers: none; tdata1 reading 0 (type 0) tells software so.
  for (unsigned n = csr::kTselect; n <= csr::kTdata3; ++n) t[n] = {zero};
  return t;
}

constexpr std::array<CsrDef, 4096> kCsrs = make_table();

bool accessible(const CsrDef& d, const Access& a) {
  if (!d.read) return false;
  if (static_cast<unsigned>(a.h.priv) < ((a.csr >> 8) & 3)) return false;
  return !d.allowed || d.allowed(a);
}

}  // namespace

bool Hart::csr_read(unsigned csr, const DecodedInsn& i, uint64_t& value) {
  if (csr >= kCsrs.size()) return false;
  const CsrDef& d = kCsrs[csr];
  const Access a{*this, i, csr};
  if (!accessible(d, a)) return false;
  value = d.read(a);
  return true;
}

bool Hart::csr_write(unsigned csr, const DecodedInsn& i, uint64_t value) {
  if (csr >= kCsrs.size()) return false;
  const CsrDef& d = kCsrs[csr];
  const Access a{*this, i, csr};
  if (!accessible(d, a) || (csr >> 10) == 3) return false;
  if (d.write) d.write(a, value);
  return true;
}

}  // namespace hs
