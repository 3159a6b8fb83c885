// F and D extension semantics: rounding modes (RMM included), IEEE exception
// flags, canonical NaNs, NaN boxing, min/max, conversions with saturation,
// classification, comparisons, fused multiply-add, mstatus.FS gating and
// loads/stores. Every result is checked as an exact bit pattern together with
// the exact fflags it raised.
#include <catch2/catch.hpp>
#include <cstdint>
#include <sstream>

#include "core/csr.hpp"
#include "core/isa/fp_util.hpp"
#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using namespace hs::isa::fflag;
using hs::test::kRamBase;
using hs::test::TestMachine;

namespace {

enum Fmt : unsigned { kS = 0, kD = 1 };
enum Funct5 : unsigned {
  kAdd = 0x00,
  kSub = 0x01,
  kMul = 0x02,
  kDiv = 0x03,
  kSgnj = 0x04,
  kMinMax = 0x05,
  kCvtFF = 0x08,
  kSqrt = 0x0b,
  kCmp = 0x14,
  kCvtToInt = 0x18,
  kCvtFromInt = 0x1a,
  kMvToInt = 0x1c,
  kMvFromInt = 0x1e,
};
// rs2 selector of the integer conversions.
enum IntType : unsigned { kW = 0, kWU = 1, kL = 2, kLU = 3 };
constexpr unsigned kRNE = frm::kRNE, kRTZ = frm::kRTZ, kRDN = frm::kRDN, kRUP = frm::kRUP,
                   kRMM = frm::kRMM, kDyn = frm::kDyn;

constexpr uint32_t opfp(Funct5 f5, Fmt fmt, unsigned rd, unsigned rs1, unsigned rs2, unsigned rm) {
  return encode_r(op::kOpFp, rd, rm, rs1, rs2, f5 << 2 | fmt);
}
constexpr uint32_t r4(uint32_t opcode, Fmt fmt, unsigned rd, unsigned rs1, unsigned rs2,
                      unsigned rs3, unsigned rm) {
  return encode_r(opcode, rd, rm, rs1, rs2, rs3 << 2 | fmt);
}

// A result and the flags it raised (fflags starts at 0).
struct R {
  uint64_t v;
  unsigned flags;
  bool operator==(const R&) const = default;
};

// Single-precision constants.
constexpr uint32_t kOneS = 0x3f800000, kTwoS = 0x40000000, kThreeS = 0x40400000,
                   kHalfS = 0x3f000000, kMOneS = 0xbf800000, kPZeroS = 0, kNZeroS = 0x80000000,
                   kInfS = 0x7f800000, kNInfS = 0xff800000, kQNanS = 0x7fc00000,
                   kSNanS = 0x7f800001, kMaxS = 0x7f7fffff, kMinNormS = 0x00800000;
// Double-precision constants.
constexpr uint64_t kOneD = 0x3ff0000000000000, kTwoD = 0x4000000000000000,
                   kThreeD = 0x4008000000000000, kHalfD = 0x3fe0000000000000,
                   kMOneD = 0xbff0000000000000, kNZeroD = 0x8000000000000000,
                   kInfD = 0x7ff0000000000000, kNInfD = 0xfff0000000000000,
                   kQNanD = 0x7ff8000000000000, kSNanD = 0x7ff0000000000001,
                   kMaxD = 0x7fefffffffffffff;

constexpr uint64_t box(uint32_t v) { return kNanBox | v; }

// A machine with FS = Initial, so F/D instructions are legal and a write
// visibly moves FS to Dirty.
struct Fp : TestMachine {
  Fp() {
    h().mstatus |= 1ull << mstatus::kFSShift;
    h().block_exit = false;  // reset asks the loop to end the block; no loop here
  }

  // Runs `raw` (operands in f1, f2, f3 / x1; result in f4 or x4).
  void run(uint32_t raw) { REQUIRE(exec(raw) == Flow::kNext); }
  // The single in f4; the box is checked here so every test covers it.
  R single() {
    REQUIRE((h().f[4] >> 32) == 0xffffffffu);
    return {static_cast<uint32_t>(h().f[4]), h().fflags};
  }
  R dbl() { return {h().f[4], h().fflags}; }
  R xreg() { return {h().x[4], h().fflags}; }
};

R s2(Funct5 f5, uint32_t a, uint32_t b, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = box(a), t.h().f[2] = box(b);
  t.run(opfp(f5, kS, 4, 1, 2, rm));
  return t.single();
}
R d2(Funct5 f5, uint64_t a, uint64_t b, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = a, t.h().f[2] = b;
  t.run(opfp(f5, kD, 4, 1, 2, rm));
  return t.dbl();
}
R s_sqrt(uint32_t a, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = box(a);
  t.run(opfp(kSqrt, kS, 4, 1, 0, rm));
  return t.single();
}
R d_sqrt(uint64_t a, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = a;
  t.run(opfp(kSqrt, kD, 4, 1, 0, rm));
  return t.dbl();
}
R s4(uint32_t opcode, uint32_t a, uint32_t b, uint32_t c, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = box(a), t.h().f[2] = box(b), t.h().f[3] = box(c);
  t.run(r4(opcode, kS, 4, 1, 2, 3, rm));
  return t.single();
}
R d4(uint32_t opcode, uint64_t a, uint64_t b, uint64_t c, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = a, t.h().f[2] = b, t.h().f[3] = c;
  t.run(r4(opcode, kD, 4, 1, 2, 3, rm));
  return t.dbl();
}
// fcvt.{w,wu,l,lu}.{s,d}: x4 from f1 (raw register bits; singles are boxed).
R to_int(Fmt fmt, IntType type, uint64_t a, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = fmt == kS ? box(static_cast<uint32_t>(a)) : a;
  t.run(opfp(kCvtToInt, fmt, 4, 1, type, rm));
  return t.xreg();
}
// fcvt.{s,d}.{w,wu,l,lu}: f4 from x1.
R from_int(Fmt fmt, IntType type, uint64_t x, unsigned rm = kRNE) {
  Fp t;
  t.h().x[1] = x;
  t.run(opfp(kCvtFromInt, fmt, 4, 1, type, rm));
  return fmt == kS ? t.single() : t.dbl();
}
// fcvt.s.d (f1 holds a double) and fcvt.d.s (f1 holds a boxed single).
R s_from_d(uint64_t a, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = a;
  t.run(opfp(kCvtFF, kS, 4, 1, 1, rm));
  return t.single();
}
R d_from_s(uint32_t a, unsigned rm = kRNE) {
  Fp t;
  t.h().f[1] = box(a);
  t.run(opfp(kCvtFF, kD, 4, 1, 0, rm));
  return t.dbl();
}
// feq/flt/fle (funct3 2/1/0) and fclass: x4 from f1, f2 (raw register bits).
R cmp(Fmt fmt, unsigned funct3, uint64_t a, uint64_t b) {
  Fp t;
  t.h().f[1] = a, t.h().f[2] = b;
  t.run(opfp(kCmp, fmt, 4, 1, 2, funct3));
  return t.xreg();
}
constexpr unsigned kFeq = 2, kFlt = 1, kFle = 0;
uint64_t fclass(Fmt fmt, uint64_t a) {
  Fp t;
  t.h().f[1] = a;
  t.run(opfp(kMvToInt, fmt, 4, 1, 0, 1));
  REQUIRE(t.h().fflags == 0);
  return t.h().x[4];
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<R> {
  static std::string convert(const R& r) {
    std::ostringstream os;
    os << "{0x" << std::hex << r.v << ", flags 0x" << r.flags << "}";
    return os.str();
  }
};
}  // namespace Catch

TEST_CASE("every rounding mode on inexact quotients and square roots", "[fd]") {
  // 1/3 and -1/3: the directed modes pick opposite neighbours by sign.
  const uint32_t pos[] = {0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab};
  const uint32_t neg[] = {0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab};
  for (unsigned rm = kRNE; rm <= kRMM; ++rm) {
    CAPTURE(rm);
    CHECK(s2(kDiv, kOneS, kThreeS, rm) == R{pos[rm], kNX});
    CHECK(s2(kDiv, kMOneS, kThreeS, rm) == R{neg[rm], kNX});
  }
  CHECK(d2(kDiv, kOneD, kThreeD, kRNE) == R{0x3fd5555555555555, kNX});
  CHECK(d2(kDiv, kOneD, kThreeD, kRUP) == R{0x3fd5555555555556, kNX});
  CHECK(d2(kDiv, kOneD, kThreeD, kRMM) == R{0x3fd5555555555555, kNX});
  // sqrt(2) is never a tie, so RMM agrees with RNE.
  const uint64_t sqrt2[] = {0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcc,
                            0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcd};
  for (unsigned rm = kRNE; rm <= kRMM; ++rm) {
    CAPTURE(rm);
    CHECK(d_sqrt(kTwoD, rm) == R{sqrt2[rm], kNX});
    CHECK(s_sqrt(kTwoS, rm) == R{rm == kRUP ? 0x3fb504f4u : 0x3fb504f3u, kNX});
  }
  CHECK(s_sqrt(0x40800000) == R{kTwoS, 0});  // sqrt(4) exact
}

TEST_CASE("RMM rounds ties away from zero where RNE rounds to even", "[fd]") {
  // 1 + 2^-24: exactly halfway between 1.0 (even) and its successor.
  const uint32_t up[] = {kOneS, kOneS, kOneS, 0x3f800001, 0x3f800001};
  const uint32_t down[] = {kMOneS, kMOneS, 0xbf800001, kMOneS, 0xbf800001};
  for (unsigned rm = kRNE; rm <= kRMM; ++rm) {
    CAPTURE(rm);
    CHECK(s2(kAdd, kOneS, 0x33800000, rm) == R{up[rm], kNX});
    CHECK(s2(kAdd, kMOneS, 0xb3800000, rm) == R{down[rm], kNX});
  }
  // A tie whose lower neighbour is odd: RNE and RMM both round away.
  CHECK(s2(kAdd, 0x3f800001, 0x33800000, kRNE) == R{0x3f800002, kNX});
  CHECK(s2(kAdd, 0x3f800001, 0x33800000, kRMM) == R{0x3f800002, kNX});
  CHECK(s2(kAdd, 0x3f800001, 0x33800000, kRTZ) == R{0x3f800001, kNX});
  // Double: 1 + 2^-53 and -(1 + 2^-53).
  CHECK(d2(kAdd, kOneD, 0x3ca0000000000000, kRNE) == R{kOneD, kNX});
  CHECK(d2(kAdd, kOneD, 0x3ca0000000000000, kRMM) == R{0x3ff0000000000001, kNX});
  CHECK(d2(kAdd, kMOneD, 0xbca0000000000000, kRNE) == R{kMOneD, kNX});
  CHECK(d2(kAdd, kMOneD, 0xbca0000000000000, kRMM) == R{0xbff0000000000001, kNX});
  // Products: 3 * (1 + 3 ulp) = 3 + 4.5 ulp.
  CHECK(s2(kMul, kThreeS, 0x3f800003, kRNE) == R{0x40400004, kNX});
  CHECK(s2(kMul, kThreeS, 0x3f800003, kRMM) == R{0x40400005, kNX});
  CHECK(d2(kMul, kThreeD, 0x3ff0000000000003, kRNE) == R{0x4008000000000004, kNX});
  CHECK(d2(kMul, kThreeD, 0x3ff0000000000003, kRMM) == R{0x4008000000000005, kNX});
  CHECK(d2(kMul, kThreeD | kNZeroD, 0x3ff0000000000003, kRMM) == R{0xc008000000000005, kNX});
  // Fused: (1 + 2^-52)^2 - 1 = 2^-51 + 2^-104, a tie at 2^-51's precision.
  CHECK(d4(op::kMadd, 0x3ff0000000000001, 0x3ff0000000000001, kMOneD, kRNE) ==
        R{0x3cc0000000000000, kNX});
  CHECK(d4(op::kMadd, 0x3ff0000000000001, 0x3ff0000000000001, kMOneD, kRMM) ==
        R{0x3cc0000000000001, kNX});
  // Ties in the subnormal range: 5 * 2^-149 / 2 and 5 * 2^-1074 / 2.
  CHECK(s2(kDiv, 5, kTwoS, kRNE) == R{2, kUF | kNX});
  CHECK(s2(kDiv, 5, kTwoS, kRMM) == R{3, kUF | kNX});
  CHECK(d2(kDiv, 5, kTwoD, kRNE) == R{2, kUF | kNX});
  CHECK(d2(kDiv, 5, kTwoD, kRMM) == R{3, kUF | kNX});
  // Half the smallest subnormal: RNE flushes to zero, RMM keeps it.
  CHECK(s2(kDiv, 1, kTwoS, kRNE) == R{kPZeroS, kUF | kNX});
  CHECK(s2(kDiv, 1, kTwoS, kRMM) == R{1, kUF | kNX});
  // Exact results are the same in every mode and raise nothing.
  CHECK(s2(kAdd, kOneS, kTwoS, kRMM) == R{kThreeS, 0});
  CHECK(d2(kSub, kOneD, kOneD, kRMM) == R{0, 0});
}

TEST_CASE("dynamic rounding mode comes from frm", "[fd]") {
  Fp t;
  t.h().frm = kRUP;
  t.h().f[1] = box(kOneS), t.h().f[2] = box(kThreeS);
  t.run(opfp(kDiv, kS, 4, 1, 2, kDyn));
  CHECK(t.single() == R{0x3eaaaaab, kNX});
  t.h().frm = kRTZ;
  t.h().fflags = 0;
  t.run(opfp(kDiv, kS, 4, 1, 2, kDyn));
  CHECK(t.single() == R{0x3eaaaaaa, kNX});
  t.h().frm = kRMM;
  t.h().fflags = 0;
  t.h().f[1] = box(kOneS), t.h().f[2] = box(0x33800000);
  t.run(opfp(kAdd, kS, 4, 1, 2, kDyn));
  CHECK(t.single() == R{0x3f800001, kNX});
}

TEST_CASE("reserved rounding modes are illegal instructions", "[fd]") {
  for (unsigned rm : {5u, 6u}) {
    Fp t;
    const uint32_t raw = opfp(kAdd, kS, 4, 1, 2, rm);
    t.h().f[4] = 0x1234;
    CHECK(t.exec(raw) == Flow::kTrap);
    CHECK(t.h().trap_cause == cause::kIllegalInsn);
    CHECK(t.h().trap_tval == raw);
    CHECK(t.h().f[4] == 0x1234);
  }
  for (uint8_t frm : {5, 6, 7}) {
    Fp t;
    t.h().frm = frm;
    CHECK(t.exec(opfp(kMul, kD, 4, 1, 2, kDyn)) == Flow::kTrap);
    // Even a conversion that is always exact checks its rounding mode.
    CHECK(t.exec(opfp(kCvtFromInt, kD, 4, 1, kW, kDyn)) == Flow::kTrap);
    CHECK(t.exec(r4(op::kMadd, kS, 4, 1, 2, 3, kDyn)) == Flow::kTrap);
    CHECK(t.h().trap_cause == cause::kIllegalInsn);
  }
  // Instructions without a rounding mode ignore frm.
  Fp t;
  t.h().frm = 5;
  t.h().f[1] = box(kOneS), t.h().f[2] = box(kMOneS);
  t.run(opfp(kSgnj, kS, 4, 1, 2, 0));
  CHECK(t.single() == R{kMOneS, 0});
}

TEST_CASE("exception flags: NX, DZ, NV", "[fd]") {
  CHECK(s2(kDiv, kOneS, kThreeS) == R{0x3eaaaaab, kNX});
  CHECK(s2(kDiv, kOneS, kPZeroS) == R{kInfS, kDZ});
  CHECK(s2(kDiv, kMOneS, kPZeroS) == R{kNInfS, kDZ});
  CHECK(d2(kDiv, kOneD, kNZeroD) == R{kNInfD, kDZ});
  CHECK(s2(kDiv, kPZeroS, kPZeroS) == R{kQNanS, kNV});
  CHECK(s_sqrt(kMOneS) == R{kQNanS, kNV});
  CHECK(d_sqrt(kMOneD) == R{kQNanD, kNV});
  CHECK(s_sqrt(kNZeroS) == R{kNZeroS, 0});  // sqrt(-0) = -0
  CHECK(s2(kSub, kInfS, kInfS) == R{kQNanS, kNV});
  CHECK(d2(kAdd, kInfD, kNInfD) == R{kQNanD, kNV});
  CHECK(d2(kMul, kInfD, 0) == R{kQNanD, kNV});
  CHECK(s2(kAdd, kInfS, kMaxS) == R{kInfS, 0});  // infinities are exact
  CHECK(s2(kDiv, kOneS, kInfS) == R{kPZeroS, 0});
  // Flags accrue: they are ORed into what fflags already holds.
  Fp t;
  t.h().fflags = kDZ;
  t.h().f[1] = box(kOneS), t.h().f[2] = box(kThreeS);
  t.run(opfp(kDiv, kS, 4, 1, 2, kRNE));
  CHECK(t.h().fflags == (kDZ | kNX));
}

TEST_CASE("overflow: mode decides between infinity and the largest finite value", "[fd]") {
  const uint32_t pos[] = {kInfS, kMaxS, kMaxS, kInfS, kInfS};
  const uint32_t neg[] = {0xff800000, 0xff7fffff, 0xff800000, 0xff7fffff, 0xff800000};
  for (unsigned rm = kRNE; rm <= kRMM; ++rm) {
    CAPTURE(rm);
    CHECK(s2(kMul, kMaxS, kTwoS, rm) == R{pos[rm], kOF | kNX});
    CHECK(s2(kMul, kMaxS | kNZeroS, kTwoS, rm) == R{neg[rm], kOF | kNX});
  }
  CHECK(d2(kMul, kMaxD, kTwoD, kRNE) == R{kInfD, kOF | kNX});
  CHECK(d2(kMul, kMaxD, kTwoD, kRTZ) == R{kMaxD, kOF | kNX});
  CHECK(d2(kMul, kMaxD, kTwoD, kRMM) == R{kInfD, kOF | kNX});
  // max + half an ulp: a tie, rounds to infinity in RNE (max is odd) and RMM;
  // truncating modes stay finite without overflowing.
  CHECK(s2(kAdd, kMaxS, 0x73000000, kRNE) == R{kInfS, kOF | kNX});
  CHECK(s2(kAdd, kMaxS, 0x73000000, kRMM) == R{kInfS, kOF | kNX});
  CHECK(s2(kAdd, kMaxS, 0x73000000, kRTZ) == R{kMaxS, kNX});
  // max + a quarter ulp rounds back to max except upwards.
  CHECK(s2(kAdd, kMaxS, 0x72800000, kRMM) == R{kMaxS, kNX});
  CHECK(s2(kAdd, kMaxS, 0x72800000, kRUP) == R{kInfS, kOF | kNX});
}

TEST_CASE("underflow: tiny and inexact, tininess detected after rounding", "[fd]") {
  // Tiny but exact: no flags at all.
  CHECK(s2(kMul, kMinNormS, kHalfS) == R{0x00400000, 0});
  CHECK(d2(kMul, 0x0010000000000000, kHalfD) == R{0x0008000000000000, 0});
  // Tiny and inexact.
  CHECK(s2(kMul, 0x00800001, kHalfS, kRNE) == R{0x00400000, kUF | kNX});
  CHECK(s2(kMul, 0x00800001, kHalfS, kRMM) == R{0x00400001, kUF | kNX});
  CHECK(d2(kMul, 0x0010000000000001, kHalfD, kRUP) == R{0x0008000000000001, kUF | kNX});
  CHECK(s_from_d(0x0010000000000000, kRNE) == R{kPZeroS, kUF | kNX});
  CHECK(s_from_d(0x0010000000000000, kRUP) == R{1, kUF | kNX});
  // (18631 * 2^-75) * (1801 * 2^-76) = 2^-126 * (1 - 2^-25): below the
  // smallest normal before rounding, but rounding to 24 bits with an unbounded
  // exponent reaches 2^-126 in the nearest modes, so it is not tiny: NX only.
  // Rounding down it is tiny.
  const uint32_t a = 0x21118e00, b = 0x1ee12000;
  CHECK(s2(kMul, a, b, kRNE) == R{kMinNormS, kNX});
  CHECK(s2(kMul, a, b, kRMM) == R{kMinNormS, kNX});
  CHECK(s2(kMul, a, b, kRUP) == R{kMinNormS, kNX});
  CHECK(s2(kMul, a, b, kRTZ) == R{0x007fffff, kUF | kNX});
  CHECK(s2(kMul, a, b, kRDN) == R{0x007fffff, kUF | kNX});
  // Slightly smaller (11 * 2^-40 times 12201611 * 2^-113): still rounds to
  // 2^-126 on the subnormal grid, but is tiny after rounding in RNE and RMM.
  const uint32_t c = 0x2d300000, d = 0x12ba2e8b;
  CHECK(s2(kMul, c, d, kRNE) == R{kMinNormS, kUF | kNX});
  CHECK(s2(kMul, c, d, kRMM) == R{kMinNormS, kUF | kNX});
  CHECK(s2(kMul, c, d, kRUP) == R{kMinNormS, kNX});
}

TEST_CASE("NaN results are canonical; signalling NaN operands raise NV", "[fd]") {
  CHECK(s2(kAdd, 0x7fc00123, kOneS) == R{kQNanS, 0});  // payload dropped
  CHECK(s2(kMul, 0xffc00000, kOneS) == R{kQNanS, 0});  // sign dropped
  CHECK(s2(kAdd, kSNanS, kOneS) == R{kQNanS, kNV});
  CHECK(s2(kDiv, kOneS, 0xff800123) == R{kQNanS, kNV});
  CHECK(s_sqrt(kSNanS) == R{kQNanS, kNV});
  CHECK(d2(kSub, 0xfff8000000000abc, kOneD) == R{kQNanD, 0});
  CHECK(d2(kMul, kOneD, kSNanD) == R{kQNanD, kNV});
  CHECK(d_sqrt(0x7ff4000000000000) == R{kQNanD, kNV});
  CHECK(s2(kAdd, kSNanS, kOneS, kRMM) == R{kQNanS, kNV});
  CHECK(d2(kAdd, kQNanD, kOneD, kRMM) == R{kQNanD, 0});
  CHECK(s_from_d(0xfff8000000000123) == R{kQNanS, 0});
  CHECK(s_from_d(kSNanD) == R{kQNanS, kNV});
  CHECK(s_from_d(kSNanD, kRMM) == R{kQNanS, kNV});
  CHECK(d_from_s(kSNanS) == R{kQNanD, kNV});
  CHECK(d_from_s(0xffc00001) == R{kQNanD, 0});
}

TEST_CASE("single operands that are not NaN-boxed read as the canonical NaN", "[fd]") {
  Fp t;
  t.h().f[1] = 0x000000003f800000;  // 1.0f without its box
  t.h().f[2] = box(kTwoS);
  t.run(opfp(kAdd, kS, 4, 1, 2, kRNE));
  CHECK(t.single() == R{kQNanS, 0});  // a quiet NaN: no NV
  // Sign injection takes the canonical NaN as its magnitude source.
  t.h().f[2] = box(kMOneS);
  t.run(opfp(kSgnj, kS, 4, 1, 2, 0));
  CHECK(t.h().f[4] == 0xffffffffffc00000);
  t.h().f[2] = box(kOneS);
  t.run(opfp(kSgnj, kS, 4, 1, 2, 1));  // fsgnjn
  CHECK(t.h().f[4] == 0xffffffffffc00000);
  t.h().f[1] = box(kTwoS);
  t.h().f[2] = 0xfffffffe80000000;  // sign source not boxed: canonical NaN, sign 0
  t.run(opfp(kSgnj, kS, 4, 1, 2, 0));
  CHECK(t.h().f[4] == box(kTwoS));
  // Conversions, comparisons and fclass see the canonical NaN too.
  CHECK(fclass(kS, 0x00000000ff800000) == 0x200);
  {
    Fp u;
    u.h().f[1] = 0x000000003f800000;
    u.run(opfp(kCvtFF, kD, 4, 1, 0, kRNE));
    CHECK(u.dbl() == R{kQNanD, 0});
  }
  CHECK(cmp(kS, kFeq, 0x3f800000, 0x3f800000) == R{0, 0});
  CHECK(to_int(kS, kW, kOneS) == R{1, 0});  // boxed: fine
  {
    Fp u;
    u.h().f[1] = 0x7fffffff3f800000;  // partially boxed
    u.run(opfp(kCvtToInt, kS, 4, 1, kW, kRNE));
    CHECK(u.xreg() == R{0x7fffffff, kNV});
  }
}

TEST_CASE("fmv moves raw bits without boxing checks", "[fd]") {
  Fp t;
  t.h().f[1] = 0x1234567887654321;
  t.run(opfp(kMvToInt, kS, 4, 1, 0, 0));  // fmv.x.w sign-extends the low word
  CHECK(t.h().x[4] == 0xffffffff87654321);
  t.run(opfp(kMvToInt, kD, 4, 1, 0, 0));
  CHECK(t.h().x[4] == 0x1234567887654321);
  t.h().f[1] = box(0x12345678);
  t.run(opfp(kMvToInt, kS, 4, 1, 0, 0));
  CHECK(t.h().x[4] == 0x12345678);
  t.h().x[1] = 0xaaaaaaaa7f800001;  // fmv.w.x boxes the low word, sNaN kept
  t.run(opfp(kMvFromInt, kS, 4, 1, 0, 0));
  CHECK(t.h().f[4] == 0xffffffff7f800001);
  t.run(opfp(kMvFromInt, kD, 4, 1, 0, 0));
  CHECK(t.h().f[4] == 0xaaaaaaaa7f800001);
  CHECK(t.h().fflags == 0);
  // Writing x0 is discarded.
  t.run(opfp(kMvToInt, kD, 0, 1, 0, 0));
  CHECK(t.h().x[0] == 0);
}

TEST_CASE("sign injection keeps NaN payloads", "[fd]") {
  CHECK(s2(kSgnj, kOneS, kMOneS) == R{kMOneS, 0});
  CHECK(s2(kSgnj, kMOneS, kOneS) == R{kOneS, 0});
  CHECK(s2(kSgnj, kSNanS, kNZeroS) == R{0xff800001, 0});
  // fsgnjn / fsgnjx are funct3 1 / 2.
  Fp t;
  t.h().f[1] = box(kMOneS), t.h().f[2] = box(kMOneS);
  t.run(opfp(kSgnj, kS, 4, 1, 2, 1));
  CHECK(t.single() == R{kOneS, 0});
  t.run(opfp(kSgnj, kS, 4, 1, 2, 2));
  CHECK(t.single() == R{kOneS, 0});  // - xor - = +
  t.h().f[2] = box(kOneS);
  t.run(opfp(kSgnj, kS, 4, 1, 2, 2));
  CHECK(t.single() == R{kMOneS, 0});
  // fneg.d / fabs.d idioms.
  t.h().f[1] = 0x7ff8000000000abc;
  t.run(opfp(kSgnj, kD, 4, 1, 1, 1));
  CHECK(t.dbl() == R{0xfff8000000000abc, 0});
  t.h().f[1] = 0xfff0000000000001;
  t.run(opfp(kSgnj, kD, 4, 1, 1, 2));
  CHECK(t.dbl() == R{0x7ff0000000000001, 0});
}

TEST_CASE("fmin/fmax: -0 < +0, NaN operands, sNaN raises NV", "[fd]") {
  const unsigned kMin = 0, kMax = 1;
  auto mm = [](Fmt fmt, unsigned which, uint64_t a, uint64_t b) {
    Fp t;
    t.h().f[1] = fmt == kS ? box(static_cast<uint32_t>(a)) : a;
    t.h().f[2] = fmt == kS ? box(static_cast<uint32_t>(b)) : b;
    t.run(opfp(kMinMax, fmt, 4, 1, 2, which));
    return fmt == kS ? t.single() : t.dbl();
  };
  CHECK(mm(kS, kMin, kNZeroS, kPZeroS) == R{kNZeroS, 0});
  CHECK(mm(kS, kMin, kPZeroS, kNZeroS) == R{kNZeroS, 0});
  CHECK(mm(kS, kMax, kNZeroS, kPZeroS) == R{kPZeroS, 0});
  CHECK(mm(kS, kMax, kPZeroS, kNZeroS) == R{kPZeroS, 0});
  CHECK(mm(kS, kMin, kOneS, kTwoS) == R{kOneS, 0});
  CHECK(mm(kS, kMax, kMOneS, 0xc0000000) == R{kMOneS, 0});
  CHECK(mm(kS, kMin, kQNanS, kTwoS) == R{kTwoS, 0});
  CHECK(mm(kS, kMax, kTwoS, 0xffc00001) == R{kTwoS, 0});
  CHECK(mm(kS, kMin, kSNanS, kTwoS) == R{kTwoS, kNV});
  CHECK(mm(kS, kMax, kQNanS, 0x7fc00001) == R{kQNanS, 0});
  CHECK(mm(kS, kMin, kSNanS, kQNanS) == R{kQNanS, kNV});
  CHECK(mm(kS, kMax, kNInfS, kQNanS) == R{kNInfS, 0});
  CHECK(mm(kD, kMin, kNZeroD, 0) == R{kNZeroD, 0});
  CHECK(mm(kD, kMax, kNZeroD, 0) == R{0, 0});
  CHECK(mm(kD, kMax, kSNanD, kOneD) == R{kOneD, kNV});
  CHECK(mm(kD, kMin, 0xfff8000000000001, 0x7ff8000000000002) == R{kQNanD, 0});
  CHECK(mm(kD, kMin, kInfD, kMaxD) == R{kMaxD, 0});
}

TEST_CASE("fcvt to 32-bit integers: rounding, saturation, flags", "[fd]") {
  // 2.5 and -2.5 in each mode.
  const uint64_t pos[] = {2, 2, 2, 3, 3};
  const uint64_t neg[] = {~1ull, ~1ull, ~2ull, ~1ull, ~2ull};
  for (unsigned rm = kRNE; rm <= kRMM; ++rm) {
    CAPTURE(rm);
    CHECK(to_int(kS, kW, 0x40200000, rm) == R{pos[rm], kNX});
    CHECK(to_int(kS, kW, 0xc0200000, rm) == R{neg[rm], kNX});
    CHECK(to_int(kD, kW, 0xc004000000000000, rm) == R{neg[rm], kNX});
  }
  CHECK(to_int(kS, kW, 0x3fc00000) == R{2, kNX});  // 1.5 -> 2
  CHECK(to_int(kS, kW, kNZeroS) == R{0, 0});
  // fcvt.w.s saturation.
  CHECK(to_int(kS, kW, kQNanS) == R{0x7fffffff, kNV});
  CHECK(to_int(kS, kW, kSNanS) == R{0x7fffffff, kNV});
  CHECK(to_int(kS, kW, 0xffc00000) == R{0x7fffffff, kNV});  // NaN sign ignored
  CHECK(to_int(kS, kW, kInfS) == R{0x7fffffff, kNV});
  CHECK(to_int(kS, kW, kNInfS) == R{0xffffffff80000000, kNV});
  CHECK(to_int(kS, kW, 0x4f000000) == R{0x7fffffff, kNV});        // 2^31
  CHECK(to_int(kS, kW, 0xcf000000) == R{0xffffffff80000000, 0});  // -2^31 fits
  CHECK(to_int(kS, kW, 0x4f32d05e) == R{0x7fffffff, kNV});        // 3e9
  CHECK(to_int(kS, kW, 0xcf32d05e) == R{0xffffffff80000000, kNV});
  // fcvt.wu.s: results are sign-extended from 32 bits.
  CHECK(to_int(kS, kWU, kQNanS) == R{~0ull, kNV});
  CHECK(to_int(kS, kWU, kInfS) == R{~0ull, kNV});
  CHECK(to_int(kS, kWU, kNInfS) == R{0, kNV});
  CHECK(to_int(kS, kWU, kMOneS) == R{0, kNV});
  CHECK(to_int(kS, kWU, 0x4f7fffff) == R{0xffffffffffffff00, 0});
  CHECK(to_int(kS, kWU, 0x4f800000) == R{~0ull, kNV});  // 2^32
  CHECK(to_int(kS, kWU, kThreeS) == R{3, 0});
  // -0.5 to unsigned: valid when it rounds to (-)0, invalid when it rounds to -1.
  CHECK(to_int(kS, kWU, 0xbf000000, kRNE) == R{0, kNX});
  CHECK(to_int(kS, kWU, 0xbf000000, kRTZ) == R{0, kNX});
  CHECK(to_int(kS, kWU, 0xbf000000, kRUP) == R{0, kNX});
  CHECK(to_int(kS, kWU, 0xbf000000, kRDN) == R{0, kNV});
  CHECK(to_int(kS, kWU, 0xbf000000, kRMM) == R{0, kNV});
  // Double sources near the int32 limits: range is checked after rounding.
  const uint64_t just_below = 0x41dfffffffe00000;  // 2^31 - 0.5
  CHECK(to_int(kD, kW, just_below, kRNE) == R{0x7fffffff, kNV});
  CHECK(to_int(kD, kW, just_below, kRTZ) == R{0x7fffffff, kNX});
  CHECK(to_int(kD, kW, just_below, kRMM) == R{0x7fffffff, kNV});
  const uint64_t below_min = 0xc1e0000000100000;                         // -2^31 - 0.5
  CHECK(to_int(kD, kW, below_min, kRNE) == R{0xffffffff80000000, kNX});  // ties to even
  CHECK(to_int(kD, kW, below_min, kRUP) == R{0xffffffff80000000, kNX});
  CHECK(to_int(kD, kW, below_min, kRMM) == R{0xffffffff80000000, kNV});
  CHECK(to_int(kD, kW, below_min, kRDN) == R{0xffffffff80000000, kNV});
  CHECK(to_int(kD, kWU, 0x41effffffff00000, kRDN) == R{~0ull, kNX});  // 2^32 - 0.5
  CHECK(to_int(kD, kWU, 0x41effffffff00000, kRNE) == R{~0ull, kNV});
  CHECK(to_int(kD, kWU, 0xbfe0000000000000, kRNE) == R{0, kNX});
  CHECK(to_int(kD, kWU, kQNanD) == R{~0ull, kNV});
  CHECK(to_int(kD, kW, kNInfD) == R{0xffffffff80000000, kNV});
}

TEST_CASE("fcvt to 64-bit integers: saturation edges", "[fd]") {
  constexpr uint64_t kMaxL = 0x7fffffffffffffff, kMinL = 0x8000000000000000;
  CHECK(to_int(kS, kL, kQNanS) == R{kMaxL, kNV});
  CHECK(to_int(kS, kL, kInfS) == R{kMaxL, kNV});
  CHECK(to_int(kS, kL, kNInfS) == R{kMinL, kNV});
  CHECK(to_int(kS, kL, 0x5f000000) == R{kMaxL, kNV});  // 2^63
  CHECK(to_int(kS, kL, 0xdf000000) == R{kMinL, 0});    // -2^63 fits
  CHECK(to_int(kS, kLU, kQNanS) == R{~0ull, kNV});
  CHECK(to_int(kS, kLU, 0x5f800000) == R{~0ull, kNV});  // 2^64
  CHECK(to_int(kS, kLU, 0x5f7fffff) == R{0xffffff0000000000, 0});
  CHECK(to_int(kS, kLU, kMOneS) == R{0, kNV});
  CHECK(to_int(kS, kLU, 0xbf000000, kRNE) == R{0, kNX});
  CHECK(to_int(kS, kLU, 0xbf000000, kRDN) == R{0, kNV});
  CHECK(to_int(kD, kL, kSNanD) == R{kMaxL, kNV});
  CHECK(to_int(kD, kL, 0x43e0000000000000) == R{kMaxL, kNV});  // 2^63
  CHECK(to_int(kD, kL, 0xc3e0000000000000) == R{kMinL, 0});
  CHECK(to_int(kD, kL, 0x43dfffffffffffff) == R{0x7ffffffffffffc00, 0});
  CHECK(to_int(kD, kL, 0xc3e0000000000001) == R{kMinL, kNV});
  CHECK(to_int(kD, kL, 0x3fe8000000000000, kRMM) == R{1, kNX});  // 0.75
  CHECK(to_int(kD, kLU, 0x43efffffffffffff) == R{0xfffffffffffff800, 0});
  CHECK(to_int(kD, kLU, 0x43f0000000000000) == R{~0ull, kNV});  // 2^64
  CHECK(to_int(kD, kLU, kInfD) == R{~0ull, kNV});
  CHECK(to_int(kD, kLU, kNInfD) == R{0, kNV});
  CHECK(to_int(kD, kLU, kNZeroD) == R{0, 0});
}

TEST_CASE("fcvt from integers in every rounding mode", "[fd]") {
  // 2^24 + 1 is a tie between 2^24 and 2^24 + 2.
  const uint32_t pos[] = {0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001};
  const uint32_t neg[] = {0xcb800000, 0xcb800000, 0xcb800001, 0xcb800000, 0xcb800001};
  for (unsigned rm = kRNE; rm <= kRMM; ++rm) {
    CAPTURE(rm);
    CHECK(from_int(kS, kW, 16777217, rm) == R{pos[rm], kNX});
    CHECK(from_int(kS, kW, static_cast<uint64_t>(-16777217), rm) == R{neg[rm], kNX});
    CHECK(from_int(kS, kL, 16777217, rm) == R{pos[rm], kNX});
  }
  CHECK(from_int(kS, kW, 0x100000005) == R{0x40a00000, 0});  // low word only
  CHECK(from_int(kS, kW, 0xffffffff) == R{kMOneS, 0});       // signed
  CHECK(from_int(kS, kWU, 0xffffffff, kRNE) == R{0x4f800000, kNX});
  CHECK(from_int(kS, kWU, 0xffffffff, kRTZ) == R{0x4f7fffff, kNX});
  CHECK(from_int(kS, kL, 0x8000000000000000) == R{0xdf000000, 0});
  CHECK(from_int(kS, kLU, ~0ull, kRNE) == R{0x5f800000, kNX});
  CHECK(from_int(kS, kLU, ~0ull, kRTZ) == R{0x5f7fffff, kNX});
  CHECK(from_int(kS, kLU, ~0ull, kRMM) == R{0x5f800000, kNX});
  CHECK(from_int(kS, kW, 0) == R{kPZeroS, 0});
  // Double: 2^53 + 1 is a tie.
  CHECK(from_int(kD, kL, (1ull << 53) + 1, kRNE) == R{0x4340000000000000, kNX});
  CHECK(from_int(kD, kL, (1ull << 53) + 1, kRMM) == R{0x4340000000000001, kNX});
  CHECK(from_int(kD, kL, -((1ull << 53) + 1), kRMM) == R{0xc340000000000001, kNX});
  CHECK(from_int(kD, kLU, ~0ull, kRNE) == R{0x43f0000000000000, kNX});
  CHECK(from_int(kD, kLU, ~0ull, kRTZ) == R{0x43efffffffffffff, kNX});
  CHECK(from_int(kD, kW, 0xffffffff) == R{kMOneD, 0});  // int32 is always exact
  CHECK(from_int(kD, kWU, 0xffffffff, kRMM) == R{0x41efffffffe00000, 0});
}

TEST_CASE("fcvt between single and double", "[fd]") {
  CHECK(s_from_d(0x3fd5555555555555, kRNE) == R{0x3eaaaaab, kNX});
  CHECK(s_from_d(0x3fd5555555555555, kRTZ) == R{0x3eaaaaaa, kNX});
  CHECK(s_from_d(0x3ff0000010000000, kRNE) == R{kOneS, kNX});  // 1 + 2^-24: a tie
  CHECK(s_from_d(0x3ff0000010000000, kRMM) == R{0x3f800001, kNX});
  CHECK(s_from_d(0xbff0000010000000, kRMM) == R{0xbf800001, kNX});
  CHECK(s_from_d(kMaxD, kRNE) == R{kInfS, kOF | kNX});
  CHECK(s_from_d(kMaxD, kRTZ) == R{kMaxS, kOF | kNX});
  CHECK(s_from_d(kMaxD, kRMM) == R{kInfS, kOF | kNX});
  CHECK(s_from_d(kNInfD) == R{kNInfS, 0});
  CHECK(s_from_d(kNZeroD) == R{kNZeroS, 0});
  CHECK(s_from_d(0x36a0000000000000) == R{1, 0});  // 2^-149: exact subnormal
  CHECK(d_from_s(0x3dcccccd) == R{0x3fb99999a0000000, 0});
  CHECK(d_from_s(1, kRMM) == R{0x36a0000000000000, 0});
  CHECK(d_from_s(kNInfS) == R{kNInfD, 0});
}

TEST_CASE("fclass distinguishes all ten classes", "[fd]") {
  const uint32_t s[] = {kNInfS,     kMOneS, 0x80000001, kNZeroS, kPZeroS,
                        0x00000001, kOneS,  kInfS,      kSNanS,  kQNanS};
  const uint64_t d[] = {kNInfD, kMOneD, 0x8000000000000001, kNZeroD, 0, 1, kOneD, kInfD,
                        kSNanD, kQNanD};
  for (unsigned k = 0; k < 10; ++k) {
    CAPTURE(k);
    CHECK(fclass(kS, box(s[k])) == 1u << k);
    CHECK(fclass(kD, d[k]) == 1u << k);
  }
  CHECK(fclass(kS, box(0xff800001)) == 0x100);  // negative sNaN
  CHECK(fclass(kS, box(0x807fffff)) == 0x004);  // largest negative subnormal
  CHECK(fclass(kD, 0xfff8000000000000) == 0x200);
}

TEST_CASE("feq is quiet, flt and fle signal on NaN", "[fd]") {
  const uint64_t q = box(kQNanS), sn = box(kSNanS), one = box(kOneS), two = box(kTwoS);
  CHECK(cmp(kS, kFeq, one, one) == R{1, 0});
  CHECK(cmp(kS, kFeq, q, one) == R{0, 0});
  CHECK(cmp(kS, kFeq, q, q) == R{0, 0});
  CHECK(cmp(kS, kFeq, one, sn) == R{0, kNV});
  CHECK(cmp(kS, kFlt, q, one) == R{0, kNV});
  CHECK(cmp(kS, kFle, one, q) == R{0, kNV});
  CHECK(cmp(kS, kFlt, sn, one) == R{0, kNV});
  CHECK(cmp(kS, kFlt, one, two) == R{1, 0});
  CHECK(cmp(kS, kFlt, two, one) == R{0, 0});
  CHECK(cmp(kS, kFle, two, two) == R{1, 0});
  CHECK(cmp(kS, kFle, two, one) == R{0, 0});
  // -0 == +0: equal, not less.
  CHECK(cmp(kS, kFeq, box(kNZeroS), box(kPZeroS)) == R{1, 0});
  CHECK(cmp(kS, kFlt, box(kNZeroS), box(kPZeroS)) == R{0, 0});
  CHECK(cmp(kS, kFle, box(kPZeroS), box(kNZeroS)) == R{1, 0});
  CHECK(cmp(kD, kFeq, kQNanD, kQNanD) == R{0, 0});
  CHECK(cmp(kD, kFeq, kSNanD, kOneD) == R{0, kNV});
  CHECK(cmp(kD, kFle, kNInfD, kInfD) == R{1, 0});
  CHECK(cmp(kD, kFlt, kOneD, kQNanD) == R{0, kNV});
  CHECK(cmp(kD, kFlt, kMOneD, kOneD) == R{1, 0});
}

TEST_CASE("fused multiply-add: all four forms, signs, single rounding", "[fd]") {
  // 2 * 3 with addend 1.
  CHECK(s4(op::kMadd, kTwoS, kThreeS, kOneS) == R{0x40e00000, 0});   // 7
  CHECK(s4(op::kMsub, kTwoS, kThreeS, kOneS) == R{0x40a00000, 0});   // 5
  CHECK(s4(op::kNmsub, kTwoS, kThreeS, kOneS) == R{0xc0a00000, 0});  // -5
  CHECK(s4(op::kNmadd, kTwoS, kThreeS, kOneS) == R{0xc0e00000, 0});  // -7
  CHECK(d4(op::kMadd, kTwoD, kThreeD, kOneD) == R{0x401c000000000000, 0});
  CHECK(d4(op::kMsub, kTwoD, kThreeD, kOneD) == R{0x4014000000000000, 0});
  CHECK(d4(op::kNmsub, kTwoD, kThreeD, kOneD) == R{0xc014000000000000, 0});
  CHECK(d4(op::kNmadd, kTwoD, kThreeD, kOneD) == R{0xc01c000000000000, 0});
  // One rounding: (1 + 2^-52)(1 - 2^-52) - 1 = -2^-104 exactly (unfused: 0).
  CHECK(d4(op::kMadd, 0x3ff0000000000001, 0x3feffffffffffffe, kMOneD) == R{0xb970000000000000, 0});
  // Signs of exact zeros: -(0*1) - 0 = -0; 0*1 - 0 = +0, or -0 rounding down.
  CHECK(s4(op::kNmadd, kPZeroS, kOneS, kPZeroS) == R{kNZeroS, 0});
  CHECK(s4(op::kMsub, kPZeroS, kOneS, kPZeroS) == R{kPZeroS, 0});
  CHECK(s4(op::kMsub, kPZeroS, kOneS, kPZeroS, kRDN) == R{kNZeroS, 0});
  // inf * 0 is invalid even with a quiet NaN addend.
  CHECK(s4(op::kMadd, kInfS, kPZeroS, kQNanS) == R{kQNanS, kNV});
  CHECK(d4(op::kMadd, 0, kNInfD, kQNanD) == R{kQNanD, kNV});
  CHECK(d4(op::kMadd, 0, kNInfD, kOneD, kRMM) == R{kQNanD, kNV});
  CHECK(s4(op::kMadd, kOneS, kOneS, kQNanS) == R{kQNanS, 0});
  CHECK(s4(op::kMadd, kOneS, kOneS, kSNanS) == R{kQNanS, kNV});
  CHECK(s4(op::kMadd, kInfS, kOneS, kNInfS) == R{kQNanS, kNV});        // inf - inf
  CHECK(s4(op::kMadd, kMaxS, kTwoS, kMaxS | kNZeroS) == R{kMaxS, 0});  // no overflow inside
}

TEST_CASE("mstatus.FS = Off makes every F/D instruction illegal", "[fd]") {
  const uint32_t insns[] = {
      opfp(kAdd, kS, 4, 1, 2, kRNE),       opfp(kSgnj, kD, 4, 1, 2, 0),
      opfp(kMvToInt, kS, 4, 1, 0, 0),  // fmv.x.w writes no f register, still illegal
      opfp(kMvFromInt, kD, 4, 1, 0, 0),    opfp(kCmp, kD, 4, 1, 2, kFeq),
      opfp(kMvToInt, kS, 4, 1, 0, 1),                                          // fclass
      r4(op::kMadd, kD, 4, 1, 2, 3, kRNE), encode_i(op::kLoadFp, 4, 2, 1, 0),  // flw
      encode_s(op::kStoreFp, 3, 1, 4, 0),                                      // fsd
  };
  for (uint32_t raw : insns) {
    CAPTURE(raw);
    TestMachine t;  // reset leaves FS Off
    REQUIRE((t.h().mstatus & mstatus::kFS) == 0);
    t.h().x[1] = kRamBase + 0x1000;
    t.h().x[4] = 0x55;
    t.h().f[4] = 0x66;
    CHECK(t.exec(raw) == Flow::kTrap);
    CHECK(t.h().trap_cause == cause::kIllegalInsn);
    CHECK(t.h().trap_tval == raw);
    CHECK(t.h().x[4] == 0x55);
    CHECK(t.h().f[4] == 0x66);
    CHECK(t.h().fflags == 0);
    CHECK((t.h().mstatus & mstatus::kFS) == 0);
  }
}

TEST_CASE("with FS = Off a compressed FP load traps with its own 16 bits in mtval", "[fd]") {
  TestMachine t;  // reset leaves FS Off
  t.load16({0x2000});  // c.fld f8, 0(s0)
  t.h().x[8] = kRamBase + 0x1000;
  t.h().mtvec = kRamBase + 0x100;
  t.step(1);
  CHECK(t.h().mcause == cause::kIllegalInsn);
  CHECK(t.h().mtval == 0x2000);
  CHECK(t.h().mepc == kRamBase);
  CHECK(t.h().pc == kRamBase + 0x100);
}

TEST_CASE("writes to f registers or fflags make FS Dirty", "[fd]") {
  const uint64_t kDirty = mstatus::kFSDirty | mstatus::kSD;
  {
    Fp t;  // fadd writes f4
    t.h().f[1] = box(kOneS), t.h().f[2] = box(kOneS);
    t.run(opfp(kAdd, kS, 4, 1, 2, kRNE));
    CHECK((t.h().mstatus & kDirty) == kDirty);
  }
  {
    Fp t;  // fmv.w.x writes f0 (a real register, unlike x0)
    t.h().x[1] = 0x3f800000;
    t.run(opfp(kMvFromInt, kS, 0, 1, 0, 0));
    CHECK(t.h().f[0] == box(kOneS));
    CHECK((t.h().mstatus & kDirty) == kDirty);
  }
  {
    Fp t;  // feq without flags, fmv.x.w, fclass: only x registers change
    t.h().f[1] = box(kOneS);
    t.run(opfp(kCmp, kS, 4, 1, 1, kFeq));
    t.run(opfp(kMvToInt, kS, 4, 1, 0, 0));
    t.run(opfp(kMvToInt, kS, 4, 1, 0, 1));
    CHECK((t.h().mstatus & mstatus::kFS) == 1ull << mstatus::kFSShift);
    CHECK((t.h().mstatus & mstatus::kSD) == 0);
    // flt on a NaN writes fflags: Dirty.
    t.h().f[2] = box(kQNanS);
    t.run(opfp(kCmp, kS, 4, 1, 2, kFlt));
    CHECK(t.h().fflags == kNV);
    CHECK((t.h().mstatus & kDirty) == kDirty);
  }
  {
    Fp t;  // an inexact fcvt.w.s raises NX: Dirty
    t.h().f[1] = box(kHalfS);
    t.run(opfp(kCvtToInt, kS, 4, 1, kW, kRNE));
    CHECK((t.h().mstatus & kDirty) == kDirty);
  }
  {
    Fp t;  // stores read f registers only
    t.h().x[1] = kRamBase + 0x1000;
    t.run(encode_s(op::kStoreFp, 3, 1, 2, 0));
    CHECK((t.h().mstatus & mstatus::kFS) == 1ull << mstatus::kFSShift);
  }
}

TEST_CASE("FP loads and stores: round trip, boxing, offsets, faults", "[fd]") {
  Fp t;
  const uint64_t base = kRamBase + 0x2000;
  t.load({0x3f800000, 0x89abcdef, 0x01234567}, base);
  t.h().x[1] = base + 8;
  t.run(encode_i(op::kLoadFp, 2, 2, 1, -8));  // flw f2, -8(x1)
  CHECK(t.h().f[2] == 0xffffffff3f800000);
  t.run(encode_i(op::kLoadFp, 3, 3, 1, -4));  // fld f3, -4(x1)
  CHECK(t.h().f[3] == 0x0123456789abcdef);
  // fsw stores the low word whatever the upper half holds.
  t.h().f[4] = 0x00000000deadbeef;
  t.run(encode_s(op::kStoreFp, 2, 1, 4, 16));  // fsw f4, 16(x1)
  t.run(encode_s(op::kStoreFp, 3, 1, 3, 24));  // fsd f3, 24(x1)
  CHECK(t.read64(base + 24) == 0xdeadbeef);
  CHECK(t.read64(base + 32) == 0x0123456789abcdef);
  // A misaligned double is performed, not trapped.
  t.run(encode_i(op::kLoadFp, 5, 3, 1, 17));  // fld f5, 17(x1) = base + 25
  CHECK(t.h().f[5] == 0xef00000000deadbeull);
  CHECK(t.h().fflags == 0);
  // Unmapped addresses fault: the destination is untouched.
  t.h().x[1] = 0x10;
  t.h().f[6] = 0x77;
  CHECK(t.exec(encode_i(op::kLoadFp, 6, 3, 1, 0)) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kLoadAccessFault);
  CHECK(t.h().trap_tval == 0x10);
  CHECK(t.h().f[6] == 0x77);
  CHECK(t.exec(encode_s(op::kStoreFp, 2, 1, 6, 8)) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kStoreAccessFault);
  CHECK(t.h().trap_tval == 0x18);
}

TEST_CASE("an F/D program runs through the block loop", "[fd]") {
  Fp t;
  const uint64_t data = kRamBase + 0x3000;
  t.load({0x40490fdb /* pi */, 0x40000000 /* 2 */}, data);
  t.h().x[1] = data;
  t.load({
      encode_i(op::kLoadFp, 1, 2, 1, 0),    // flw f1, 0(x1)
      encode_i(op::kLoadFp, 2, 2, 1, 4),    // flw f2, 4(x1)
      opfp(kMul, kS, 3, 1, 2, kDyn),        // fmul.s f3, f1, f2
      opfp(kCvtFF, kD, 4, 3, 0, kRNE),      // fcvt.d.s f4, f3
      encode_s(op::kStoreFp, 3, 1, 4, 8),   // fsd f4, 8(x1)
      opfp(kCvtToInt, kD, 5, 4, kL, kRTZ),  // fcvt.l.d x5, f4
  });
  t.step(6);
  CHECK(t.h().f[3] == box(0x40c90fdb));  // 2 pi, exact
  CHECK(t.read64(data + 8) == 0x401921fb60000000);
  CHECK(t.h().x[5] == 6);
  CHECK(t.h().fflags == kNX);
  CHECK(t.h().pc == kRamBase + 24);
}

TEST_CASE("the F/D table decodes every encoding to a handler", "[fd]") {
  TestMachine t;
  for (const InsnSpec& s : rv_fd_table()) {
    CAPTURE(s.name);
    CHECK((s.match & ~s.mask) == 0);
    uint8_t flags;
    const DecodedInsn d = t.m.decoder().decode(s.match, kRamBase, flags);
    CHECK(d.fn == s.fn.threaded);
    CHECK(flags == 0);
  }
  CHECK(rv_fd_table().size() == 62);
}
