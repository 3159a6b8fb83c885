// RV64A semantics: LR/SC reservations, every AMO in both widths, W
// sign-extension, alignment traps.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::retired;
using hs::test::TestMachine;

namespace {

constexpr unsigned kW = 2, kD = 3;
constexpr uint64_t kAddr = kRamBase + 0x4000;

// funct5 of each AMO.
enum Funct5 : unsigned {
  kAdd = 0x00,
  kSwap = 0x01,
  kLr = 0x02,
  kSc = 0x03,
  kXor = 0x04,
  kOr = 0x08,
  kAnd = 0x0c,
  kMin = 0x10,
  kMax = 0x14,
  kMinu = 0x18,
  kMaxu = 0x1c,
};

// rd, rs1 (address), rs2; aq/rl optional.
uint32_t amo(unsigned funct5, unsigned width, unsigned rd, unsigned rs1, unsigned rs2,
             unsigned aqrl = 0) {
  return encode_r(op::kAmo, rd, width, rs1, rs2, funct5 << 2 | aqrl);
}


struct Fixture {
  TestMachine t;
  Fixture() {
    t.load({0x80000001u, 0x7fffffffu}, kAddr);  // doubleword 0x7fffffff80000001
    t.h().x[10] = kAddr;
  }
  uint64_t mem() { return t.read64(kAddr); }
};

}  // namespace

TEST_CASE("lr/sc succeed on a held reservation and clear it", "[rv_a]") {
  Fixture f;
  Hart& h = f.t.h();
  REQUIRE(retired(f.t.exec(amo(kLr, kD, 5, 10, 0))));
  CHECK(h.x[5] == 0x7fffffff80000001ull);
  CHECK(h.reservation_valid);
  h.x[6] = 0x1122334455667788ull;
  REQUIRE(retired(f.t.exec(amo(kSc, kD, 7, 10, 6))));
  CHECK(h.x[7] == 0);
  CHECK(f.mem() == 0x1122334455667788ull);
  CHECK_FALSE(h.reservation_valid);

  // A second SC without a new LR fails and leaves memory alone.
  h.x[6] = 99;
  REQUIRE(f.t.exec(amo(kSc, kD, 7, 10, 6)) == Flow::kNext);
  CHECK(h.x[7] == 1);
  CHECK(f.mem() == 0x1122334455667788ull);
}

TEST_CASE("lr.w sign-extends, sc.w writes 32 bits", "[rv_a]") {
  Fixture f;
  Hart& h = f.t.h();
  REQUIRE(retired(f.t.exec(amo(kLr, kW, 5, 10, 0, 3))));  // lr.w.aqrl
  CHECK(h.x[5] == 0xffffffff80000001ull);
  h.x[6] = 0xabcdef0012345678ull;
  REQUIRE(retired(f.t.exec(amo(kSc, kW, 7, 10, 6))));
  CHECK(h.x[7] == 0);
  CHECK(f.mem() == 0x7fffffff12345678ull);
}

TEST_CASE("sc fails on a different address and still clears the reservation", "[rv_a]") {
  Fixture f;
  Hart& h = f.t.h();
  REQUIRE(retired(f.t.exec(amo(kLr, kW, 5, 10, 0))));
  h.x[11] = kAddr + 4;
  h.x[6] = 5;
  REQUIRE(f.t.exec(amo(kSc, kW, 7, 11, 6)) == Flow::kNext);
  CHECK(h.x[7] == 1);
  CHECK_FALSE(h.reservation_valid);
  CHECK(f.mem() == 0x7fffffff80000001ull);
  // The original address no longer works either.
  REQUIRE(f.t.exec(amo(kSc, kW, 7, 10, 6)) == Flow::kNext);
  CHECK(h.x[7] == 1);
}

TEST_CASE("misaligned lr, sc and amo raise address-misaligned traps", "[rv_a]") {
  Fixture f;
  Hart& h = f.t.h();
  h.x[11] = kAddr + 4;  // word-aligned, not doubleword-aligned
  h.x[5] = 1234;
  CHECK(f.t.exec(amo(kLr, kD, 5, 11, 0)) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kLoadMisaligned);
  CHECK(h.trap_tval == kAddr + 4);
  CHECK(h.x[5] == 1234);
  CHECK_FALSE(h.reservation_valid);

  h.x[12] = kAddr + 2;
  CHECK(f.t.exec(amo(kSc, kW, 5, 12, 6)) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kStoreMisaligned);
  CHECK(h.trap_tval == kAddr + 2);
  CHECK(f.t.exec(amo(kAdd, kW, 5, 12, 6)) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kStoreMisaligned);
  CHECK(f.t.exec(amo(kSwap, kD, 5, 11, 6)) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kStoreMisaligned);
  CHECK(h.trap_tval == kAddr + 4);
  CHECK(h.x[5] == 1234);
  CHECK(f.mem() == 0x7fffffff80000001ull);
}

TEST_CASE("each AMO returns the old value and stores op(old, rs2)", "[rv_a]") {
  struct Case {
    const char* name;
    unsigned funct5;
    unsigned width;
    uint64_t mem, rs2;
    uint64_t rd, mem_after;  // mem_after: the full doubleword
  };
  constexpr uint64_t kHi = 0x5555555500000000ull;  // upper word, untouched by .w ops
  const Case cases[] = {
      {"amoswap.d", kSwap, kD, 5, 9, 5, 9},
      {"amoadd.d", kAdd, kD, ~0ull, 2, ~0ull, 1},
      {"amoxor.d", kXor, kD, 0xff00, 0x0ff0, 0xff00, 0xf0f0},
      {"amoand.d", kAnd, kD, 0xff00, 0x0ff0, 0xff00, 0x0f00},
      {"amoor.d", kOr, kD, 0xff00, 0x0ff0, 0xff00, 0xfff0},
      {"amomin.d", kMin, kD, ~0ull, 1, ~0ull, ~0ull},
      {"amomax.d", kMax, kD, ~0ull, 1, ~0ull, 1},
      {"amominu.d", kMinu, kD, ~0ull, 1, ~0ull, 1},
      {"amomaxu.d", kMaxu, kD, ~0ull, 1, ~0ull, ~0ull},
      {"amoswap.w", kSwap, kW, kHi | 0x80000000, 7, 0xffffffff80000000ull, kHi | 7},
      {"amoadd.w", kAdd, kW, kHi | 0xffffffff, 2, ~0ull, kHi | 1},  // carry does not leave the word
      {"amoxor.w", kXor, kW, kHi | 0xf0000000, 0xff, 0xfffffffff0000000ull, kHi | 0xf00000ff},
      {"amoand.w", kAnd, kW, kHi | 0x8000ffff, 0xffff0000ffffff00ull, 0xffffffff8000ffffull,
       kHi | 0x8000ff00},
      {"amoor.w", kOr, kW, kHi | 0x1, 0x80000000, 1, kHi | 0x80000001},
      {"amomin.w", kMin, kW, kHi | 0x80000000, 1, 0xffffffff80000000ull, kHi | 0x80000000},
      {"amomax.w", kMax, kW, kHi | 0x80000000, 1, 0xffffffff80000000ull, kHi | 1},
      {"amominu.w", kMinu, kW, kHi | 0x80000000, 1, 0xffffffff80000000ull, kHi | 1},
      {"amomaxu.w", kMaxu, kW, kHi | 0x80000000, 1, 0xffffffff80000000ull, kHi | 0x80000000},
      // .w compares only the low words: rs2's upper bits don't make it large.
      {"amomaxu.w upper bits", kMaxu, kW, kHi | 2, 0xffffffff00000001ull, 2, kHi | 2},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    TestMachine t;
    t.load({static_cast<uint32_t>(c.mem), static_cast<uint32_t>(c.mem >> 32)}, kAddr);
    t.h().x[10] = kAddr;
    t.h().x[6] = c.rs2;
    const uint32_t raw = amo(c.funct5, c.width, 5, 10, 6, 1);
    uint8_t flags;
    const std::string name(c.name);
    CHECK(t.m.decoder().name(t.m.decoder().decode(raw, kRamBase, flags)) ==
          name.substr(0, name.find(' ')));
    REQUIRE(retired(t.exec(raw)));
    CHECK(t.h().x[5] == c.rd);
    CHECK(t.read64(kAddr) == c.mem_after);
  }
}

TEST_CASE("amo with rd == rs2 uses the old rs2 as operand", "[rv_a]") {
  Fixture f;
  Hart& h = f.t.h();
  h.x[6] = 10;
  REQUIRE(retired(f.t.exec(amo(kAdd, kD, 6, 10, 6))));  // amoadd.d x6, x6, (x10)
  CHECK(h.x[6] == 0x7fffffff80000001ull);
  CHECK(f.mem() == 0x7fffffff8000000bull);
  REQUIRE(retired(f.t.exec(amo(kSwap, kD, 0, 10, 6))));  // rd = x0
  CHECK(h.x[0] == 0);
  CHECK(f.mem() == 0x7fffffff80000001ull);
}

TEST_CASE("an AMO on unmapped memory traps", "[rv_a]") {
  TestMachine t;
  t.h().x[10] = 0x40000000;
  t.h().x[5] = 3;
  CHECK(t.exec(amo(kAdd, kD, 5, 10, 6)) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kStoreAccessFault);
  CHECK(t.h().trap_tval == 0x40000000u);
  CHECK(t.h().x[5] == 3);
}

TEST_CASE("lr/sc loop through the run loop", "[rv_a][loop]") {
  TestMachine t;
  // retry: lr.d t0,(a0); addi t0,t0,1; sc.d t1,t0,(a0); bnez t1,retry
  t.load({
      amo(kLr, kD, 5, 10, 0),
      encode_i(op::kOpImm, 5, 0, 5, 1),
      amo(kSc, kD, 6, 10, 5),
      encode_b(op::kBranch, 1, 6, 0, -12),
  });
  t.load({41, 0}, kAddr);
  t.h().x[10] = kAddr;
  t.step(4);
  CHECK(t.h().x[6] == 0);
  CHECK(t.read64(kAddr) == 42);
  CHECK(t.h().pc == kRamBase + 16);
}
