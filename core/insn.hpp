// The decoded-instruction form and the instruction table entry type.
//
// A block is an array of DecodedInsn; the interpreter calls `fn` for each.
// Handlers live one file per extension in core/isa/, each file exporting its
// slice of the instruction table next to the handlers.
#pragma once

#include <cstdint>
#include <span>

namespace hs {

class Hart;
struct DecodedInsn;

// What a handler tells the block loop.
enum class Flow : uint8_t {
  kNext,      // fall through to the next instruction of the block
  kJump,      // handler set hart.pc; the block ends
  kEndBlock,  // instruction retired, continue at pc+len, but end the block so the
              // loop re-checks interrupts/deadlines (CSR writes, MMIO, fences)
  kTrap,      // handler set hart.trap_cause/trap_tval; instruction did not retire
  kWfi,       // WFI retired; the loop idles until an interrupt is pending
};

using Handler = Flow (*)(Hart&, const DecodedInsn&);

// Register index that receives writes to x0: the decoder rewrites rd==0 to this,
// so handlers write x[rd] unconditionally and x[0] stays zero.
constexpr uint8_t kSinkReg = 32;

// 32 bytes: decoded blocks are the interpreter's working set, keep them dense.
struct DecodedInsn {
  Handler fn;
  uint64_t pc;   // guest virtual pc of this instruction
  int32_t imm;   // format-dependent immediate (every RISC-V immediate fits; handlers
                 // widen it with static_cast<uint64_t>, which sign-extends); for
                 // illegal instructions: the original (unexpanded) encoding (tval)
  uint32_t raw;  // 32-bit encoding (compressed instructions are expanded)
  uint8_t rd, rs1, rs2, rs3;  // rd==kSinkReg when the encoding names x0
  uint8_t len;                // 2 or 4
  uint8_t idx;                // index within its block (position offset)
  uint16_t spec;              // index into the instruction table (disassembly, stats)

  // Field helpers for handlers that need more than the generic operands.
  constexpr unsigned funct3() const { return (raw >> 12) & 7; }
  constexpr unsigned rm() const { return (raw >> 12) & 7; }
  constexpr unsigned csr() const { return (raw >> 20) & 0xfff; }
  constexpr bool writes_x0() const { return rd == kSinkReg; }
};
static_assert(sizeof(DecodedInsn) == 32);

// The sentinel after the last instruction of a decoded block (and of any
// instruction run on its own): threaded handlers fall through into it, and it
// ends the run with Flow::kNext (every instruction before it retired).
constexpr Flow end_of_block(Hart&, const DecodedInsn&) { return Flow::kNext; }
constexpr DecodedInsn kEndOfBlock{end_of_block, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

// How the decoder extracts operands for an encoding.
enum class Format : uint8_t {
  kR,     // rd, rs1, rs2
  kR4,    // rd, rs1, rs2, rs3 (fused multiply-add)
  kI,     // rd, rs1, imm[11:0] sign-extended (also shifts: shamt = imm & 63; CSR: csr())
  kS,     // rs1, rs2, store offset
  kB,     // rs1, rs2, branch offset
  kU,     // rd, imm[31:12] << 12 sign-extended
  kJ,     // rd, jump offset
  kNone,  // no operands decoded (fence, ecall, ...)
};

enum InsnFlags : uint8_t {
  kEndsBlock = 1,  // control transfer / system instruction: last in its block
};

// An instruction's two entry points. `exec` runs the one instruction and
// returns its flow (the single-instruction handler a compiled tier calls for
// instructions it does not lower); `threaded` is exec wrapped for threaded
// dispatch (core/hart.hpp), what DecodedInsn::fn holds. Tables build both from
// one handler with isa::dispatch<F> (core/isa/dispatch.hpp).
struct InsnHandlers {
  Handler threaded;
  Handler exec;
};

// One line of the instruction table: name, match, mask, format, handlers.
// Its index in Decoder::specs() is the instruction's operation id
// (DecodedInsn::spec).
struct InsnSpec {
  const char* name;
  uint32_t match;
  uint32_t mask;
  Format format;
  InsnHandlers fn;
  uint8_t flags;
};

// Table slices, one per extension file in core/isa/.
std::span<const InsnSpec> rv_i_table();       // RV64I + Zifencei + fence
std::span<const InsnSpec> rv_m_table();       // M
std::span<const InsnSpec> rv_a_table();       // A
std::span<const InsnSpec> rv_fd_table();      // F + D
std::span<const InsnSpec> rv_system_table();  // Zicsr, ecall/ebreak, mret/sret, wfi, sfence.vma

}  // namespace hs
