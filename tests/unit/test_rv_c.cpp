// RV64C: every expansion against its 32-bit equivalent (compressed encodings
// taken from riscv64-unknown-elf-as), HINTs, and execution of compressed code.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>

#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::TestMachine;

namespace {

struct Expansion {
  uint16_t c;
  uint32_t full;
  const char* text;
};

uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) {
  return encode_i(op::kOpImm, rd, 0, rs1, imm);
}
uint32_t opr(uint32_t opc, unsigned f3, unsigned f7, unsigned rd, unsigned rs1, unsigned rs2) {
  return encode_r(opc, rd, f3, rs1, rs2, f7);
}

const Expansion kExpansions[] = {
    {0x1fe0, addi(8, 2, 1020), "c.addi4spn s0,sp,1020"},
    {0x005c, addi(15, 2, 4), "c.addi4spn a5,sp,4"},
    {0x3fe0, encode_i(op::kLoadFp, 8, 3, 15, 248), "c.fld fs0,248(a5)"},
    {0x5d64, encode_i(op::kLoad, 9, 2, 10, 124), "c.lw s1,124(a0)"},
    {0x7c78, encode_i(op::kLoad, 14, 3, 8, 248), "c.ld a4,248(s0)"},
    {0xa49c, encode_s(op::kStoreFp, 3, 9, 15, 8), "c.fsd fa5,8(s1)"},
    {0xc22c, encode_s(op::kStore, 2, 12, 11, 64), "c.sw a1,64(a2)"},
    {0xe354, encode_s(op::kStore, 3, 14, 13, 128), "c.sd a3,128(a4)"},
    {0x0001, addi(0, 0, 0), "c.nop"},
    {0x1281, addi(5, 5, -32), "c.addi t0,-32"},
    {0x037d, addi(6, 6, 31), "c.addi t1,31"},
    {0x33fd, encode_i(op::kOpImm32, 7, 0, 7, -1), "c.addiw t2,-1"},
    {0x553d, addi(10, 0, -17), "c.li a0,-17"},
    {0x7101, addi(2, 2, -512), "c.addi16sp sp,-512"},
    {0x617d, addi(2, 2, 496), "c.addi16sp sp,496"},
    {0x7581, encode_u(op::kLui, 11, -0x20000), "c.lui a1,0xfffe0"},
    {0x667d, encode_u(op::kLui, 12, 0x1f000), "c.lui a2,0x1f"},
    {0x907d, encode_i(op::kOpImm, 8, 5, 8, 63), "c.srli s0,63"},
    {0x8485, encode_i(op::kOpImm, 9, 5, 9, 0x400 | 1), "c.srai s1,1"},
    {0x996d, encode_i(op::kOpImm, 10, 7, 10, -5), "c.andi a0,-5"},
    {0x8c1d, opr(op::kOp, 0, 0x20, 8, 8, 15), "c.sub s0,a5"},
    {0x8cb9, opr(op::kOp, 4, 0, 9, 9, 14), "c.xor s1,a4"},
    {0x8d55, opr(op::kOp, 6, 0, 10, 10, 13), "c.or a0,a3"},
    {0x8df1, opr(op::kOp, 7, 0, 11, 11, 12), "c.and a1,a2"},
    {0x9e0d, opr(op::kOp32, 0, 0x20, 12, 12, 11), "c.subw a2,a1"},
    {0x9ea9, opr(op::kOp32, 0, 0, 13, 13, 10), "c.addw a3,a0"},
    {0xb001, encode_j(op::kJal, 0, -2048), "c.j .-2048"},
    {0xaffd, encode_j(op::kJal, 0, 2046), "c.j .+2046"},
    {0xd001, encode_b(op::kBranch, 0, 8, 0, -256), "c.beqz s0,.-256"},
    {0xeffd, encode_b(op::kBranch, 1, 15, 0, 254), "c.bnez a5,.+254"},
    {0x1ffe, encode_i(op::kOpImm, 31, 1, 31, 63), "c.slli t6,63"},
    {0x3ffe, encode_i(op::kLoadFp, 31, 3, 2, 504), "c.fldsp ft11,504(sp)"},
    {0x50fe, encode_i(op::kLoad, 1, 2, 2, 252), "c.lwsp ra,252(sp)"},
    {0x7f7e, encode_i(op::kLoad, 30, 3, 2, 504), "c.ldsp t5,504(sp)"},
    {0x8282, encode_i(op::kJalr, 0, 0, 5, 0), "c.jr t0"},
    {0x831e, opr(op::kOp, 0, 0, 6, 0, 7), "c.mv t1,t2"},
    {0x9002, 0x00100073, "c.ebreak"},
    {0x9482, encode_i(op::kJalr, 1, 0, 9, 0), "c.jalr s1"},
    {0x9a56, opr(op::kOp, 0, 0, 20, 20, 21), "c.add s4,s5"},
    {0xbf8e, encode_s(op::kStoreFp, 3, 2, 3, 504), "c.fsdsp ft3,504(sp)"},
    {0xdf92, encode_s(op::kStore, 2, 2, 4, 252), "c.swsp tp,252(sp)"},
    {0xfffe, encode_s(op::kStore, 3, 2, 31, 504), "c.sdsp t6,504(sp)"},
    // HINTs: legal, expand to instructions writing x0 (or no-op forms).
    {0x0015, addi(0, 0, 5), "c.addi zero,5 (HINT)"},
    {0x4015, addi(0, 0, 5), "c.li zero,5 (HINT)"},
    {0x8016, opr(op::kOp, 0, 0, 0, 0, 5), "c.mv zero,t0 (HINT)"},
    {0x9016, opr(op::kOp, 0, 0, 0, 0, 5), "c.add zero,t0 (HINT)"},
    {0x0016, encode_i(op::kOpImm, 0, 1, 0, 5), "c.slli zero,5 (HINT)"},
    {0x6005, encode_u(op::kLui, 0, 0x1000), "c.lui zero,1 (HINT)"},
    {0x0281, addi(5, 5, 0), "c.addi t0,0 (HINT)"},
    {0x8001, encode_i(op::kOpImm, 8, 5, 8, 0), "c.srli s0,0 (HINT)"},
};

}  // namespace

TEST_CASE("each compressed encoding expands to its 32-bit equivalent", "[rv_c]") {
  for (const Expansion& e : kExpansions) {
    INFO(e.text);
    CHECK(expand_compressed(e.c) == e.full);
  }
}

TEST_CASE("a compressed instruction decodes like its expansion, with length 2", "[rv_c]") {
  Decoder d;
  const uint64_t pc = kRamBase + 0x100;
  for (const Expansion& e : kExpansions) {
    INFO(e.text);
    uint8_t cflags = 0, fflags = 0;
    const DecodedInsn c = d.decode(0xffff0000u | e.c, pc, cflags);
    const DecodedInsn f = d.decode(e.full, pc, fflags);
    CHECK(c.len == 2);
    CHECK(f.len == 4);
    CHECK(c.raw == e.full);
    CHECK(cflags == fflags);
    CHECK(std::strcmp(d.name(c), d.name(f)) == 0);
    if (std::strcmp(d.name(f), "illegal") == 0) {
      // Its extension is not in the table (e.g. F/D before it lands): the trap
      // must still report the 16-bit encoding.
      CHECK(c.imm == e.c);
      continue;
    }
    CHECK(c.fn == f.fn);
    CHECK(c.spec == f.spec);
    CHECK(c.imm == f.imm);
    CHECK((c.rd == f.rd && c.rs1 == f.rs1 && c.rs2 == f.rs2 && c.rs3 == f.rs3));
  }
}

TEST_CASE("quadrant 3 is not a compressed encoding", "[rv_c]") {
  CHECK(expand_compressed(0x0003) == 0);
  CHECK(expand_compressed(0xffff) == 0);
}

TEST_CASE("compressed jumps link and branch relative to their own pc", "[rv_c]") {
  TestMachine t;
  t.h().pc = kRamBase + 0x1000;
  t.h().x[9] = kRamBase + 0x40;
  REQUIRE(t.exec(0x9482) == Flow::kJump);  // c.jalr s1
  CHECK(t.h().x[1] == kRamBase + 0x1002);  // link = pc + 2
  CHECK(t.h().pc == kRamBase + 0x40);

  t.h().pc = kRamBase + 0x1000;
  REQUIRE(t.exec(0xb001) == Flow::kJump);  // c.j -2048
  CHECK(t.h().pc == kRamBase + 0x800);

  t.h().pc = kRamBase + 0x1000;
  t.h().x[8] = 0;
  REQUIRE(t.exec(0xd001) == Flow::kJump);  // c.beqz s0, -256: taken
  CHECK(t.h().pc == kRamBase + 0xf00);
  t.h().x[8] = 1;
  CHECK(t.exec(0xd001) == Flow::kNext);  // not taken
}

TEST_CASE("compressed ALU and stack-relative memory operations execute", "[rv_c]") {
  TestMachine t;
  Hart& h = t.h();
  h.x[2] = kRamBase + 0x2000;  // sp
  h.x[31] = 0x0123456789abcdefull;
  REQUIRE(t.exec(0xfffe) != Flow::kTrap);  // c.sdsp t6,504(sp)
  CHECK(t.read64(kRamBase + 0x2000 + 504) == 0x0123456789abcdefull);
  REQUIRE(t.exec(0x7f7e) != Flow::kTrap);  // c.ldsp t5,504(sp)
  CHECK(h.x[30] == 0x0123456789abcdefull);
  REQUIRE(t.exec(0x7101) == Flow::kNext);  // c.addi16sp sp,-512
  CHECK(h.x[2] == kRamBase + 0x2000 - 512);
  REQUIRE(t.exec(0x1fe0) == Flow::kNext);  // c.addi4spn s0,sp,1020
  CHECK(h.x[8] == kRamBase + 0x2000 - 512 + 1020);
  h.x[12] = 5;
  REQUIRE(t.exec(0x33fd) == Flow::kNext);  // c.addiw t2,-1 with t2 = 0
  CHECK(h.x[7] == ~0ull);
  REQUIRE(t.exec(0x7581) == Flow::kNext);  // c.lui a1,0xfffe0
  CHECK(h.x[11] == 0xfffffffffffe0000ull);
  REQUIRE(t.exec(0x9e0d) == Flow::kNext);  // c.subw a2,a1: 5 - (-0x20000)
  CHECK(h.x[12] == 0x20005);
  h.x[5] = 77;
  REQUIRE(t.exec(0x8016) == Flow::kNext);  // c.mv zero,t0 (HINT)
  CHECK(h.x[0] == 0);
}

TEST_CASE("mixed 16- and 32-bit code runs through the block loop", "[rv_c][loop]") {
  TestMachine t;
  // a0 = 10; s0 = 0; loop: s0 += a0 (c.add); a0 -= 1 (c.addi); bnez a0 (c.bnez); then a 32-bit
  // addi.
  const uint16_t cli_a0_10 = 0x4529;    // c.li a0,10
  const uint16_t cli_s0_0 = 0x4401;     // c.li s0,0
  const uint16_t cadd_s0_a0 = 0x942a;   // c.add s0,a0
  const uint16_t caddi_a0_m1 = 0x157d;  // c.addi a0,-1
  const uint16_t cbnez_a0_m4 = 0xfd75;  // c.bnez a0,.-4
  const uint32_t tail = addi(13, 0, 3);
  t.load16({cli_a0_10, cli_s0_0, cadd_s0_a0, caddi_a0_m1, cbnez_a0_m4, static_cast<uint16_t>(tail),
            static_cast<uint16_t>(tail >> 16)});
  t.step(2 + 10 * 3 + 1);
  CHECK(t.h().x[8] == 55);
  CHECK(t.h().x[10] == 0);
  CHECK(t.h().x[13] == 3);
  CHECK(t.h().pc == kRamBase + 14);
}

TEST_CASE("c.ebreak expands to ebreak", "[rv_c]") {
  CHECK(expand_compressed(0x9002) == 0x00100073u);
}
