// Trap entry and delegation, xRET, interrupt selection (priority, enables,
// delegation, vectored mode), WFI, ecall/ebreak, through the handlers and
// through the run loop.
#include <catch2/catch.hpp>

#include "core/csr.hpp"
#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::TestMachine;

namespace {

constexpr uint32_t kEcall = 0x00000073, kEbreak = 0x00100073, kMret = 0x30200073,
                   kSret = 0x10200073, kWfi = 0x10500073, kNop = 0x00000013;
constexpr uint64_t kIntr = cause::kInterruptBit;
constexpr uint64_t kMtvec = kRamBase + 0x400, kStvec = kRamBase + 0x800;

uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) { return encode_i(op::kOpImm, rd, 0, rs1, imm); }
uint32_t csrrs(unsigned rd, unsigned c, unsigned rs1) {
  return encode_i(op::kSystem, rd, 2, rs1, static_cast<int32_t>(c));
}

void set_priv(Hart& h, Priv p) {
  h.priv = p;
  update_dmode(h);
}
// S/U-mode code needs a PMP entry: one NAPOT entry over everything, RWX.
void open_pmp(Hart& h) {
  h.pmpaddr[0] = (1ull << 54) - 1;
  h.pmpcfg[0] = pmp::kNapot << pmp::kAShift | pmp::kR | pmp::kW | pmp::kX;
  h.tlb_flush();
}
uint64_t mpp(const Hart& h) { return (h.mstatus & mstatus::kMPP) >> mstatus::kMPPShift; }

// A machine with trap vectors set and PMP open, hart at `pc` in mode `p`.
struct TrapMachine : TestMachine {
  TrapMachine(Priv p, uint64_t pc) {
    open_pmp(h());
    h().mtvec = kMtvec;
    h().stvec = kStvec;
    set_priv(h(), p);
    h().pc = pc;
  }
};

}  // namespace

TEST_CASE("ecall from U-mode traps to M unless delegated", "[trap]") {
  const uint64_t at = kRamBase + 0x100;
  SECTION("not delegated") {
    TrapMachine t(Priv::U, at);
    Hart& h = t.h();
    t.load({kEcall}, at);
    h.mstatus |= mstatus::kMIE | mstatus::kSIE;
    t.step(1);
    CHECK(h.priv == Priv::M);
    CHECK(h.pc == kMtvec);
    CHECK(h.mcause == cause::kEcallU);
    CHECK(h.mepc == at);
    CHECK(h.mtval == 0);
    CHECK(mpp(h) == 0);
    CHECK((h.mstatus & mstatus::kMPIE) != 0);
    CHECK((h.mstatus & mstatus::kMIE) == 0);
    CHECK((h.mstatus & mstatus::kSIE) != 0);  // S state untouched
    CHECK(h.scause == 0);
    CHECK(h.position == 1);  // the trap entry is a position...
    CHECK(h.instret == 0);   // ...but ecall does not retire
  }
  SECTION("delegated to S") {
    TrapMachine t(Priv::U, at);
    Hart& h = t.h();
    t.load({kEcall}, at);
    h.medeleg = 1u << cause::kEcallU;
    h.mstatus |= mstatus::kSIE;
    t.step(1);
    CHECK(h.priv == Priv::S);
    CHECK(h.dmode == Priv::S);
    CHECK(h.pc == kStvec);
    CHECK(h.scause == cause::kEcallU);
    CHECK(h.sepc == at);
    CHECK(h.stval == 0);
    CHECK((h.mstatus & mstatus::kSPP) == 0);
    CHECK((h.mstatus & mstatus::kSPIE) != 0);
    CHECK((h.mstatus & mstatus::kSIE) == 0);
    CHECK(h.mcause == 0);
    CHECK(h.mepc == 0);
  }
}

TEST_CASE("ecall cause and delegation depend on the current mode", "[trap]") {
  const uint64_t at = kRamBase + 0x100;
  SECTION("S-mode, delegated: stays in S with SPP=S") {
    TrapMachine t(Priv::S, at);
    t.load({kEcall}, at);
    t.h().medeleg = 1u << cause::kEcallS;
    t.step(1);
    CHECK(t.h().priv == Priv::S);
    CHECK(t.h().scause == cause::kEcallS);
    CHECK((t.h().mstatus & mstatus::kSPP) != 0);
  }
  SECTION("S-mode, not delegated") {
    TrapMachine t(Priv::S, at);
    t.load({kEcall}, at);
    t.h().medeleg = 1u << cause::kEcallU;
    t.step(1);
    CHECK(t.h().priv == Priv::M);
    CHECK(t.h().mcause == cause::kEcallS);
    CHECK(mpp(t.h()) == 1);
  }
  SECTION("M-mode ignores medeleg") {
    TrapMachine t(Priv::M, at);
    t.load({kEcall}, at);
    t.h().medeleg = 0xb3ff;
    t.step(1);
    CHECK(t.h().priv == Priv::M);
    CHECK(t.h().mcause == cause::kEcallM);
    CHECK(mpp(t.h()) == 3);
    CHECK(t.h().pc == kMtvec);
    CHECK(t.h().scause == 0);
  }
}

TEST_CASE("delegated exceptions carry tval into stval", "[trap]") {
  const uint64_t at = kRamBase + 0x100;
  TrapMachine t(Priv::S, at);
  t.load({0xffffffff}, at);  // illegal
  t.h().medeleg = 1u << cause::kIllegalInsn;
  t.step(1);
  CHECK(t.h().priv == Priv::S);
  CHECK(t.h().scause == cause::kIllegalInsn);
  CHECK(t.h().stval == 0xffffffff);
  CHECK(t.h().sepc == at);
}

TEST_CASE("ebreak reports its own pc", "[trap]") {
  TrapMachine t(Priv::M, kRamBase);
  t.load({kNop, kEbreak});
  REQUIRE(t.exec(kNop) == Flow::kNext);
  t.h().pc = kRamBase + 4;
  REQUIRE(t.exec(kEbreak) == Flow::kTrap);
  CHECK(t.h().trap_cause == cause::kBreakpoint);
  CHECK(t.h().trap_tval == kRamBase + 4);
  t.h().pc = kRamBase;
  t.step(2);
  CHECK(t.h().mcause == cause::kBreakpoint);
  CHECK(t.h().mepc == kRamBase + 4);
  CHECK(t.h().mtval == kRamBase + 4);
  CHECK(t.h().instret == 1);
  CHECK(t.h().position == 2);
}

TEST_CASE("a trap handler sees positions and instret including the trap entry", "[trap][counters]") {
  TrapMachine t(Priv::M, kRamBase);
  t.load({kNop, kNop, kEcall});
  t.load({csrrs(5, csr::kCycle, 0), csrrs(6, csr::kInstret, 0)}, kMtvec);
  t.step(5);
  CHECK(t.h().x[5] == 3);  // nop, nop, trap entry
  CHECK(t.h().x[6] == 3);  // nop, nop, csrr cycle
  CHECK(t.h().position == 5);
  CHECK(t.h().instret == 4);
}

TEST_CASE("traps clear the LR reservation", "[trap]") {
  TestMachine t;
  t.h().reservation = kRamBase;
  t.h().reservation_valid = true;
  t.h().take_trap(cause::kIllegalInsn, 0, kRamBase);
  CHECK_FALSE(t.h().reservation_valid);
}

TEST_CASE("mret restores the interrupt stack and privilege", "[trap][xret]") {
  TrapMachine t(Priv::M, kRamBase);
  Hart& h = t.h();
  SECTION("to S-mode clears MPRV") {
    h.mstatus |= mstatus::kMPIE | (1ull << mstatus::kMPPShift) | mstatus::kMPRV;
    h.mepc = kRamBase + 0x200;
    REQUIRE(t.exec(kMret) == Flow::kJump);
    CHECK(h.priv == Priv::S);
    CHECK(h.dmode == Priv::S);
    CHECK(h.pc == kRamBase + 0x200);
    CHECK((h.mstatus & mstatus::kMIE) != 0);
    CHECK((h.mstatus & mstatus::kMPIE) != 0);
    CHECK(mpp(h) == 0);
    CHECK((h.mstatus & mstatus::kMPRV) == 0);
  }
  SECTION("to M-mode keeps MPRV") {
    h.mstatus |= (3ull << mstatus::kMPPShift) | mstatus::kMPRV | mstatus::kMIE;
    h.mepc = kRamBase + 0x300;
    REQUIRE(t.exec(kMret) == Flow::kJump);
    CHECK(h.priv == Priv::M);
    CHECK((h.mstatus & mstatus::kMIE) == 0);  // from MPIE=0
    CHECK((h.mstatus & mstatus::kMPIE) != 0);
    CHECK((h.mstatus & mstatus::kMPRV) != 0);
    CHECK(mpp(h) == 0);
    CHECK(h.dmode == Priv::U);  // MPRV now selects MPP=U for data
  }
  SECTION("illegal outside M-mode") {
    set_priv(h, Priv::S);
    REQUIRE(t.exec(kMret) == Flow::kTrap);
    CHECK(h.trap_cause == cause::kIllegalInsn);
    CHECK(h.trap_tval == kMret);
    CHECK(h.priv == Priv::S);
  }
  SECTION("round trip through the run loop: M -> U -> ecall -> M") {
    h.mstatus |= 0ull << mstatus::kMPPShift;
    h.mepc = kRamBase + 0x100;
    t.load({kMret});
    t.load({addi(1, 0, 42), kEcall}, kRamBase + 0x100);
    t.step(3);
    CHECK(h.x[1] == 42);
    CHECK(h.priv == Priv::M);
    CHECK(h.mcause == cause::kEcallU);
    CHECK(h.mepc == kRamBase + 0x104);
    CHECK(h.pc == kMtvec);
  }
}

TEST_CASE("sret restores the S interrupt stack and privilege", "[trap][xret]") {
  TrapMachine t(Priv::S, kRamBase);
  Hart& h = t.h();
  h.sepc = kRamBase + 0x500;
  SECTION("S to U") {
    h.mstatus |= mstatus::kSPIE;
    REQUIRE(t.exec(kSret) == Flow::kJump);
    CHECK(h.priv == Priv::U);
    CHECK(h.pc == kRamBase + 0x500);
    CHECK((h.mstatus & mstatus::kSIE) != 0);
    CHECK((h.mstatus & mstatus::kSPIE) != 0);
    CHECK((h.mstatus & mstatus::kSPP) == 0);
  }
  SECTION("S to S") {
    h.mstatus |= mstatus::kSPP | mstatus::kSIE;
    REQUIRE(t.exec(kSret) == Flow::kJump);
    CHECK(h.priv == Priv::S);
    CHECK((h.mstatus & mstatus::kSIE) == 0);
    CHECK((h.mstatus & mstatus::kSPP) == 0);
  }
  SECTION("allowed in M-mode, clears MPRV") {
    set_priv(h, Priv::M);
    h.mstatus |= mstatus::kSPP | mstatus::kMPRV;
    REQUIRE(t.exec(kSret) == Flow::kJump);
    CHECK(h.priv == Priv::S);
    CHECK((h.mstatus & mstatus::kMPRV) == 0);
  }
  SECTION("illegal in U-mode and in S-mode with TSR") {
    set_priv(h, Priv::U);
    REQUIRE(t.exec(kSret) == Flow::kTrap);
    CHECK(h.trap_cause == cause::kIllegalInsn);
    set_priv(h, Priv::S);
    h.mstatus |= mstatus::kTSR;
    REQUIRE(t.exec(kSret) == Flow::kTrap);
    CHECK(h.trap_cause == cause::kIllegalInsn);
    CHECK(h.priv == Priv::S);
    set_priv(h, Priv::M);  // TSR binds S-mode only
    CHECK(t.exec(kSret) == Flow::kJump);
  }
}

TEST_CASE("interrupt priority: MEI MSI MTI SEI SSI STI", "[trap][irq]") {
  TestMachine t;
  Hart& h = t.h();
  h.mie = 0xaaa;
  h.mip = 0x222;  // SSIP STIP SEIP (software)
  for (unsigned line : {irq::kMSI, irq::kMTI, irq::kMEI}) h.set_irq(line, true);
  std::vector<uint64_t> order;
  for (int n = 0; n < 6; ++n) {
    set_priv(h, Priv::M);
    h.mstatus |= mstatus::kMIE;
    REQUIRE(h.take_pending_interrupt());
    const uint64_t c = h.mcause & ~kIntr;
    order.push_back(c);
    if (c == irq::kMSI || c == irq::kMTI || c == irq::kMEI) h.set_irq(static_cast<unsigned>(c), false);
    else h.mip &= ~irq_bit(static_cast<unsigned>(c));
  }
  CHECK(order == std::vector<uint64_t>{11, 3, 7, 9, 1, 5});
  set_priv(h, Priv::M);
  h.mstatus |= mstatus::kMIE;
  CHECK_FALSE(h.take_pending_interrupt());
}

TEST_CASE("interrupt enables and delegation", "[trap][irq]") {
  TrapMachine t(Priv::M, kRamBase + 0x40);
  Hart& h = t.h();
  h.mie = 0xaaa;
  SECTION("M-level interrupts need MIE in M-mode, none below") {
    h.set_irq(irq::kMTI, true);
    CHECK_FALSE(h.take_pending_interrupt());
    set_priv(h, Priv::S);
    REQUIRE(h.take_pending_interrupt());
    CHECK(h.priv == Priv::M);
    CHECK(h.mcause == (kIntr | irq::kMTI));
    CHECK(h.mepc == kRamBase + 0x40);
    CHECK(h.mtval == 0);
    CHECK(mpp(h) == 1);
    CHECK(h.pc == kMtvec);
  }
  SECTION("mie masks") {
    h.mie = 0;
    h.set_irq(irq::kMEI, true);
    set_priv(h, Priv::U);
    CHECK_FALSE(h.take_pending_interrupt());
  }
  SECTION("delegated interrupts: never in M, in S with SIE, always in U") {
    h.mideleg = 0x222;
    h.mip = irq_bit(irq::kSTI);
    h.mstatus |= mstatus::kMIE;
    CHECK_FALSE(h.take_pending_interrupt());
    set_priv(h, Priv::S);
    CHECK_FALSE(h.take_pending_interrupt());
    set_priv(h, Priv::U);
    REQUIRE(h.take_pending_interrupt());
    CHECK(h.priv == Priv::S);
    CHECK(h.scause == (kIntr | irq::kSTI));
    CHECK(h.sepc == kRamBase + 0x40);
    CHECK(h.pc == kStvec);
    CHECK(h.mcause == 0);
    // Back in S with SIE=1.
    h.pc = kRamBase + 0x80;
    h.mstatus |= mstatus::kSIE;
    REQUIRE(h.take_pending_interrupt());
    CHECK(h.sepc == kRamBase + 0x80);
    CHECK((h.mstatus & mstatus::kSPP) != 0);
  }
  SECTION("M-level interrupts beat delegated ones") {
    h.mideleg = 0x222;
    h.mip = irq_bit(irq::kSTI);
    h.set_irq(irq::kMTI, true);
    set_priv(h, Priv::S);
    h.mstatus |= mstatus::kSIE;
    REQUIRE(h.take_pending_interrupt());
    CHECK(h.priv == Priv::M);
    CHECK(h.mcause == (kIntr | irq::kMTI));
  }
  SECTION("the PLIC's SEIP is delivered to S without touching software SEIP") {
    h.mideleg = 0x222;
    set_priv(h, Priv::U);
    h.set_irq(irq::kSEI, true);
    CHECK(h.mip == 0);
    CHECK(h.effective_mip() == irq_bit(irq::kSEI));
    REQUIRE(h.take_pending_interrupt());
    CHECK(h.scause == (kIntr | irq::kSEI));
  }
}

TEST_CASE("vectored trap vectors apply to interrupts only", "[trap][irq]") {
  TrapMachine t(Priv::M, kRamBase + 0x40);
  Hart& h = t.h();
  h.mtvec = kMtvec | 1;
  h.stvec = kStvec | 1;
  h.mie = 0xaaa;
  h.mstatus |= mstatus::kMIE;
  h.set_irq(irq::kMTI, true);
  REQUIRE(h.take_pending_interrupt());
  CHECK(h.pc == kMtvec + 4 * 7);
  h.take_trap(cause::kIllegalInsn, 0, kRamBase);
  CHECK(h.pc == kMtvec);
  h.set_irq(irq::kMTI, false);
  h.mideleg = 0x222;
  h.mip = irq_bit(irq::kSSI);
  set_priv(h, Priv::U);
  REQUIRE(h.take_pending_interrupt());
  CHECK(h.pc == kStvec + 4 * 1);
}

TEST_CASE("interrupts through the run loop", "[trap][irq]") {
  TrapMachine t(Priv::M, kRamBase);
  Hart& h = t.h();
  t.load({kNop, kNop, kNop, kNop});
  h.mie = irq_bit(irq::kMSI);
  h.mstatus |= mstatus::kMIE;
  t.step(2);
  h.set_irq(irq::kMSI, true);
  t.step(1);  // taken before the next instruction, as a position of its own
  CHECK(h.pc == kMtvec);
  CHECK(h.mepc == kRamBase + 8);
  CHECK(h.mcause == (kIntr | irq::kMSI));
  CHECK(h.position == 3);
  CHECK(h.instret == 2);
}

TEST_CASE("wfi legality", "[trap][wfi]") {
  TestMachine t;
  Hart& h = t.h();
  CHECK(t.exec(kWfi) == Flow::kWfi);
  h.mstatus |= mstatus::kTW;
  CHECK(t.exec(kWfi) == Flow::kWfi);  // TW binds lower modes only
  set_priv(h, Priv::S);
  REQUIRE(t.exec(kWfi) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kIllegalInsn);
  CHECK(h.trap_tval == kWfi);
  h.mstatus &= ~mstatus::kTW;
  CHECK(t.exec(kWfi) == Flow::kWfi);
  set_priv(h, Priv::U);
  REQUIRE(t.exec(kWfi) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kIllegalInsn);
}

TEST_CASE("wfi sleeps until an enabled interrupt is pending", "[trap][wfi]") {
  TrapMachine t(Priv::M, kRamBase);
  Hart& h = t.h();
  t.load({kWfi, addi(1, 0, 5), kNop});
  h.mie = irq_bit(irq::kMSI);
  t.step(1);
  CHECK(h.wfi);
  CHECK(h.pc == kRamBase + 4);
  CHECK(h.instret == 1);
  // Nothing can wake it: the loop reports idle without moving time.
  CHECK(t.m.run(t.m.position() + 5) == StopReason::kIdle);
  CHECK(h.position == 1);
  SECTION("with MIE=0 it resumes after wfi") {
    h.set_irq(irq::kMSI, true);
    t.step(1);
    CHECK(h.x[1] == 5);
    CHECK(h.priv == Priv::M);
    CHECK(h.mcause == 0);
  }
  SECTION("with MIE=1 it takes the interrupt, epc after wfi") {
    h.mstatus |= mstatus::kMIE;
    h.set_irq(irq::kMSI, true);
    t.step(1);
    CHECK(h.x[1] == 0);
    CHECK(h.pc == kMtvec);
    CHECK(h.mepc == kRamBase + 4);
  }
}
