// CSR access rules (privilege, read-only, nonexistent), WARL fields, the
// supervisor views of machine CSRs, FP CSR gating, and counters read at exact
// positions through the run loop.
#include <catch2/catch.hpp>

#include "core/csr.hpp"
#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::retired;
using hs::test::TestMachine;

namespace {

uint32_t csr_insn(unsigned f3, unsigned rd, unsigned csr, unsigned rs1) {
  return encode_i(op::kSystem, rd, f3, rs1, static_cast<int32_t>(csr));
}
uint32_t csrrw(unsigned rd, unsigned c, unsigned rs1) { return csr_insn(1, rd, c, rs1); }
uint32_t csrrs(unsigned rd, unsigned c, unsigned rs1) { return csr_insn(2, rd, c, rs1); }
uint32_t csrrc(unsigned rd, unsigned c, unsigned rs1) { return csr_insn(3, rd, c, rs1); }
uint32_t csrrwi(unsigned rd, unsigned c, unsigned imm) { return csr_insn(5, rd, c, imm); }
uint32_t csrrsi(unsigned rd, unsigned c, unsigned imm) { return csr_insn(6, rd, c, imm); }
uint32_t csrrci(unsigned rd, unsigned c, unsigned imm) { return csr_insn(7, rd, c, imm); }
uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) { return encode_i(op::kOpImm, rd, 0, rs1, imm); }
constexpr uint32_t kNop = 0x00000013;

void set_priv(Hart& h, Priv p) {
  h.priv = p;
  update_dmode(h);
}

// Writes `v` to `c` with csrrw x0 through the real handler; returns the flow.
Flow write_csr(TestMachine& t, unsigned c, uint64_t v) {
  t.h().x[31] = v;
  return t.exec(csrrw(0, c, 31));
}
// Reads `c` with csrrs x30, c, x0; REQUIREs it is legal.
uint64_t read_csr(TestMachine& t, unsigned c) {
  REQUIRE(retired(t.exec(csrrs(30, c, 0))));
  return t.h().x[30];
}
void require_illegal(TestMachine& t, uint32_t raw) {
  REQUIRE(t.exec(raw) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kIllegalInsn);
  CHECK(t.h().trap_tval == raw);
}

}  // namespace

TEST_CASE("reset state", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  CHECK(h.priv == Priv::M);
  CHECK(h.dmode == Priv::M);
  CHECK(h.pc == kRamBase);
  CHECK(read_csr(t, csr::kMisa) == 0x800000000014112dull);  // RV64 IMAFDC SU
  CHECK(read_csr(t, csr::kMstatus) == 0x0000000a00000000ull);  // UXL=SXL=64, FS Off
  CHECK(read_csr(t, csr::kMhartid) == 0);
  CHECK(read_csr(t, csr::kMvendorid) == 0);
  CHECK(read_csr(t, csr::kMarchid) == 0);
  CHECK(read_csr(t, csr::kMimpid) == 0);
  CHECK(read_csr(t, csr::kMconfigptr) == 0);
  CHECK(read_csr(t, csr::kSatp) == 0);
  CHECK(read_csr(t, csr::kMie) == 0);
  CHECK(read_csr(t, csr::kMip) == 0);
}

TEST_CASE("csrrw/csrrs/csrrc and immediate forms", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  h.x[1] = 0xf0f0;
  REQUIRE(retired(t.exec(csrrw(2, csr::kMscratch, 1))));
  CHECK(h.x[2] == 0);
  CHECK(h.mscratch == 0xf0f0);
  h.x[1] = 0x000f;
  REQUIRE(retired(t.exec(csrrs(2, csr::kMscratch, 1))));
  CHECK(h.x[2] == 0xf0f0);
  CHECK(h.mscratch == 0xf0ff);
  h.x[1] = 0x00f0;
  REQUIRE(retired(t.exec(csrrc(2, csr::kMscratch, 1))));
  CHECK(h.x[2] == 0xf0ff);
  CHECK(h.mscratch == 0xf00f);
  REQUIRE(retired(t.exec(csrrwi(3, csr::kMscratch, 21))));
  CHECK(h.x[3] == 0xf00f);
  CHECK(h.mscratch == 21);
  REQUIRE(retired(t.exec(csrrsi(3, csr::kMscratch, 10))));
  CHECK(h.mscratch == 31);
  REQUIRE(retired(t.exec(csrrci(3, csr::kMscratch, 3))));
  CHECK(h.x[3] == 31);
  CHECK(h.mscratch == 28);
  // rd == rs1: the old value lands in rd after rs1 was used as the source.
  h.x[4] = 7;
  REQUIRE(retired(t.exec(csrrw(4, csr::kMscratch, 4))));
  CHECK(h.x[4] == 28);
  CHECK(h.mscratch == 7);
  // x0 stays zero.
  REQUIRE(retired(t.exec(csrrs(0, csr::kMscratch, 0))));
  CHECK(h.x[0] == 0);
}

// A CSR instruction goes on in its block (kNext) unless its write may make
// an interrupt takeable or changes translation: the machine loop must look
// before the next instruction (rv_system.cpp csr_access). Either flow is
// exact; ending too rarely is the bug, ending always the cost (Linux's
// irq save/restore and FP flag accesses).
TEST_CASE("a CSR instruction ends its block only for interrupts and translation", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  h.x[5] = 0x1234;
  CHECK(t.exec(csrrw(0, csr::kMscratch, 5)) == Flow::kNext);
  CHECK(t.exec(csrrs(6, csr::kMstatus, 0)) == Flow::kNext);  // reads only
  CHECK(t.exec(csrrs(6, csr::kMepc, 5)) == Flow::kNext);
  // Interrupt enables: nothing pending, then MSIP pending but masked in mie,
  // then unmasked.
  h.x[5] = mstatus::kMIE;
  CHECK(t.exec(csrrs(0, csr::kMstatus, 5)) == Flow::kNext);
  h.mip |= irq_bit(irq::kMSI);
  CHECK(t.exec(csrrc(0, csr::kMstatus, 5)) == Flow::kNext);  // disabling
  CHECK(t.exec(csrrs(0, csr::kMstatus, 5)) == Flow::kNext);  // MSIE still 0
  h.x[5] = irq_bit(irq::kMSI);
  CHECK(t.exec(csrrs(0, csr::kMie, 5)) == Flow::kEndBlock);
  // Already takeable before: any write ends it (the loop takes it next).
  CHECK(t.exec(csrrw(0, csr::kMscratch, 5)) == Flow::kEndBlock);
  h.mip = 0;
  // Translation: satp and PMP writes flush the TLB; MPRV moves data accesses
  // to another TLB set.
  h.x[5] = 0;
  CHECK(t.exec(csrrw(0, csr::kSatp, 5)) == Flow::kEndBlock);
  CHECK(t.exec(csrrw(0, csr::kPmpaddr0, 5)) == Flow::kEndBlock);
  h.x[5] = mstatus::kMPRV;  // MPP is U after reset
  CHECK(t.exec(csrrs(0, csr::kMstatus, 5)) == Flow::kEndBlock);
  CHECK(t.exec(csrrs(0, csr::kMstatus, 5)) == Flow::kNext);  // no change
  CHECK(t.exec(csrrc(0, csr::kMstatus, 5)) == Flow::kEndBlock);
}

// End to end: the instruction after an enabling CSR write in the same
// block does not run before the interrupt.
TEST_CASE("an interrupt enabled mid-block is taken at the next instruction", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  t.load({csrrs(0, csr::kMie, 5), addi(1, 0, 1), addi(1, 0, 2)});
  h.mtvec = kRamBase + 0x100;
  h.mstatus |= mstatus::kMIE;
  h.mip |= irq_bit(irq::kMSI);
  h.x[5] = irq_bit(irq::kMSI);
  t.step(2);  // the CSR instruction and the interrupt's entry
  CHECK(h.pc == kRamBase + 0x100);
  CHECK(h.mepc == kRamBase + 4);
  CHECK(h.mcause == (cause::kInterruptBit | irq::kMSI));
  CHECK(h.x[1] == 0);
}

TEST_CASE("CSR privilege, read-only and nonexistent accesses are illegal", "[csr]") {
  TestMachine t;
  Hart& h = t.h();

  SECTION("machine CSRs from S-mode, supervisor CSRs from U-mode") {
    set_priv(h, Priv::S);
    require_illegal(t, csrrs(1, csr::kMstatus, 0));
    require_illegal(t, csrrw(0, csr::kMscratch, 1));
    require_illegal(t, csrrs(1, csr::kMcycle, 0));
    require_illegal(t, csrrs(1, csr::kPmpcfg0, 0));
    CHECK(read_csr(t, csr::kSstatus) == 0x0000000200000000ull);  // UXL only
    set_priv(h, Priv::U);
    require_illegal(t, csrrs(1, csr::kSstatus, 0));
    require_illegal(t, csrrs(1, csr::kSatp, 0));
  }
  SECTION("writes to read-only CSRs") {
    // csrrw always writes; csrrs/csrrc write only when rs1 is not x0, even if
    // the register holds 0.
    require_illegal(t, csrrw(1, csr::kMhartid, 0));
    require_illegal(t, csrrw(0, csr::kCycle, 1));
    h.x[5] = 0;
    require_illegal(t, csrrs(1, csr::kMvendorid, 5));
    require_illegal(t, csrrci(1, csr::kMimpid, 1));
    CHECK(retired(t.exec(csrrs(1, csr::kMhartid, 0))));
    CHECK(retired(t.exec(csrrci(1, csr::kMhartid, 0))));
  }
  SECTION("nonexistent CSRs") {
    for (unsigned c : {0x0ffu, 0x310u /* mstatush: RV32 only */, 0x3a1u /* pmpcfg1: RV32 only */,
                       0xc80u /* cycleh */, 0x7b0u /* dcsr: debug mode only */, 0x5c0u, 0xfffu}) {
      INFO("csr " << c);
      require_illegal(t, csrrs(1, c, 0));
      require_illegal(t, csrrw(0, c, 1));
    }
  }
  SECTION("a failed write changes nothing, not even rd") {
    set_priv(h, Priv::S);
    h.x[7] = 0x1234;
    h.mscratch = 99;
    h.x[1] = 5;
    require_illegal(t, csrrw(7, csr::kMscratch, 1));
    CHECK(h.x[7] == 0x1234);
    CHECK(h.mscratch == 99);
  }
}

TEST_CASE("probed-but-absent state reads as zero", "[csr]") {
  TestMachine t;
  for (unsigned c : {csr::kMhpmcounter3, csr::kMhpmcounter31, csr::kMhpmevent3, csr::kMhpmevent31,
                     csr::kMcountinhibit, csr::kTselect, csr::kTdata1, csr::kTdata2, csr::kTdata3,
                     csr::kPmpaddr0 + 16, csr::kPmpaddr63, csr::kPmpcfg0 + 4, csr::kPmpcfg15 - 1}) {
    INFO("csr " << c);
    REQUIRE(retired(write_csr(t, c, ~0ull)));
    CHECK(read_csr(t, c) == 0);
  }
}

TEST_CASE("machine CSR WARL fields", "[csr]") {
  TestMachine t;
  Hart& h = t.h();

  SECTION("misa ignores writes") {
    REQUIRE(retired(write_csr(t, csr::kMisa, 0)));
    CHECK(read_csr(t, csr::kMisa) == 0x800000000014112dull);
  }
  SECTION("mstatus: writable fields, fixed UXL/SXL, SD follows FS, MPP legal values") {
    REQUIRE(retired(write_csr(t, csr::kMstatus, ~0ull)));
    // SIE MIE SPIE MPIE SPP MPP FS MPRV SUM MXR TVM TW TSR, UXL=SXL=2, SD.
    CHECK(read_csr(t, csr::kMstatus) == 0x8000000a007e79aaull);
    REQUIRE(retired(write_csr(t, csr::kMstatus, 0)));
    CHECK(read_csr(t, csr::kMstatus) == 0x0000000a00000000ull);
    REQUIRE(retired(write_csr(t, csr::kMstatus, 1ull << 11)));  // MPP=S
    REQUIRE(retired(write_csr(t, csr::kMstatus, 2ull << 11)));  // reserved: keeps S
    CHECK(((h.mstatus >> 11) & 3) == 1);
    REQUIRE(retired(write_csr(t, csr::kMstatus, 1ull << 13)));  // FS Initial: no SD
    CHECK(h.mstatus == 0x0000000a00002000ull);
  }
  SECTION("medeleg/mideleg only hold delegable bits") {
    REQUIRE(retired(write_csr(t, csr::kMedeleg, ~0ull)));
    CHECK(read_csr(t, csr::kMedeleg) == 0xb3ff);  // no ecall-from-M, no reserved 10/14
    REQUIRE(retired(write_csr(t, csr::kMideleg, ~0ull)));
    CHECK(read_csr(t, csr::kMideleg) == 0x222);
    REQUIRE(retired(write_csr(t, csr::kMie, ~0ull)));
    CHECK(read_csr(t, csr::kMie) == 0xaaa);
  }
  SECTION("mip: SSIP/STIP/SEIP writable, M-level bits follow the devices") {
    REQUIRE(retired(write_csr(t, csr::kMip, ~0ull)));
    CHECK(read_csr(t, csr::kMip) == 0x222);
    h.set_irq(irq::kMTI, true);
    h.set_irq(irq::kMSI, true);
    REQUIRE(retired(write_csr(t, csr::kMip, 0)));
    CHECK(read_csr(t, csr::kMip) == 0x088);
    h.set_irq(irq::kMTI, false);
    CHECK(read_csr(t, csr::kMip) == 0x008);
  }
  SECTION("mip: the PLIC's SEIP is visible but never latched by read-modify-write") {
    h.set_irq(irq::kSEI, true);
    CHECK(read_csr(t, csr::kMip) == 0x200);
    h.x[1] = 0x20;  // csrs mip, STIP
    REQUIRE(retired(t.exec(csrrs(2, csr::kMip, 1))));
    CHECK(h.x[2] == 0x200);
    CHECK(h.mip == 0x20);  // software SEIP still clear
    h.x[1] = 0x20;  // csrc mip, STIP
    REQUIRE(retired(t.exec(csrrc(2, csr::kMip, 1))));
    CHECK(h.mip == 0);
    h.set_irq(irq::kSEI, false);
    CHECK(read_csr(t, csr::kMip) == 0);
  }
  SECTION("mtvec/stvec accept direct and vectored modes only") {
    REQUIRE(retired(write_csr(t, csr::kMtvec, kRamBase + 0x101)));
    CHECK(read_csr(t, csr::kMtvec) == kRamBase + 0x101);
    REQUIRE(retired(write_csr(t, csr::kMtvec, kRamBase + 0x202)));
    CHECK(read_csr(t, csr::kMtvec) == kRamBase + 0x101);
    REQUIRE(retired(write_csr(t, csr::kStvec, 0x1000)));
    REQUIRE(retired(write_csr(t, csr::kStvec, 0x2003)));
    CHECK(read_csr(t, csr::kStvec) == 0x1000);
  }
  SECTION("xepc bit 0 reads zero") {
    REQUIRE(retired(write_csr(t, csr::kMepc, 0x80000003)));
    CHECK(read_csr(t, csr::kMepc) == 0x80000002);
    REQUIRE(retired(write_csr(t, csr::kSepc, 0x11)));
    CHECK(read_csr(t, csr::kSepc) == 0x10);
  }
  SECTION("plain scratch/cause/tval registers hold any value") {
    for (unsigned c : {csr::kMscratch, csr::kMcause, csr::kMtval, csr::kSscratch, csr::kScause,
                       csr::kStval}) {
      REQUIRE(retired(write_csr(t, c, 0xdeadbeefcafef00dull)));
      CHECK(read_csr(t, c) == 0xdeadbeefcafef00dull);
    }
  }
  SECTION("counteren and envcfg") {
    REQUIRE(retired(write_csr(t, csr::kMcounteren, ~0ull)));
    CHECK(read_csr(t, csr::kMcounteren) == 0xffffffffu);
    REQUIRE(retired(write_csr(t, csr::kScounteren, ~0ull)));
    CHECK(read_csr(t, csr::kScounteren) == 0xffffffffu);
    REQUIRE(retired(write_csr(t, csr::kMenvcfg, ~0ull)));
    CHECK(read_csr(t, csr::kMenvcfg) == 1);  // FIOM; no Sstc/Svpbmt/CMO
    REQUIRE(retired(write_csr(t, csr::kSenvcfg, ~0ull)));
    CHECK(read_csr(t, csr::kSenvcfg) == 1);
  }
}

TEST_CASE("satp accepts Bare/Sv39/Sv48 and obeys TVM", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  const uint64_t sv39 = 8ull << 60 | 0x1234ull << 44 | 0x80100;
  REQUIRE(retired(write_csr(t, csr::kSatp, sv39)));
  CHECK(read_csr(t, csr::kSatp) == sv39);
  REQUIRE(retired(write_csr(t, csr::kSatp, 10ull << 60 | 0x80200)));  // Sv57: ignored
  CHECK(read_csr(t, csr::kSatp) == sv39);
  REQUIRE(retired(write_csr(t, csr::kSatp, 1ull << 60 | 0x80200)));  // reserved mode
  CHECK(read_csr(t, csr::kSatp) == sv39);
  const uint64_t sv48 = 9ull << 60 | 0x80300;
  REQUIRE(retired(write_csr(t, csr::kSatp, sv48)));
  CHECK(read_csr(t, csr::kSatp) == sv48);

  set_priv(h, Priv::S);
  CHECK(read_csr(t, csr::kSatp) == sv48);
  h.mstatus |= mstatus::kTVM;
  require_illegal(t, csrrs(1, csr::kSatp, 0));
  require_illegal(t, csrrw(0, csr::kSatp, 0));
  set_priv(h, Priv::M);  // TVM does not bind M-mode
  CHECK(read_csr(t, csr::kSatp) == sv48);
}

TEST_CASE("sstatus, sie and sip are views of the machine CSRs", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  h.mstatus |= mstatus::kMIE | mstatus::kMPIE | (3ull << 11) | mstatus::kTVM;
  set_priv(h, Priv::S);

  SECTION("sstatus") {
    REQUIRE(retired(write_csr(t, csr::kSstatus, ~0ull)));
    // Only SIE SPIE SPP FS SUM MXR changed; M fields kept.
    CHECK(h.mstatus == (0x8000000a00000000ull | mstatus::kMIE | mstatus::kMPIE | (3ull << 11) |
                        mstatus::kTVM | mstatus::kSIE | mstatus::kSPIE | mstatus::kSPP |
                        (3ull << 13) | mstatus::kSUM | mstatus::kMXR));
    // The view hides the M fields.
    CHECK(read_csr(t, csr::kSstatus) == 0x80000002000c6122ull);
    REQUIRE(retired(write_csr(t, csr::kSstatus, 0)));
    CHECK(read_csr(t, csr::kSstatus) == 0x0000000200000000ull);
    CHECK((h.mstatus & mstatus::kMIE) != 0);
  }
  SECTION("sie/sip follow mideleg") {
    h.mie = 0x888;  // M-level enables stay invisible
    h.mideleg = 0x022;  // SSI and STI delegated, SEI not
    REQUIRE(retired(write_csr(t, csr::kSie, ~0ull)));
    CHECK(h.mie == 0x8aa);
    CHECK(read_csr(t, csr::kSie) == 0x022);
    h.mip = 0x2a0;  // STIP, SEIP (sw), MTIP
    CHECK(read_csr(t, csr::kSip) == 0x020);
    // Only SSIP is writable through sip.
    REQUIRE(retired(write_csr(t, csr::kSip, ~0ull)));
    CHECK(h.mip == 0x2a2);
    REQUIRE(retired(write_csr(t, csr::kSip, 0)));
    CHECK(h.mip == 0x2a0);
    h.mideleg = 0;
    REQUIRE(retired(write_csr(t, csr::kSip, ~0ull)));
    CHECK(h.mip == 0x2a0);
    CHECK(read_csr(t, csr::kSip) == 0);
    CHECK(read_csr(t, csr::kSie) == 0);
  }
}

TEST_CASE("fflags/frm/fcsr need FS on and make it dirty", "[csr]") {
  TestMachine t;
  Hart& h = t.h();
  require_illegal(t, csrrs(1, csr::kFcsr, 0));
  require_illegal(t, csrrwi(0, csr::kFflags, 1));
  require_illegal(t, csrrs(1, csr::kFrm, 0));
  h.mstatus |= 1ull << 13;  // FS = Initial
  CHECK(read_csr(t, csr::kFcsr) == 0);
  CHECK((h.mstatus & mstatus::kSD) == 0);  // reading does not dirty
  REQUIRE(retired(t.exec(csrrwi(0, csr::kFrm, 3))));
  CHECK((h.mstatus & mstatus::kFS) == mstatus::kFSDirty);
  CHECK((h.mstatus & mstatus::kSD) != 0);
  REQUIRE(retired(t.exec(csrrsi(0, csr::kFflags, 0x15))));
  CHECK(read_csr(t, csr::kFcsr) == (3u << 5 | 0x15));
  REQUIRE(retired(write_csr(t, csr::kFcsr, 0xfff)));
  CHECK(h.frm == 7);
  CHECK(h.fflags == 0x1f);
  CHECK(read_csr(t, csr::kFcsr) == 0xff);
  CHECK(read_csr(t, csr::kFflags) == 0x1f);
  CHECK(read_csr(t, csr::kFrm) == 7);
  // Reachable from U-mode (unprivileged CSRs).
  set_priv(h, Priv::U);
  CHECK(read_csr(t, csr::kFflags) == 0x1f);
}

TEST_CASE("counters read the exact position, instret and time", "[csr][counters]") {
  TestMachine t;
  Hart& h = t.h();
  std::vector<uint32_t> prog(30, kNop);
  for (uint32_t w : {csrrs(5, csr::kCycle, 0), csrrs(6, csr::kInstret, 0), csrrs(7, csr::kTime, 0),
                     csrrs(8, csr::kMcycle, 0), csrrs(9, csr::kMinstret, 0)})
    prog.push_back(w);
  t.m.bus().write_bytes(PAddr{kRamBase}, {reinterpret_cast<const uint8_t*>(prog.data()), prog.size() * 4});
  t.step(35);
  REQUIRE(h.position == 35);
  CHECK(h.x[5] == 30);  // 30 nops ran before it, within the same block
  CHECK(h.x[6] == 31);
  CHECK(h.x[7] == 3);   // position 32 / 10 positions per tick
  CHECK(h.x[8] == 33);
  CHECK(h.x[9] == 34);
  CHECK(h.instret == 35);
}

TEST_CASE("mcycle/minstret writes replace the writing instruction's increment", "[csr][counters]") {
  TestMachine t;
  Hart& h = t.h();
  t.load({addi(1, 0, 1000), kNop, csrrw(0, csr::kMinstret, 1), csrrw(0, csr::kMcycle, 1),
          csrrs(5, csr::kInstret, 0), kNop, kNop, csrrs(6, csr::kInstret, 0), csrrs(7, csr::kCycle, 0)});
  t.step(9);
  CHECK(h.x[5] == 1001);  // minstret=1000 then csrw mcycle retired
  CHECK(h.x[6] == 1004);
  CHECK(h.x[7] == 1004);  // mcycle=1000 at position 3, read at position 8 (+1 for the write)
}

TEST_CASE("counter access below M-mode needs mcounteren/scounteren", "[csr][counters]") {
  TestMachine t;
  Hart& h = t.h();
  h.position = 95;
  set_priv(h, Priv::S);
  require_illegal(t, csrrs(1, csr::kCycle, 0));
  require_illegal(t, csrrs(1, csr::kTime, 0));
  require_illegal(t, csrrs(1, csr::kHpmcounter3, 0));
  h.mcounteren = 0x2;  // TM only
  CHECK(read_csr(t, csr::kTime) == 9);
  require_illegal(t, csrrs(1, csr::kInstret, 0));
  h.mcounteren = 0xffffffff;
  CHECK(read_csr(t, csr::kCycle) == 95);
  CHECK(read_csr(t, csr::kHpmcounter31) == 0);

  set_priv(h, Priv::U);
  require_illegal(t, csrrs(1, csr::kTime, 0));
  h.scounteren = 0x2;
  CHECK(read_csr(t, csr::kTime) == 9);
  require_illegal(t, csrrs(1, csr::kCycle, 0));
  h.mcounteren = 0x1;  // scounteren alone is not enough
  require_illegal(t, csrrs(1, csr::kTime, 0));
}

TEST_CASE("pmpcfg/pmpaddr WARL and locking", "[csr][pmp]") {
  TestMachine t;
  Hart& h = t.h();
  SECTION("R=0 W=1 reads back W=0, reserved bits clear") {
    REQUIRE(retired(write_csr(t, csr::kPmpcfg0, 0x00000000'0000ff1eull)));
    CHECK(read_csr(t, csr::kPmpcfg0) == 0x9f1c);
    CHECK(h.pmpcfg[0] == 0x1c);  // NAPOT | X, W dropped
    CHECK(h.pmpcfg[1] == 0x9f);  // L NAPOT X W R
  }
  SECTION("pmpcfg2 holds entries 8..15") {
    REQUIRE(retired(write_csr(t, csr::kPmpcfg0 + 2, 0x0f0e0d0c0b0a0908ull & 0x1f1f1f1f1f1f1f1full)));
    CHECK(h.pmpcfg[8] == 0x08);
    CHECK(h.pmpcfg[15] == 0x0f);
    // 0x0a and 0x0e have W without R: W reads back 0.
    CHECK(read_csr(t, csr::kPmpcfg0 + 2) == 0x0f0c0d0c0b080908ull);
    CHECK(read_csr(t, csr::kPmpcfg0) == 0);
  }
  SECTION("pmpaddr keeps 54 bits") {
    REQUIRE(retired(write_csr(t, csr::kPmpaddr0 + 3, ~0ull)));
    CHECK(read_csr(t, csr::kPmpaddr0 + 3) == (1ull << 54) - 1);
  }
  SECTION("a locked entry ignores writes to its cfg and address; a locked TOR its base too") {
    REQUIRE(retired(write_csr(t, csr::kPmpaddr0 + 1, 0x1000)));
    REQUIRE(retired(write_csr(t, csr::kPmpaddr0 + 2, 0x2000)));
    // entry 1: locked NA4 R; entry 2: locked TOR R.
    REQUIRE(retired(write_csr(t, csr::kPmpcfg0, 0x89'91'00ull)));
    REQUIRE(retired(write_csr(t, csr::kPmpcfg0, 0x1f'1f'1full)));
    CHECK(read_csr(t, csr::kPmpcfg0) == 0x89'91'1full);  // entry 0 still writable
    REQUIRE(retired(write_csr(t, csr::kPmpaddr0 + 1, 0x5555)));
    REQUIRE(retired(write_csr(t, csr::kPmpaddr0 + 2, 0x5555)));
    REQUIRE(retired(write_csr(t, csr::kPmpaddr0 + 0, 0x5555)));
    CHECK(read_csr(t, csr::kPmpaddr0 + 1) == 0x1000);
    CHECK(read_csr(t, csr::kPmpaddr0 + 2) == 0x2000);
    CHECK(read_csr(t, csr::kPmpaddr0 + 0) == 0x5555);
    // Only reset unlocks.
    h.reset(kRamBase);
    CHECK(read_csr(t, csr::kPmpcfg0) == 0);
  }
}
