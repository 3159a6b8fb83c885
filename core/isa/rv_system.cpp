// Zicsr, ecall/ebreak, mret/sret, wfi and sfence.vma.
//
// All but the CSR instructions end their block: traps and returns change
// privilege, sfence.vma translation, wfi sleeps. A CSR instruction ends it
// only when its write changed what blocks or the machine loop rely on (see
// csr_access). The CSR rules themselves
// (existence, privilege, read-only, WARL) live in core/csr.cpp; handlers here
// only implement the read/modify/write shape of each instruction.
#include <cstdint>

#include "core/csr.hpp"
#include "core/hart.hpp"
#include "core/insn.hpp"
#include "core/isa/dispatch.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

using namespace mstatus;

Flow illegal(Hart& h, const DecodedInsn& i) { return h.raise(cause::kIllegalInsn, i.raw); }

// ---- Zicsr ----

enum class CsrOp { kWrite, kSet, kClear };

// `src` is rs1's value or the zero-extended uimm; `src_is_x0` is whether the
// rs1/uimm field is 0. csrrw always writes and reads only when rd != x0 (so a
// write-only access to a CSR has no read side effects); csrrs/csrrc always
// read and write only when the field is non-zero, so reading a read-only CSR
// with them is legal.
template <CsrOp Op>
Flow csr_access(Hart& h, const DecodedInsn& i, uint64_t src, bool src_is_x0) {
  h.cur_idx = i.idx;  // counters and devices read the exact position
  const unsigned n = i.csr();
  const bool reads = Op != CsrOp::kWrite || !i.writes_x0();
  const bool writes = Op == CsrOp::kWrite || !src_is_x0;
  uint64_t old = 0;
  if (reads && !h.csr_read(n, i, old)) return illegal(h, i);
  if (!writes) {
    h.x[i.rd] = old;
    return Flow::kNext;
  }
  const uint64_t flushes = h.tlb_flushes;
  const uint8_t dtlb = h.dtlb;
  const uint64_t base = csr_rmw_base(h, n, old);
  const uint64_t v = Op == CsrOp::kWrite ? src : Op == CsrOp::kSet ? base | src : base & ~src;
  if (!h.csr_write(n, i, v)) return illegal(h, i);
  h.x[i.rd] = old;
  // The block goes on (as it would after the loop's checks between blocks)
  // unless the write may have made an interrupt takeable, which the loop
  // takes before the next instruction, or changed translation, which a
  // decoded block (its pages) and a compiled unit (its data-TLB set, cached
  // translations) hold fixed.
  const bool ends = h.tlb_flushes != flushes || h.dtlb != dtlb || h.takeable_interrupts() != 0;
  return ends ? Flow::kEndBlock : Flow::kNext;
}

unsigned uimm(const DecodedInsn& i) { return (i.raw >> 15) & 31; }

template <CsrOp Op>
Flow csr_reg(Hart& h, const DecodedInsn& i) {
  return csr_access<Op>(h, i, h.x[i.rs1], i.rs1 == 0);
}
template <CsrOp Op>
Flow csr_imm(Hart& h, const DecodedInsn& i) {
  return csr_access<Op>(h, i, uimm(i), uimm(i) == 0);
}

// ---- environment calls and breakpoints ----
// Neither retires: the trap's epc is the instruction itself.

Flow ecall(Hart& h, const DecodedInsn& i) {
  const uint64_t c = h.priv == Priv::U   ? cause::kEcallU
                     : h.priv == Priv::S ? cause::kEcallS
                                         : cause::kEcallM;
  return h.raise(c, 0);
}

Flow ebreak(Hart& h, const DecodedInsn& i) { return h.raise(cause::kBreakpoint, i.pc); }

// ---- trap return ----
// Both pop the interrupt-enable stack, return to the saved privilege (leaving
// the least privileged mode, U, in xPP) and clear MPRV when the new mode is
// below M (privileged spec §3.1.6.1, §3.3.2). They end the block via kJump;
// block_exit asks the loop to re-check interrupts the return may have enabled.

Flow mret(Hart& h, const DecodedInsn& i) {
  if (h.priv != Priv::M) return illegal(h, i);
  const auto to = static_cast<Priv>((h.mstatus & kMPP) >> kMPPShift);
  uint64_t s = h.mstatus & ~(kMIE | kMPP);
  s |= ((s & kMPIE) ? kMIE : 0) | kMPIE;
  if (to != Priv::M) s &= ~kMPRV;
  h.mstatus = s;
  h.priv = to;
  update_dmode(h);
  h.pc = h.mepc;
  h.block_exit = true;
  return Flow::kJump;
}

Flow sret(Hart& h, const DecodedInsn& i) {
  if (h.priv == Priv::U || (h.priv == Priv::S && (h.mstatus & kTSR))) return illegal(h, i);
  const Priv to = (h.mstatus & kSPP) ? Priv::S : Priv::U;
  uint64_t s = h.mstatus & ~(kSIE | kSPP | kMPRV);
  s |= ((s & kSPIE) ? kSIE : 0) | kSPIE;
  h.mstatus = s;
  h.priv = to;
  update_dmode(h);
  h.pc = h.sepc;
  h.block_exit = true;
  return Flow::kJump;
}

// ---- wfi, sfence.vma ----

// WFI below M-mode is illegal in U-mode and in S-mode under TW=1 (taking the
// spec's bounded-time allowance as zero); otherwise the hart sleeps.
Flow wfi(Hart& h, const DecodedInsn& i) {
  if (h.priv == Priv::U || (h.priv == Priv::S && (h.mstatus & kTW))) return illegal(h, i);
  return Flow::kWfi;
}

// The soft TLB has no ASIDs, so rs2 is ignored (flushing more is allowed);
// rs1 != x0 flushes one page's translations, rs1 == x0 everything. Decoded
// blocks need nothing: each lookup re-translates its pc through the exec TLB.
Flow sfence_vma(Hart& h, const DecodedInsn& i) {
  if (h.priv == Priv::U || (h.priv == Priv::S && (h.mstatus & kTVM))) return illegal(h, i);
  if (i.rs1 != 0)
    h.tlb_flush_page(h.x[i.rs1]);
  else
    h.tlb_flush();
  return Flow::kEndBlock;
}

constexpr InsnSpec kTable[] = {
    {"csrrw", 0x00001073, 0x0000707f, Format::kI, isa::dispatch<csr_reg<CsrOp::kWrite>>, 0},
    {"csrrs", 0x00002073, 0x0000707f, Format::kI, isa::dispatch<csr_reg<CsrOp::kSet>>, 0},
    {"csrrc", 0x00003073, 0x0000707f, Format::kI, isa::dispatch<csr_reg<CsrOp::kClear>>, 0},
    {"csrrwi", 0x00005073, 0x0000707f, Format::kI, isa::dispatch<csr_imm<CsrOp::kWrite>>, 0},
    {"csrrsi", 0x00006073, 0x0000707f, Format::kI, isa::dispatch<csr_imm<CsrOp::kSet>>, 0},
    {"csrrci", 0x00007073, 0x0000707f, Format::kI, isa::dispatch<csr_imm<CsrOp::kClear>>, 0},
    {"ecall", 0x00000073, 0xffffffff, Format::kNone, isa::dispatch<ecall>, kEndsBlock},
    {"ebreak", 0x00100073, 0xffffffff, Format::kNone, isa::dispatch<ebreak>, kEndsBlock},
    {"sret", 0x10200073, 0xffffffff, Format::kNone, isa::dispatch<sret>, kEndsBlock},
    {"mret", 0x30200073, 0xffffffff, Format::kNone, isa::dispatch<mret>, kEndsBlock},
    {"wfi", 0x10500073, 0xffffffff, Format::kNone, isa::dispatch<wfi>, kEndsBlock},
    {"sfence.vma", 0x12000073, 0xfe007fff, Format::kR, isa::dispatch<sfence_vma>, kEndsBlock},
};

}  // namespace

std::span<const InsnSpec> rv_system_table() { return kTable; }

}  // namespace hs
