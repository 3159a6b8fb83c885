#include "core/decoder.hpp"

#include <algorithm>
#include <bit>

#include "core/hart.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

using isa::bit;
using isa::bits;

// DecodedInsn::spec of an illegal instruction: no table entry describes it.
constexpr uint16_t kIllegalSpec = 0xffff;

// Raises the illegal-instruction trap. The decoder stored the original
// (unexpanded) encoding in imm because that is what mtval must report.
Flow illegal(Hart& h, const DecodedInsn& i) {
  return h.raise(cause::kIllegalInsn, static_cast<uint32_t>(i.imm));
}

constexpr uint8_t rd_of(uint32_t raw) {
  const uint8_t rd = static_cast<uint8_t>(bits(raw, 11, 7));
  return rd == 0 ? kSinkReg : rd;
}

int64_t imm_i(uint32_t raw) { return static_cast<int32_t>(raw) >> 20; }
int64_t imm_s(uint32_t raw) {
  return (static_cast<int32_t>(raw) >> 25) * 32 + static_cast<int32_t>(bits(raw, 11, 7));
}
int64_t imm_b(uint32_t raw) {
  const uint32_t u =
      bit(raw, 31) << 12 | bit(raw, 7) << 11 | bits(raw, 30, 25) << 5 | bits(raw, 11, 8) << 1;
  return isa::sext(u, 13);
}
int64_t imm_u(uint32_t raw) { return static_cast<int32_t>(raw & 0xfffff000u); }
int64_t imm_j(uint32_t raw) {
  const uint32_t u =
      bit(raw, 31) << 20 | bits(raw, 19, 12) << 12 | bit(raw, 20) << 11 | bits(raw, 30, 21) << 1;
  return isa::sext(u, 21);
}

// Fills the operand fields named by `f`. Fields a format does not name stay 0,
// except rd, which is kSinkReg whenever the instruction writes no integer
// register, so a handler writing x[rd] can never clobber a real register.
void extract(Format f, uint32_t raw, DecodedInsn& d) {
  const uint8_t rs1 = static_cast<uint8_t>(bits(raw, 19, 15));
  const uint8_t rs2 = static_cast<uint8_t>(bits(raw, 24, 20));
  d.rd = kSinkReg;
  switch (f) {
    case Format::kR4:
      d.rs3 = static_cast<uint8_t>(bits(raw, 31, 27));
      [[fallthrough]];
    case Format::kR:
      d.rd = rd_of(raw), d.rs1 = rs1, d.rs2 = rs2;
      break;
    case Format::kI:
      d.rd = rd_of(raw), d.rs1 = rs1, d.imm = static_cast<int32_t>(imm_i(raw));
      break;
    case Format::kS:
      d.rs1 = rs1, d.rs2 = rs2, d.imm = static_cast<int32_t>(imm_s(raw));
      break;
    case Format::kB:
      d.rs1 = rs1, d.rs2 = rs2, d.imm = static_cast<int32_t>(imm_b(raw));
      break;
    case Format::kU:
      d.rd = rd_of(raw), d.imm = static_cast<int32_t>(imm_u(raw));
      break;
    case Format::kJ:
      d.rd = rd_of(raw), d.imm = static_cast<int32_t>(imm_j(raw));
      break;
    case Format::kNone:
      break;
  }
}

DecodedInsn make_illegal(uint32_t original, uint32_t raw, uint64_t pc, uint8_t len,
                         uint8_t& flags) {
  flags = kEndsBlock;
  DecodedInsn d{};
  d.fn = threaded<illegal>;
  d.pc = pc;
  d.imm = static_cast<int32_t>(original);
  d.raw = raw;
  d.rd = kSinkReg;
  d.len = len;
  d.spec = kIllegalSpec;
  return d;
}

}  // namespace

Decoder::Decoder() {
  for (auto table : {rv_i_table(), rv_m_table(), rv_a_table(), rv_fd_table(), rv_system_table()})
    specs_.insert(specs_.end(), table.begin(), table.end());
  for (size_t k = 0; k < specs_.size(); ++k)
    by_opcode_[specs_[k].match & 0x7f].push_back(static_cast<uint16_t>(k));
  // Most specific first: if two specs ever did overlap (the decoder test
  // forbids it), the narrower encoding would win, as in the ISA manual's
  // convention of carving special cases out of a general one.
  for (auto& group : by_opcode_) {
    std::stable_sort(group.begin(), group.end(), [this](uint16_t a, uint16_t b) {
      return std::popcount(specs_[a].mask) > std::popcount(specs_[b].mask);
    });
  }
}

DecodedInsn Decoder::decode(uint32_t raw, uint64_t pc, uint8_t& flags) const {
  uint32_t original = raw;
  uint8_t len = 4;
  if (length(raw) == 2) {
    original = raw & 0xffff;
    len = 2;
    raw = expand_compressed(static_cast<uint16_t>(original));
    if (raw == 0) return make_illegal(original, original, pc, len, flags);
  }
  // Specs only ever match 32-bit encodings (low bits 11), so an expansion or a
  // 32-bit word always lands in a group whose opcode has them set.
  for (uint16_t k : by_opcode_[raw & 0x7f]) {
    const InsnSpec& s = specs_[k];
    if ((raw & s.mask) != s.match) continue;
    flags = s.flags;
    DecodedInsn d{};
    d.fn = s.fn.threaded;
    d.pc = pc;
    d.raw = raw;
    d.len = len;
    d.spec = k;
    extract(s.format, raw, d);
    return d;
  }
  return make_illegal(original, raw, pc, len, flags);
}

const char* Decoder::name(const DecodedInsn& d) const {
  return d.spec < specs_.size() ? specs_[d.spec].name : "illegal";
}

}  // namespace hs
