// RV64C: expansion of 16-bit encodings into their 32-bit equivalents.
//
// The decoder executes a compressed instruction as its expansion (with len 2),
// so RVC needs no handlers of its own. Expansion dispatches on quadrant and
// funct3 through a table of small functions, one per encoding group; each
// returns 0 for a reserved encoding, which the decoder turns into an
// illegal-instruction trap carrying the 16-bit encoding. HINT encodings
// (e.g. c.addi/c.li/c.mv/c.add/c.slli with rd = x0, c.lui with rd = x0) expand
// to the corresponding instruction writing x0, i.e. a no-op, as the spec allows.
// Encodings given to Zcb/Zcmp and friends in later specs are reserved here.
#include <cstdint>

#include "core/decoder.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

using namespace isa;

constexpr unsigned kRa = 1, kSp = 2;

// Field extraction. The primed registers (3-bit fields) name x8..x15.
constexpr unsigned rd_full(uint32_t c) { return bits(c, 11, 7); }
constexpr unsigned rs2_full(uint32_t c) { return bits(c, 6, 2); }
constexpr unsigned rd_p(uint32_t c) { return 8 + bits(c, 4, 2); }   // also rs2'
constexpr unsigned rs1_p(uint32_t c) { return 8 + bits(c, 9, 7); }  // also rd'
constexpr int32_t imm6(uint32_t c) {  // imm[5] = bit 12, imm[4:0] = bits 6:2, signed
  return static_cast<int32_t>(sext(bit(c, 12) << 5 | bits(c, 6, 2), 6));
}
constexpr uint32_t shamt6(uint32_t c) { return bit(c, 12) << 5 | bits(c, 6, 2); }

// Load/store offsets (all zero-extended, scaled by the access size).
constexpr int32_t off_w(uint32_t c) {  // c.lw/c.sw: [5:3]=12:10 [2]=6 [6]=5
  return static_cast<int32_t>(bits(c, 12, 10) << 3 | bit(c, 6) << 2 | bit(c, 5) << 6);
}
constexpr int32_t off_d(uint32_t c) {  // c.ld/c.sd/c.fld/c.fsd: [5:3]=12:10 [7:6]=6:5
  return static_cast<int32_t>(bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6);
}
constexpr int32_t off_lwsp(uint32_t c) {  // [5]=12 [4:2]=6:4 [7:6]=3:2
  return static_cast<int32_t>(bit(c, 12) << 5 | bits(c, 6, 4) << 2 | bits(c, 3, 2) << 6);
}
constexpr int32_t off_ldsp(uint32_t c) {  // [5]=12 [4:3]=6:5 [8:6]=4:2
  return static_cast<int32_t>(bit(c, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6);
}
constexpr int32_t off_swsp(uint32_t c) {  // [5:2]=12:9 [7:6]=8:7
  return static_cast<int32_t>(bits(c, 12, 9) << 2 | bits(c, 8, 7) << 6);
}
constexpr int32_t off_sdsp(uint32_t c) {  // [5:3]=12:10 [8:6]=9:7
  return static_cast<int32_t>(bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6);
}
constexpr int32_t off_j(uint32_t c) {  // [11|4|9:8|10|6|7|3:1|5] = bits 12..2
  const uint32_t u = bit(c, 12) << 11 | bit(c, 11) << 4 | bits(c, 10, 9) << 8 | bit(c, 8) << 10 |
                     bit(c, 7) << 6 | bit(c, 6) << 7 | bits(c, 5, 3) << 1 | bit(c, 2) << 5;
  return static_cast<int32_t>(sext(u, 12));
}
constexpr int32_t off_b(uint32_t c) {  // [8|4:3] = 12:10 (bits 9:7 are rs1'), [7:6|2:1|5] = 6:2
  const uint32_t u = bit(c, 12) << 8 | bits(c, 11, 10) << 3 | bits(c, 6, 5) << 6 |
                     bits(c, 4, 3) << 1 | bit(c, 2) << 5;
  return static_cast<int32_t>(sext(u, 9));
}

// Common expansions.
constexpr uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) {
  return encode_i(op::kOpImm, rd, 0, rs1, imm);
}
constexpr uint32_t load(uint32_t opcode, unsigned width, unsigned rd, unsigned rs1, int32_t off) {
  return encode_i(opcode, rd, width, rs1, off);
}
constexpr uint32_t store(uint32_t opcode, unsigned width, unsigned rs1, unsigned rs2, int32_t off) {
  return encode_s(opcode, width, rs1, rs2, off);
}
constexpr unsigned kW = 2, kD = 3;  // load/store funct3

// ---- quadrant 0 ----
uint32_t q0_addi4spn(uint32_t c) {  // nzuimm[5:4|9:6|2|3] = bits 12:5
  const int32_t imm = static_cast<int32_t>(bits(c, 12, 11) << 4 | bits(c, 10, 7) << 6 |
                                           bit(c, 6) << 2 | bit(c, 5) << 3);
  return imm == 0 ? 0 : addi(rd_p(c), kSp, imm);  // imm 0 (incl. 0x0000) is reserved
}
uint32_t q0_fld(uint32_t c) { return load(op::kLoadFp, kD, rd_p(c), rs1_p(c), off_d(c)); }
uint32_t q0_lw(uint32_t c) { return load(op::kLoad, kW, rd_p(c), rs1_p(c), off_w(c)); }
uint32_t q0_ld(uint32_t c) { return load(op::kLoad, kD, rd_p(c), rs1_p(c), off_d(c)); }
uint32_t q0_fsd(uint32_t c) { return store(op::kStoreFp, kD, rs1_p(c), rd_p(c), off_d(c)); }
uint32_t q0_sw(uint32_t c) { return store(op::kStore, kW, rs1_p(c), rd_p(c), off_w(c)); }
uint32_t q0_sd(uint32_t c) { return store(op::kStore, kD, rs1_p(c), rd_p(c), off_d(c)); }

// ---- quadrant 1 ----
uint32_t q1_addi(uint32_t c) { return addi(rd_full(c), rd_full(c), imm6(c)); }  // incl. c.nop
uint32_t q1_addiw(uint32_t c) {
  return rd_full(c) == 0 ? 0 : encode_i(op::kOpImm32, rd_full(c), 0, rd_full(c), imm6(c));
}
uint32_t q1_li(uint32_t c) { return addi(rd_full(c), 0, imm6(c)); }
uint32_t q1_lui_addi16sp(uint32_t c) {
  const unsigned rd = rd_full(c);
  if (rd == kSp) {  // c.addi16sp: nzimm[9] = 12, [4|6|8:7|5] = 6:2
    const uint32_t u =
        bit(c, 12) << 9 | bit(c, 6) << 4 | bit(c, 5) << 6 | bits(c, 4, 3) << 7 | bit(c, 2) << 5;
    return u == 0 ? 0 : addi(kSp, kSp, static_cast<int32_t>(sext(u, 10)));
  }
  const int32_t imm = imm6(c) * 4096;  // c.lui: nzimm[17:12], sign-extended
  return imm == 0 ? 0 : encode_u(op::kLui, rd, imm);
}
uint32_t q1_misc_alu(uint32_t c) {
  const unsigned rd = rs1_p(c);
  switch (bits(c, 11, 10)) {
    case 0:
      return encode_i(op::kOpImm, rd, 5, rd, static_cast<int32_t>(shamt6(c)));  // c.srli
    case 1:
      return encode_i(op::kOpImm, rd, 5, rd, static_cast<int32_t>(0x400 | shamt6(c)));  // c.srai
    case 2:
      return encode_i(op::kOpImm, rd, 7, rd, imm6(c));  // c.andi
    default:
      break;
  }
  // Register-register: bit 12 selects the W group; c.subw/c.addw only.
  static constexpr struct {
    uint32_t opcode, funct3, funct7;
  } kOps[8] = {
      {op::kOp, 0, 0x20},   {op::kOp, 4, 0},   {op::kOp, 6, 0}, {op::kOp, 7, 0},  // sub xor or and
      {op::kOp32, 0, 0x20}, {op::kOp32, 0, 0}, {0, 0, 0},       {0, 0, 0},        // subw addw - -
  };
  const auto& o = kOps[bit(c, 12) << 2 | bits(c, 6, 5)];
  return o.opcode == 0 ? 0 : encode_r(o.opcode, rd, o.funct3, rd, rd_p(c), o.funct7);
}
uint32_t q1_j(uint32_t c) { return encode_j(op::kJal, 0, off_j(c)); }
uint32_t q1_beqz(uint32_t c) { return encode_b(op::kBranch, 0, rs1_p(c), 0, off_b(c)); }
uint32_t q1_bnez(uint32_t c) { return encode_b(op::kBranch, 1, rs1_p(c), 0, off_b(c)); }

// ---- quadrant 2 ----
uint32_t q2_slli(uint32_t c) {
  return encode_i(op::kOpImm, rd_full(c), 1, rd_full(c), static_cast<int32_t>(shamt6(c)));
}
uint32_t q2_fldsp(uint32_t c) { return load(op::kLoadFp, kD, rd_full(c), kSp, off_ldsp(c)); }
uint32_t q2_lwsp(uint32_t c) {
  return rd_full(c) == 0 ? 0 : load(op::kLoad, kW, rd_full(c), kSp, off_lwsp(c));
}
uint32_t q2_ldsp(uint32_t c) {
  return rd_full(c) == 0 ? 0 : load(op::kLoad, kD, rd_full(c), kSp, off_ldsp(c));
}
// c.jr / c.mv / c.ebreak / c.jalr / c.add, selected by bit 12 and which of
// rs1 (bits 11:7) and rs2 (bits 6:2) are zero.
uint32_t q2_jr_mv_add(uint32_t c) {
  const unsigned rs1 = rd_full(c), rs2 = rs2_full(c);
  if (bit(c, 12) == 0) {
    if (rs2 != 0) return encode_r(op::kOp, rs1, 0, 0, rs2, 0);  // c.mv
    return rs1 == 0 ? 0 : encode_i(op::kJalr, 0, 0, rs1, 0);    // c.jr
  }
  if (rs2 != 0) return encode_r(op::kOp, rs1, 0, rs1, rs2, 0);  // c.add
  if (rs1 == 0) return 0x00100073;                              // c.ebreak
  return encode_i(op::kJalr, kRa, 0, rs1, 0);                   // c.jalr
}
uint32_t q2_fsdsp(uint32_t c) { return store(op::kStoreFp, kD, kSp, rs2_full(c), off_sdsp(c)); }
uint32_t q2_swsp(uint32_t c) { return store(op::kStore, kW, kSp, rs2_full(c), off_swsp(c)); }
uint32_t q2_sdsp(uint32_t c) { return store(op::kStore, kD, kSp, rs2_full(c), off_sdsp(c)); }

uint32_t reserved(uint32_t) { return 0; }

using Expander = uint32_t (*)(uint32_t);
// Indexed by quadrant * 8 + funct3. Quadrant 3 is not compressed.
// clang-format off
constexpr Expander kExpand[24] = {
    q0_addi4spn, q0_fld,  q0_lw,   q0_ld,           reserved,     q0_fsd,   q0_sw,   q0_sd,
    q1_addi,     q1_addiw, q1_li,  q1_lui_addi16sp, q1_misc_alu,  q1_j,     q1_beqz, q1_bnez,
    q2_slli,     q2_fldsp, q2_lwsp, q2_ldsp,        q2_jr_mv_add, q2_fsdsp, q2_swsp, q2_sdsp,
};
// clang-format on

}  // namespace

uint32_t expand_compressed(uint16_t c) {
  const unsigned quadrant = c & 3;
  if (quadrant == 3) return 0;
  return kExpand[quadrant * 8 + (c >> 13)](c);
}

}  // namespace hs
