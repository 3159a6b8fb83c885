// RV64M: integer multiplication and division.
//
// Division never traps in RISC-V: division by zero and the single signed
// overflow case (most negative / -1) have defined results (ISA manual, table
// "Semantics for division by zero and division overflow"). Those cases are
// handled before the host division, which would otherwise fault (SIGFPE).
#include <cstdint>
#include <limits>

#include "core/hart.hpp"
#include "core/insn.hpp"
#include "core/isa/dispatch.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

using isa::sext32;
using i128 = __int128;
using u128 = unsigned __int128;
using Op = uint64_t (*)(uint64_t, uint64_t);

constexpr int64_t s64(uint64_t v) { return static_cast<int64_t>(v); }
constexpr int32_t s32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }
constexpr uint64_t u(int64_t v) { return static_cast<uint64_t>(v); }

constexpr uint64_t mul(uint64_t a, uint64_t b) { return a * b; }
constexpr uint64_t mulh(uint64_t a, uint64_t b) {
  return u(static_cast<int64_t>((i128{s64(a)} * s64(b)) >> 64));
}
// Signed × unsigned: |a| <= 2^63 and b < 2^64, so the product fits a signed 128-bit value.
constexpr uint64_t mulhsu(uint64_t a, uint64_t b) {
  return u(static_cast<int64_t>((i128{s64(a)} * static_cast<i128>(b)) >> 64));
}
constexpr uint64_t mulhu(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((u128{a} * b) >> 64);
}

constexpr uint64_t div(uint64_t a, uint64_t b) {
  if (b == 0) return ~uint64_t{0};
  if (s64(a) == std::numeric_limits<int64_t>::min() && s64(b) == -1) return a;
  return u(s64(a) / s64(b));
}
constexpr uint64_t divu(uint64_t a, uint64_t b) { return b == 0 ? ~uint64_t{0} : a / b; }
constexpr uint64_t rem(uint64_t a, uint64_t b) {
  if (b == 0) return a;
  if (s64(a) == std::numeric_limits<int64_t>::min() && s64(b) == -1) return 0;
  return u(s64(a) % s64(b));
}
constexpr uint64_t remu(uint64_t a, uint64_t b) { return b == 0 ? a : a % b; }

// W forms operate on the low 32 bits and sign-extend the 32-bit result, also
// for the unsigned ones.
constexpr uint64_t mulw(uint64_t a, uint64_t b) { return sext32(a * b); }
constexpr uint64_t divw(uint64_t a, uint64_t b) {
  if (s32(b) == 0) return ~uint64_t{0};
  if (s32(a) == std::numeric_limits<int32_t>::min() && s32(b) == -1) return sext32(a);
  return sext32(static_cast<uint32_t>(s32(a) / s32(b)));
}
constexpr uint64_t divuw(uint64_t a, uint64_t b) {
  const uint32_t ua = static_cast<uint32_t>(a), ub = static_cast<uint32_t>(b);
  return ub == 0 ? ~uint64_t{0} : sext32(ua / ub);
}
constexpr uint64_t remw(uint64_t a, uint64_t b) {
  if (s32(b) == 0) return sext32(a);
  if (s32(a) == std::numeric_limits<int32_t>::min() && s32(b) == -1) return 0;
  return sext32(static_cast<uint32_t>(s32(a) % s32(b)));
}
constexpr uint64_t remuw(uint64_t a, uint64_t b) {
  const uint32_t ua = static_cast<uint32_t>(a), ub = static_cast<uint32_t>(b);
  return sext32(ub == 0 ? ua : ua % ub);
}

template <Op Fn>
Flow op(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = Fn(h.x[i.rs1], h.x[i.rs2]);
  return Flow::kNext;
}

constexpr uint32_t kR = 0xfe00707f;
constexpr Format R = Format::kR;

constexpr InsnSpec kTable[] = {
    {"mul", 0x02000033, kR, R, isa::dispatch<op<mul>>, 0},       {"mulh", 0x02001033, kR, R, isa::dispatch<op<mulh>>, 0},
    {"mulhsu", 0x02002033, kR, R, isa::dispatch<op<mulhsu>>, 0}, {"mulhu", 0x02003033, kR, R, isa::dispatch<op<mulhu>>, 0},
    {"div", 0x02004033, kR, R, isa::dispatch<op<div>>, 0},       {"divu", 0x02005033, kR, R, isa::dispatch<op<divu>>, 0},
    {"rem", 0x02006033, kR, R, isa::dispatch<op<rem>>, 0},       {"remu", 0x02007033, kR, R, isa::dispatch<op<remu>>, 0},
    {"mulw", 0x0200003b, kR, R, isa::dispatch<op<mulw>>, 0},     {"divw", 0x0200403b, kR, R, isa::dispatch<op<divw>>, 0},
    {"divuw", 0x0200503b, kR, R, isa::dispatch<op<divuw>>, 0},   {"remw", 0x0200603b, kR, R, isa::dispatch<op<remw>>, 0},
    {"remuw", 0x0200703b, kR, R, isa::dispatch<op<remuw>>, 0},
};

}  // namespace

std::span<const InsnSpec> rv_m_table() { return kTable; }

}  // namespace hs
