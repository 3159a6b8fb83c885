// RV64M semantics, including the defined results of division by zero and
// signed overflow (which must not trap the host).
#include <catch2/catch.hpp>
#include <cstdint>

#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::TestMachine;

namespace {

enum Funct3 : unsigned { kMul = 0, kMulh, kMulhsu, kMulhu, kDiv, kDivu, kRem, kRemu };

// Executes the M instruction (funct3 f3, OP or OP-32) with x1 = a, x2 = b; returns x3.
uint64_t run(uint32_t opcode, unsigned f3, uint64_t a, uint64_t b) {
  TestMachine t;
  t.h().x[1] = a;
  t.h().x[2] = b;
  REQUIRE(t.exec(encode_r(opcode, 3, f3, 1, 2, 1)) == Flow::kNext);
  return t.h().x[3];
}
uint64_t m64(unsigned f3, uint64_t a, uint64_t b) { return run(op::kOp, f3, a, b); }
uint64_t m32(unsigned f3, uint64_t a, uint64_t b) { return run(op::kOp32, f3, a, b); }

constexpr uint64_t s(int64_t v) { return static_cast<uint64_t>(v); }
constexpr uint64_t kMin64 = 0x8000000000000000ull;
constexpr uint64_t kAll = ~0ull;

}  // namespace

TEST_CASE("mul and the high-half multiplies", "[rv_m]") {
  CHECK(m64(kMul, 7, s(-6)) == s(-42));
  CHECK(m64(kMul, 0x100000001ull, 0x100000001ull) == 0x200000001ull);  // wraps mod 2^64
  // (-1) * (-1): high half 0 signed, but as unsigned (2^64-1)^2 -> high 2^64-2.
  CHECK(m64(kMulh, kAll, kAll) == 0);
  CHECK(m64(kMulhu, kAll, kAll) == kAll - 1);
  // mulhsu: rs1 signed, rs2 unsigned. -1 * (2^64-1) = -(2^64-1): high half -1.
  CHECK(m64(kMulhsu, kAll, kAll) == kAll);
  CHECK(m64(kMulhsu, 2, kAll) == 1);                // 2 * (2^64-1) = 2^65 - 2
  CHECK(m64(kMulh, kMin64, kMin64) == 1ull << 62);  // (-2^63)^2 = 2^126
  CHECK(m64(kMulh, kMin64, 2) == kAll);             // -2^64: high half -1
  CHECK(m64(kMulhu, kMin64, 4) == 2);
  CHECK(m64(kMulh, s(-3), 5) == kAll);  // small negative product
  CHECK(m64(kMulhsu, s(-3), 5) == kAll);
  CHECK(m64(kMulhu, s(-3), 5) == 4);  // (2^64-3)*5 >> 64 = 4
}

TEST_CASE("signed and unsigned division and remainder", "[rv_m]") {
  CHECK(m64(kDiv, s(-7), 2) == s(-3));  // rounds toward zero
  CHECK(m64(kRem, s(-7), 2) == s(-1));  // remainder takes the dividend's sign
  CHECK(m64(kDiv, 7, s(-2)) == s(-3));
  CHECK(m64(kRem, 7, s(-2)) == 1);
  CHECK(m64(kDivu, s(-7), 2) == 0x7ffffffffffffffcull);
  CHECK(m64(kRemu, s(-7), 2) == 1);
}

TEST_CASE("division by zero and overflow give the spec's results", "[rv_m]") {
  CHECK(m64(kDiv, 42, 0) == kAll);
  CHECK(m64(kDivu, 42, 0) == kAll);
  CHECK(m64(kRem, s(-42), 0) == s(-42));
  CHECK(m64(kRemu, 42, 0) == 42);
  CHECK(m64(kDiv, kMin64, kAll) == kMin64);
  CHECK(m64(kRem, kMin64, kAll) == 0);
}

TEST_CASE("W forms use the low 32 bits and sign-extend", "[rv_m]") {
  CHECK(m32(kMul, 0x10000, 0x8000) == 0xffffffff80000000ull);    // mulw
  CHECK(m32(kMul, 0xdead00000003ull, 0xbeef00000005ull) == 15);  // upper bits ignored
  CHECK(m32(kDiv, 0xffffffff00000007ull, 0xfffffffe) == s(-3));  // divw 7 / -2
  CHECK(m32(kDivu, 0xfffffff9u, 2) == 0x7ffffffc);               // divuw
  CHECK(m32(kDivu, 0xfffffffeu, 1) == 0xfffffffffffffffeull);    // divuw result sign-extended
  CHECK(m32(kRem, 0xfffffff9u, 2) == s(-1));                     // remw
  CHECK(m32(kRemu, 0xfffffff9u, 0x10) == 9);                     // remuw
  CHECK(m32(kRemu, 0x80000001u, 0x80000002u) == 0xffffffff80000001ull);
}

TEST_CASE("W division by zero and overflow", "[rv_m]") {
  CHECK(m32(kDiv, 5, 0x100000000ull) == kAll);  // divisor's low 32 bits are 0
  CHECK(m32(kDivu, 5, 0) == kAll);
  CHECK(m32(kRem, 0x12345678fffffff0ull, 0) == s(-16));        // remw x/0 = sext(x[31:0])
  CHECK(m32(kRemu, 0x80000000u, 0) == 0xffffffff80000000ull);  // remuw x/0 = sext(x[31:0])
  CHECK(m32(kDiv, 0x80000000u, 0xffffffffu) == 0xffffffff80000000ull);
  CHECK(m32(kRem, 0x80000000u, 0xffffffffu) == 0);
}

TEST_CASE("rd may alias a source register", "[rv_m]") {
  TestMachine t;
  t.h().x[1] = 6;
  t.h().x[2] = 7;
  REQUIRE(t.exec(encode_r(op::kOp, 1, kMul, 1, 2, 1)) == Flow::kNext);
  CHECK(t.h().x[1] == 42);
  REQUIRE(t.exec(encode_r(op::kOp, 0, kDiv, 1, 2, 1)) == Flow::kNext);  // rd = x0
  CHECK(t.h().x[0] == 0);
}
