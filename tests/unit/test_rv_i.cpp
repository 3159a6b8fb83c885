// RV64I semantics: ALU (immediate, register, W forms), control transfer,
// loads/stores, fences, plus end-to-end programs through the run loop (a
// counted loop, and self-modifying code).
#include <catch2/catch.hpp>

#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::retired;
using hs::test::TestMachine;

namespace {

// Tiny assembler for the instructions used below.
uint32_t opi(unsigned f3, unsigned rd, unsigned rs1, int32_t imm) {
  return encode_i(op::kOpImm, rd, f3, rs1, imm);
}
uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) { return opi(0, rd, rs1, imm); }
uint32_t opiw(unsigned f3, unsigned rd, unsigned rs1, int32_t imm) {
  return encode_i(op::kOpImm32, rd, f3, rs1, imm);
}
uint32_t opr(unsigned f3, unsigned f7, unsigned rd, unsigned rs1, unsigned rs2) {
  return encode_r(op::kOp, rd, f3, rs1, rs2, f7);
}
uint32_t oprw(unsigned f3, unsigned f7, unsigned rd, unsigned rs1, unsigned rs2) {
  return encode_r(op::kOp32, rd, f3, rs1, rs2, f7);
}
uint32_t load(unsigned f3, unsigned rd, unsigned rs1, int32_t off) {
  return encode_i(op::kLoad, rd, f3, rs1, off);
}
uint32_t store(unsigned f3, unsigned rs2, unsigned rs1, int32_t off) {
  return encode_s(op::kStore, f3, rs1, rs2, off);
}
uint32_t branch(unsigned f3, unsigned rs1, unsigned rs2, int32_t off) {
  return encode_b(op::kBranch, f3, rs1, rs2, off);
}
uint32_t jal(unsigned rd, int32_t off) { return encode_j(op::kJal, rd, off); }
uint32_t jalr(unsigned rd, unsigned rs1, int32_t off) {
  return encode_i(op::kJalr, rd, 0, rs1, off);
}

enum : unsigned { kBeq = 0, kBne = 1, kBlt = 4, kBge = 5, kBltu = 6, kBgeu = 7 };
constexpr uint64_t kData = kRamBase + 0x8000;


// Executes one register-register op with x1 = a, x2 = b and returns x3.
uint64_t rr(uint32_t raw, uint64_t a, uint64_t b) {
  TestMachine t;
  t.h().x[1] = a;
  t.h().x[2] = b;
  REQUIRE(t.exec(raw) == Flow::kNext);
  return t.h().x[3];
}
// Executes one register-immediate op with x1 = a and returns x3.
uint64_t ri(uint32_t raw, uint64_t a) { return rr(raw, a, 0); }

}  // namespace

TEST_CASE("lui and auipc", "[rv_i]") {
  TestMachine t;
  REQUIRE(t.exec(encode_u(op::kLui, 5, static_cast<int32_t>(0x80000000u))) == Flow::kNext);
  CHECK(t.h().x[5] == 0xffffffff80000000ull);
  REQUIRE(t.exec(encode_u(op::kLui, 5, 0x12345000)) == Flow::kNext);
  CHECK(t.h().x[5] == 0x12345000u);
  t.h().pc = kRamBase + 0x10;
  REQUIRE(t.exec(encode_u(op::kAuipc, 6, 0x1000)) == Flow::kNext);
  CHECK(t.h().x[6] == kRamBase + 0x1010);
  REQUIRE(t.exec(encode_u(op::kAuipc, 6, static_cast<int32_t>(0xfffff000u))) == Flow::kNext);
  CHECK(t.h().x[6] == kRamBase + 0x10 - 0x1000);
}

TEST_CASE("immediate ALU operations", "[rv_i]") {
  CHECK(ri(addi(3, 1, -1), 0) == ~0ull);
  CHECK(ri(addi(3, 1, 2047), 1) == 2048);
  CHECK(ri(opi(2, 3, 1, -1), static_cast<uint64_t>(-2)) == 1);  // slti -2 < -1
  CHECK(ri(opi(2, 3, 1, -1), 0) == 0);                          // slti 0 < -1
  CHECK(ri(opi(3, 3, 1, -1), 5) == 1);                          // sltiu 5 < 2^64-1
  CHECK(ri(opi(3, 3, 1, 1), 0) == 1);                           // sltiu: seqz
  CHECK(ri(opi(3, 3, 1, 1), 7) == 0);
  CHECK(ri(opi(4, 3, 1, -1), 0x00ff00ff00ff00ffull) == 0xff00ff00ff00ff00ull);  // xori = not
  CHECK(ri(opi(6, 3, 1, 0x0f0), 0x100) == 0x1f0);                               // ori
  CHECK(ri(opi(7, 3, 1, -16), 0x12345678ffull) == 0x12345678f0ull);             // andi
  CHECK(ri(opi(1, 3, 1, 63), 1) == 0x8000000000000000ull);                      // slli 63
  CHECK(ri(opi(1, 3, 1, 32), 0xabcdull) == 0xabcd00000000ull);                  // slli 32
  CHECK(ri(opi(5, 3, 1, 63), 0x8000000000000000ull) == 1);                      // srli 63
  CHECK(ri(opi(5, 3, 1, 0x400 | 63), 0x8000000000000000ull) == ~0ull);          // srai 63
  CHECK(ri(opi(5, 3, 1, 0x400 | 4), 0xf0ull) == 0x0f);                          // srai positive
}

TEST_CASE("register ALU operations", "[rv_i]") {
  CHECK(rr(opr(0, 0, 3, 1, 2), ~0ull, 2) == 1);                               // add wraps
  CHECK(rr(opr(0, 0x20, 3, 1, 2), 0, 1) == ~0ull);                            // sub
  CHECK(rr(opr(1, 0, 3, 1, 2), 1, 65) == 2);                                  // sll uses rs2[5:0]
  CHECK(rr(opr(2, 0, 3, 1, 2), static_cast<uint64_t>(-5), 3) == 1);           // slt signed
  CHECK(rr(opr(3, 0, 3, 1, 2), static_cast<uint64_t>(-5), 3) == 0);           // sltu unsigned
  CHECK(rr(opr(3, 0, 3, 0, 2), 0, 9) == 1);                                   // sltu x0 < rs2: snez
  CHECK(rr(opr(4, 0, 3, 1, 2), 0xff00, 0x0ff0) == 0xf0f0);                    // xor
  CHECK(rr(opr(5, 0, 3, 1, 2), 0x8000000000000000ull, 127) == 1);             // srl by 63
  CHECK(rr(opr(5, 0x20, 3, 1, 2), 0x8000000000000000ull, 60) == ~0ull << 3);  // sra
  CHECK(rr(opr(6, 0, 3, 1, 2), 0xf000, 0x000f) == 0xf00f);                    // or
  CHECK(rr(opr(7, 0, 3, 1, 2), 0xff0f, 0x0ff0) == 0x0f00);                    // and
}

TEST_CASE("W operations sign-extend 32-bit results", "[rv_i]") {
  CHECK(ri(opiw(0, 3, 1, 1), 0x7fffffff) == 0xffffffff80000000ull);             // addiw overflow
  CHECK(ri(opiw(0, 3, 1, 0), 0x1234567880000000ull) == 0xffffffff80000000ull);  // sext.w
  CHECK(ri(opiw(1, 3, 1, 31), 1) == 0xffffffff80000000ull);                     // slliw
  CHECK(ri(opiw(5, 3, 1, 4), 0xffffffff80000000ull) == 0x08000000);        // srliw ignores upper
  CHECK(ri(opiw(5, 3, 1, 0), 0x00000000ffffffffull) == ~0ull);             // srliw 0 sign-extends
  CHECK(ri(opiw(5, 3, 1, 0x400 | 31), 0x0000000080000000ull) == ~0ull);    // sraiw
  CHECK(rr(oprw(0, 0, 3, 1, 2), 0x7fffffff, 1) == 0xffffffff80000000ull);  // addw
  CHECK(rr(oprw(0, 0x20, 3, 1, 2), 0, 1) == ~0ull);                        // subw
  CHECK(rr(oprw(1, 0, 3, 1, 2), 1, 33) == 2);                              // sllw uses rs2[4:0]
  CHECK(rr(oprw(5, 0, 3, 1, 2), 0xffffffff80000000ull, 31) == 1);          // srlw
  CHECK(rr(oprw(5, 0x20, 3, 1, 2), 0x80000000ull, 35) == 0xfffffffff0000000ull);  // sraw by 3
}

TEST_CASE("writes to x0 are discarded", "[rv_i]") {
  TestMachine t;
  t.h().x[1] = 5;
  REQUIRE(t.exec(addi(0, 1, 9)) == Flow::kNext);
  CHECK(t.h().x[0] == 0);
  REQUIRE(t.exec(addi(2, 0, 3)) == Flow::kNext);  // reading x0 still gives 0
  CHECK(t.h().x[2] == 3);
}

TEST_CASE("jal and jalr link pc+4 and jump", "[rv_i]") {
  TestMachine t;
  t.h().pc = kRamBase + 0x100;
  REQUIRE(t.exec(jal(1, -0x40)) == Flow::kJump);
  CHECK(t.h().x[1] == kRamBase + 0x104);
  CHECK(t.h().pc == kRamBase + 0xc0);

  t.h().pc = kRamBase + 0x200;
  t.h().x[5] = kRamBase + 0x1001;
  REQUIRE(t.exec(jalr(5, 5, 2)) == Flow::kJump);  // rd == rs1: target uses the old value
  CHECK(t.h().pc == kRamBase + 0x1002);           // (0x1001 + 2) & ~1
  CHECK(t.h().x[5] == kRamBase + 0x204);

  t.h().pc = kRamBase + 0x300;
  t.h().x[6] = kRamBase + 0x2000;
  REQUIRE(t.exec(jalr(0, 6, -7)) == Flow::kJump);
  CHECK(t.h().pc == kRamBase + 0x2000 - 8);  // -7 then bit 0 cleared
  CHECK(t.h().x[0] == 0);
}

TEST_CASE("conditional branches", "[rv_i]") {
  struct Case {
    unsigned f3;
    uint64_t a, b;
    bool taken;
  };
  const uint64_t m1 = ~0ull;
  const Case cases[] = {
      {kBeq, 5, 5, true},   {kBeq, 5, 6, false},   {kBne, 5, 6, true},   {kBne, 5, 5, false},
      {kBlt, m1, 0, true},  {kBlt, 0, m1, false},  {kBlt, 3, 3, false},  {kBge, 0, m1, true},
      {kBge, 3, 3, true},   {kBge, m1, 0, false},  {kBltu, 0, m1, true}, {kBltu, m1, 0, false},
      {kBgeu, m1, 0, true}, {kBgeu, 0, m1, false}, {kBgeu, 7, 7, true},
  };
  for (const Case& c : cases) {
    TestMachine t;
    t.h().pc = kRamBase + 0x40;
    t.h().x[1] = c.a;
    t.h().x[2] = c.b;
    INFO("funct3 " << c.f3 << " a " << c.a << " b " << c.b);
    const Flow f = t.exec(branch(c.f3, 1, 2, -0x20));
    CHECK(f == (c.taken ? Flow::kJump : Flow::kNext));
    if (c.taken) CHECK(t.h().pc == kRamBase + 0x20);
  }
}

TEST_CASE("loads sign- or zero-extend, stores write their width", "[rv_i]") {
  TestMachine t;
  t.load({0x89abcdefu, 0x80706050u}, kData);
  t.h().x[1] = kData + 8;
  struct Case {
    unsigned f3;
    int32_t off;
    uint64_t expect;
  };
  const Case cases[] = {
      {0, -8, 0xffffffffffffffefull},  // lb
      {4, -8, 0xef},                   // lbu
      {1, -6, 0xffffffffffff89abull},  // lh
      {5, -6, 0x89ab},                 // lhu
      {2, -4, 0xffffffff80706050ull},  // lw
      {6, -4, 0x80706050},             // lwu
      {3, -8, 0x8070605089abcdefull},  // ld
      {2, -7, 0x5089abcdull},          // misaligned lw is performed
  };
  for (const Case& c : cases) {
    INFO("funct3 " << c.f3);
    REQUIRE(retired(t.exec(load(c.f3, 3, 1, c.off))));
    CHECK(t.h().x[3] == c.expect);
  }

  t.h().x[2] = 0x1122334455667788ull;
  REQUIRE(retired(t.exec(store(0, 2, 1, 0))));  // sb
  REQUIRE(retired(t.exec(store(1, 2, 1, 2))));  // sh
  REQUIRE(retired(t.exec(store(2, 2, 1, 4))));  // sw
  CHECK(t.read64(kData + 8) == 0x5566778877880088ull);
  REQUIRE(retired(t.exec(store(3, 2, 1, 9))));  // misaligned sd
  CHECK(t.read64(kData + 16) == 0x2233445566778800ull);
  CHECK((t.read64(kData + 8) & 0xff) == 0x88);
}

TEST_CASE("a load or store to unmapped memory traps with the address", "[rv_i]") {
  TestMachine t;
  t.h().x[1] = 0x40000000;
  t.h().x[3] = 77;
  CHECK(t.exec(load(3, 3, 1, 16)) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kLoadAccessFault);
  CHECK(t.h().trap_tval == 0x40000010u);
  CHECK(t.h().x[3] == 77);  // destination untouched
  CHECK(t.exec(store(2, 3, 1, -4)) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kStoreAccessFault);
  CHECK(t.h().trap_tval == 0x3ffffffcu);
}

TEST_CASE("fence is a no-op, fence.i ends the block", "[rv_i]") {
  TestMachine t;
  CHECK(t.exec(0x0330000f) == Flow::kNext);      // fence rw,rw
  CHECK(t.exec(0x0000100f) == Flow::kEndBlock);  // fence.i
}

TEST_CASE("a counted loop runs through the block loop", "[rv_i][loop]") {
  TestMachine t;
  // sum = 0; for (i = 1; i != 101; ++i) sum += i;
  t.load({
      addi(10, 0, 0),            // a0 = 0
      addi(11, 0, 1),            // a1 = 1
      addi(12, 0, 101),          // a2 = 101
      opr(0, 0, 10, 10, 11),     // loop: a0 += a1
      addi(11, 11, 1),           //       a1 += 1
      branch(kBne, 11, 12, -8),  //       bne a1, a2, loop
      addi(13, 0, 1),            // a3 = 1 (after the loop)
  });
  t.step(3 + 100 * 3 + 1);
  CHECK(t.h().x[10] == 5050);
  CHECK(t.h().x[11] == 101);
  CHECK(t.h().x[13] == 1);
  CHECK(t.h().pc == kRamBase + 28);
  CHECK(t.h().instret == 304);
  CHECK(t.m.position().v == 304);
}

TEST_CASE("stepping stops at exact positions inside a block", "[rv_i][loop]") {
  TestMachine t;
  t.load({addi(10, 0, 1), addi(10, 10, 1), addi(10, 10, 1), addi(10, 10, 1), jal(0, 0)});
  t.step(2);
  CHECK(t.h().x[10] == 2);
  CHECK(t.h().pc == kRamBase + 8);
  t.step(1);
  CHECK(t.h().x[10] == 3);
  CHECK(t.h().pc == kRamBase + 12);
}

TEST_CASE("self-modifying code: a store over a later instruction of the same block takes effect",
          "[rv_i][smc]") {
  TestMachine t;
  const uint32_t replacement = addi(10, 0, 42);
  // The new instruction word is built in a1 = (hi << 12) + lo, lo sign-extended.
  const int32_t lo = static_cast<int32_t>(sext(replacement & 0xfff, 12));
  const int32_t hi = static_cast<int32_t>(replacement - static_cast<uint32_t>(lo));
  t.load({
      encode_u(op::kLui, 11, hi),   // 0:  a1 = hi
      opiw(0, 11, 11, lo),          // 4:  a1 = replacement (addiw: 32-bit value)
      encode_u(op::kAuipc, 12, 0),  // 8:  a2 = pc
      store(2, 11, 12, 8),          // 12: sw a1, 8(a2) -> overwrites the word at 16
      addi(10, 0, 1),               // 16: a0 = 1  (replaced by a0 = 42)
      addi(13, 0, 5),               // 20
  });
  t.step(6);
  CHECK(t.h().x[10] == 42);
  CHECK(t.h().x[13] == 5);
  CHECK(t.h().pc == kRamBase + 24);
}

TEST_CASE("self-modifying code: a cached block is re-decoded after its page is written",
          "[rv_i][smc]") {
  TestMachine t;
  const uint64_t func = kRamBase + 0x1000;
  // func: a0 = 1; ret     (called twice; patched in between)
  t.load({addi(10, 0, 1), jalr(0, 1, 0)}, func);
  t.h().x[5] = func;
  t.h().x[6] = addi(10, 0, 2);
  t.load({
      jalr(1, 5, 0),         // 0:  call func
      opr(0, 0, 20, 10, 0),  // 4:  s4 = a0
      store(2, 6, 5, 0),     // 8:  sw t1, 0(t0): patch func's first instruction
      jalr(1, 5, 0),         // 12: call func
      opr(0, 0, 21, 10, 0),  // 16: s5 = a0
  });
  t.step(9);
  CHECK(t.h().x[20] == 1);
  CHECK(t.h().x[21] == 2);
  CHECK(t.h().pc == kRamBase + 20);
}
