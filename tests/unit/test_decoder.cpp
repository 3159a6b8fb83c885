// Decoder: instruction-table consistency, operand extraction per format, and
// illegal encodings (32-bit and compressed) trapping with the right tval.
#include <bit>
#include <catch2/catch.hpp>
#include <cstring>

#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::TestMachine;

namespace {

DecodedInsn decode(const Decoder& d, uint32_t raw, uint8_t& flags, uint64_t pc = kRamBase) {
  return d.decode(raw, pc, flags);
}

}  // namespace

TEST_CASE("every spec's match lies inside its mask and is a 32-bit encoding", "[decoder]") {
  Decoder d;
  REQUIRE(d.specs().size() >= 50 + 13 + 22);  // at least RV64I + M + A
  for (const InsnSpec& s : d.specs()) {
    INFO(s.name);
    CHECK((s.match & ~s.mask) == 0);
    CHECK((s.match & 3) == 3);       // low bits 11: never a compressed encoding
    CHECK((s.mask & 0x7f) == 0x7f);  // the major opcode is always decoded (grouping key)
    CHECK(s.fn.threaded != nullptr);
    CHECK(s.fn.exec != nullptr);
  }
}

TEST_CASE("no two instruction encodings overlap", "[decoder]") {
  Decoder d;
  const auto specs = d.specs();
  int overlaps = 0;
  for (size_t a = 0; a < specs.size(); ++a) {
    for (size_t b = a + 1; b < specs.size(); ++b) {
      // Some encoding matches both iff the matches agree on every bit that both masks fix.
      const uint32_t common = specs[a].mask & specs[b].mask;
      if (((specs[a].match ^ specs[b].match) & common) == 0) {
        ++overlaps;
        FAIL_CHECK(specs[a].name << " overlaps " << specs[b].name);
      }
    }
  }
  CHECK(overlaps == 0);
}

TEST_CASE("every spec decodes its own match to itself", "[decoder]") {
  Decoder d;
  const auto specs = d.specs();
  for (size_t k = 0; k < specs.size(); ++k) {
    uint8_t flags = 0xff;
    const DecodedInsn di = decode(d, specs[k].match, flags);
    INFO(specs[k].name);
    CHECK(di.spec == k);
    CHECK(di.fn == specs[k].fn.threaded);
    CHECK(flags == specs[k].flags);
    CHECK(std::strcmp(d.name(di), specs[k].name) == 0);
  }
}

TEST_CASE("encoders agree with the GNU assembler", "[decoder]") {
  // Words from riscv64-unknown-elf-as -march=rv64gc_zifencei.
  CHECK(encode_i(op::kOpImm, 1, 0, 2, -1) == 0xfff10093u);      // addi ra,sp,-1
  CHECK(encode_s(op::kStore, 2, 6, 5, -2048) == 0x80532023u);   // sw t0,-2048(t1)
  CHECK(encode_b(op::kBranch, 0, 1, 2, -4096) == 0x80208063u);  // beq ra,sp,.-4096
  CHECK(encode_b(op::kBranch, 1, 3, 4, 4094) == 0x7e419fe3u);   // bne gp,tp,.+4094
  CHECK(encode_u(op::kLui, 7, static_cast<int32_t>(0x80000000u)) == 0x800003b7u);  // lui t2,0x80000
  CHECK(encode_j(op::kJal, 1, -1048576) == 0x800000efu);                           // jal ra,.-1MiB
  CHECK(encode_j(op::kJal, 0, 1048574) == 0x7ffff06fu);                            // j .+1MiB-2
  CHECK(encode_r(op::kOp, 8, 0, 9, 10, 0x20) == 0x40a48433u);                      // sub s0,s1,a0
}

TEST_CASE("operands are extracted per format with sign-extended immediates", "[decoder]") {
  Decoder d;
  uint8_t flags;

  SECTION("R: add s0,s1,a0") {
    const DecodedInsn i = decode(d, 0x00a48433, flags);
    CHECK(std::strcmp(d.name(i), "add") == 0);
    CHECK((i.rd == 8 && i.rs1 == 9 && i.rs2 == 10));
    CHECK(i.len == 4);
    CHECK(i.raw == 0x00a48433u);
    CHECK(i.pc == kRamBase);
    CHECK(flags == 0);
  }
  SECTION("I: addi ra,sp,-1") {
    const DecodedInsn i = decode(d, 0xfff10093, flags);
    CHECK((i.rd == 1 && i.rs1 == 2 && i.imm == -1));
  }
  SECTION("I: srai ra,sp,63 keeps funct6 in imm, shamt in its low 6 bits") {
    const DecodedInsn i = decode(d, 0x43f15093, flags);
    CHECK(std::strcmp(d.name(i), "srai") == 0);
    CHECK((i.imm & 63) == 63);
  }
  SECTION("S: sw t0,-2048(t1)") {
    const DecodedInsn i = decode(d, 0x80532023, flags);
    CHECK((i.rs1 == 6 && i.rs2 == 5 && i.imm == -2048));
    CHECK(i.rd == kSinkReg);  // no destination register
  }
  SECTION("B: beq ra,sp,-4096 and bne gp,tp,+4094") {
    DecodedInsn i = decode(d, 0x80208063, flags);
    CHECK((i.rs1 == 1 && i.rs2 == 2 && i.imm == -4096));
    CHECK(flags == 0);  // a not-taken branch falls through inside its block
    i = decode(d, 0x7e419fe3, flags);
    CHECK((i.rs1 == 3 && i.rs2 == 4 && i.imm == 4094));
  }
  SECTION("U: lui t2,0x80000 is sign-extended to 64 bits") {
    const DecodedInsn i = decode(d, 0x800003b7, flags);
    CHECK((i.rd == 7 && i.imm == -0x80000000ll));
  }
  SECTION("J: jal ra,-1MiB and j +1MiB-2") {
    DecodedInsn i = decode(d, 0x800000ef, flags);
    CHECK((i.rd == 1 && i.imm == -1048576));
    CHECK(flags == kEndsBlock);
    i = decode(d, 0x7ffff06f, flags);
    CHECK((i.rd == kSinkReg && i.imm == 1048574));
  }
  SECTION("R (A): amoswap.d.aqrl ra,sp,(gp)") {
    const DecodedInsn i = decode(d, 0x0e21b0af, flags);
    CHECK(std::strcmp(d.name(i), "amoswap.d") == 0);
    CHECK((i.rd == 1 && i.rs1 == 3 && i.rs2 == 2));
  }
  SECTION("rd == x0 is rewritten to the sink register") {
    const DecodedInsn i = decode(d, encode_i(op::kOpImm, 0, 0, 5, 7), flags);
    CHECK(i.rd == kSinkReg);
    CHECK(i.writes_x0());
    CHECK(i.rs1 == 5);
  }
  SECTION("fence rw,rw and fence.i") {
    DecodedInsn i = decode(d, 0x0330000f, flags);
    CHECK(std::strcmp(d.name(i), "fence") == 0);
    CHECK(flags == 0);
    i = decode(d, 0x0000100f, flags);
    CHECK(std::strcmp(d.name(i), "fence.i") == 0);
    CHECK(flags == kEndsBlock);
  }
}

namespace {

// Runs `raw` through exec() and checks it is the illegal-instruction trap with
// tval = `tval` and length `len`.
void check_illegal(uint32_t raw, uint32_t tval, unsigned len) {
  TestMachine t;
  uint8_t flags = 0;
  const DecodedInsn di = t.m.decoder().decode(raw, kRamBase, flags);
  INFO("raw = 0x" << std::hex << raw);
  CHECK(std::strcmp(t.m.decoder().name(di), "illegal") == 0);
  CHECK(flags == kEndsBlock);
  CHECK(di.len == len);
  CHECK(t.exec(raw) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kIllegalInsn);
  CHECK(t.h().trap_tval == tval);
}

}  // namespace

TEST_CASE("illegal and reserved 32-bit encodings trap with the encoding as tval", "[decoder]") {
  const uint32_t cases[] = {
      0xffffffffu,                                  // all ones
      encode_i(op::kOpImm, 1, 1, 2, 0x040 | 3),     // slli with funct6 = 000001
      encode_i(op::kOpImm, 1, 5, 2, 0x440 | 3),     // srai with funct6 = 010001
      encode_i(op::kOpImm32, 1, 1, 2, 32),          // slliw shamt[5] = 1
      encode_i(op::kOpImm32, 1, 5, 2, 0x400 | 32),  // sraiw shamt[5] = 1
      encode_r(op::kOp, 1, 0, 2, 3, 0x10),          // add with bad funct7
      encode_r(op::kOp32, 1, 1, 2, 3, 0x01),        // OP-32 funct7=1 funct3=1 (no mulw variant)
      encode_i(op::kJalr, 1, 1, 2, 0),              // jalr funct3 = 1
      encode_b(op::kBranch, 2, 1, 2, 8),            // branch funct3 = 2
      encode_i(op::kLoad, 1, 7, 2, 0),              // load funct3 = 7
      encode_s(op::kStore, 4, 1, 2, 0),             // store funct3 = 4
      encode_r(op::kAmo, 1, 0, 2, 3, 0),            // AMO funct3 = 0 (byte AMOs not in A)
      0x1002a22fu | (1u << 20),                     // lr.w with rs2 != 0
      encode_r(op::kAmo, 1, 2, 2, 3, 0x05 << 2),    // AMO funct5 = 00101
      0x0000000bu,                                  // custom-0
  };
  for (uint32_t raw : cases) check_illegal(raw, raw, 4);
}

TEST_CASE("reserved compressed encodings trap with the 16-bit encoding as tval", "[decoder]") {
  const uint16_t cases[] = {
      0x0000,  // all zeros (c.addi4spn x8, 0)
      0x0004,  // c.addi4spn with nzuimm = 0
      0x8000,  // quadrant 0, funct3 100
      0x2001,  // c.addiw with rd = x0
      0x3001,  // c.addiw with rd = x0, imm[5] set
      0x6081,  // c.lui x1, 0
      0x6101,  // c.addi16sp with nzimm = 0
      0x8002,  // c.jr x0
      0x4002,  // c.lwsp x0
      0x6002,  // c.ldsp x0
      0x9c41,  // quadrant 1 misc-alu, bit 12 set, funct2 = 10
      0x9c61,  // quadrant 1 misc-alu, bit 12 set, funct2 = 11
  };
  for (uint16_t c : cases) {
    // Upper halfword bits are the next instruction's and must not leak into tval.
    check_illegal(0xdead0000u | c, c, 2);
  }
}

TEST_CASE("an illegal instruction traps through the run loop at its own pc", "[decoder]") {
  TestMachine t;
  const uint64_t handler = kRamBase + 0x100;
  t.h().mtvec = handler;
  // addi a0, zero, 7; then a reserved compressed encoding at +4.
  t.load({encode_i(op::kOpImm, 10, 0, 0, 7), 0x00006081});
  t.step(2);
  CHECK(t.h().x[10] == 7);
  CHECK(t.h().mcause == cause::kIllegalInsn);
  CHECK(t.h().mtval == 0x6081);
  CHECK(t.h().mepc == kRamBase + 4);
  CHECK(t.h().pc == handler);
  CHECK(t.m.position().v == 2);  // one retired + one trap entry
  CHECK(t.h().instret == 1);
}
