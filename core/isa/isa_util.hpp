// Small inline helpers shared by the instruction-set files in core/isa/ and
// their tests: sign extension, bit-field extraction, major opcodes, and
// encoders for the base instruction formats (RVC expansion builds 32-bit
// encodings with them; tests assemble code with them).
//
// Stable interface: other extension files include this header. Add, don't change.
#pragma once

#include <cstdint>

#include "core/insn.hpp"

namespace hs::isa {

// Sign-extends the low `bits` bits of v (1 <= bits <= 64).
constexpr int64_t sext(uint64_t v, unsigned bits) {
  const unsigned s = 64 - bits;
  return static_cast<int64_t>(v << s) >> s;
}

// RV64 "W" result: the low 32 bits of v, sign-extended to 64.
constexpr uint64_t sext32(uint64_t v) {
  return static_cast<uint64_t>(
      static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))));
}

// Bits [hi:lo] of v, right-aligned (hi >= lo, hi < 32).
constexpr uint32_t bits(uint32_t v, unsigned hi, unsigned lo) {
  return static_cast<uint32_t>((uint64_t{v} >> lo) & ((uint64_t{1} << (hi - lo + 1)) - 1));
}
constexpr uint32_t bit(uint32_t v, unsigned n) { return (v >> n) & 1; }

// Register fields straight from the (expanded) encoding. The decoder rewrites
// an integer rd of x0 to kSinkReg; a floating-point destination f0 is a real
// register, so FP handlers that write f[rd] take the index from frd().
constexpr unsigned frd(const DecodedInsn& i) { return (i.raw >> 7) & 31; }

// Major opcodes (bits 6:0 of a 32-bit encoding).
namespace op {
constexpr uint32_t kLoad = 0x03, kLoadFp = 0x07, kMiscMem = 0x0f, kOpImm = 0x13, kAuipc = 0x17,
                   kOpImm32 = 0x1b, kStore = 0x23, kStoreFp = 0x27, kAmo = 0x2f, kOp = 0x33,
                   kLui = 0x37, kOp32 = 0x3b, kMadd = 0x43, kMsub = 0x47, kNmsub = 0x4b,
                   kNmadd = 0x4f, kOpFp = 0x53, kBranch = 0x63, kJalr = 0x67, kJal = 0x6f,
                   kSystem = 0x73;
}  // namespace op

// Encoders. Register numbers are 0..31; immediates are the architectural
// values (byte offsets for branches/jumps, the full 32-bit value for U-type:
// only bits 31:12 are kept). Out-of-range bits are silently truncated.
constexpr uint32_t encode_r(uint32_t opcode, unsigned rd, unsigned funct3, unsigned rs1,
                            unsigned rs2, uint32_t funct7) {
  return (funct7 & 0x7f) << 25 | (rs2 & 31) << 20 | (rs1 & 31) << 15 | (funct3 & 7) << 12 |
         (rd & 31) << 7 | (opcode & 0x7f);
}
constexpr uint32_t encode_i(uint32_t opcode, unsigned rd, unsigned funct3, unsigned rs1,
                            int32_t imm) {
  return (static_cast<uint32_t>(imm) & 0xfff) << 20 | (rs1 & 31) << 15 | (funct3 & 7) << 12 |
         (rd & 31) << 7 | (opcode & 0x7f);
}
constexpr uint32_t encode_s(uint32_t opcode, unsigned funct3, unsigned rs1, unsigned rs2,
                            int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return bits(u, 11, 5) << 25 | (rs2 & 31) << 20 | (rs1 & 31) << 15 | (funct3 & 7) << 12 |
         bits(u, 4, 0) << 7 | (opcode & 0x7f);
}
constexpr uint32_t encode_b(uint32_t opcode, unsigned funct3, unsigned rs1, unsigned rs2,
                            int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return bit(u, 12) << 31 | bits(u, 10, 5) << 25 | (rs2 & 31) << 20 | (rs1 & 31) << 15 |
         (funct3 & 7) << 12 | bits(u, 4, 1) << 8 | bit(u, 11) << 7 | (opcode & 0x7f);
}
constexpr uint32_t encode_u(uint32_t opcode, unsigned rd, int32_t imm) {
  return (static_cast<uint32_t>(imm) & 0xfffff000u) | (rd & 31) << 7 | (opcode & 0x7f);
}
constexpr uint32_t encode_j(uint32_t opcode, unsigned rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return bit(u, 20) << 31 | bits(u, 10, 1) << 21 | bit(u, 11) << 20 | bits(u, 19, 12) << 12 |
         (rd & 31) << 7 | (opcode & 0x7f);
}

}  // namespace hs::isa
