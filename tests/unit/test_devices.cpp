// Device models of the virt board, exercised through the bus at their QEMU
// virt addresses, plus the board's wiring.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "devices/boot_rom.hpp"
#include "devices/clint.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/test_finisher.hpp"
#include "devices/uart16550.hpp"
#include "devices/virt.hpp"

using namespace hs;

namespace {

// Records the current level of every line and how often each was driven.
struct RecordingSink : IrqSink {
  std::map<unsigned, bool> level;
  std::map<unsigned, int> changes;
  void set_irq(unsigned line, bool l) override {
    level[line] = l;
    ++changes[line];
  }
  bool high(unsigned line) const {
    auto it = level.find(line);
    return it != level.end() && it->second;
  }
};

uint64_t rd(Bus& bus, uint64_t pa, unsigned size) {
  uint64_t v = 0xdeadbeef;
  REQUIRE(bus.read(PAddr{pa}, size, v));
  return v;
}
void wr(Bus& bus, uint64_t pa, unsigned size, uint64_t v) {
  REQUIRE(bus.write(PAddr{pa}, size, v));
}
bool rd_fails(Bus& bus, uint64_t pa, unsigned size) {
  uint64_t v;
  return !bus.read(PAddr{pa}, size, v);
}
bool wr_fails(Bus& bus, uint64_t pa, unsigned size) { return !bus.write(PAddr{pa}, size, 0); }

// Scripted inputs from outside the VM.
struct FakeHostInput : HostInput {
  std::string typed;
  uint64_t wall = 0;
  int wall_reads = 0;
  size_t console(std::span<uint8_t> out) override {
    const size_t n = std::min(out.size(), typed.size());
    std::memcpy(out.data(), typed.data(), n);
    typed.erase(0, n);
    return n;
  }
  uint64_t wall_clock_ns() override {
    ++wall_reads;
    return wall;
  }
  void entropy(std::span<uint8_t> out) override { std::fill(out.begin(), out.end(), 0x5a); }
};

}  // namespace

// ---------------------------------------------------------------- finisher

TEST_CASE("test finisher: pass, fail with code, reset", "[finisher]") {
  std::optional<int> exit_code;
  int resets = 0;
  TestFinisher fin([&](int c) { exit_code = c; }, [&] { ++resets; });
  Bus bus;
  constexpr uint64_t base = VirtBoard::kTestBase;
  bus.add_device(PAddr{base}, TestFinisher::kSize, &fin);

  SECTION("0x5555 exits with 0") {
    wr(bus, base, 4, 0x5555);
    CHECK(exit_code == 0);
  }
  SECTION("0x3333 | code << 16 exits with code") {
    wr(bus, base, 4, 0x3333 | (42u << 16));
    CHECK(exit_code == 42);
  }
  SECTION("16-bit pass store") {
    wr(bus, base, 2, 0x5555);
    CHECK(exit_code == 0);
  }
  SECTION("0x7777 requests a reset") {
    wr(bus, base, 4, 0x7777);
    CHECK(resets == 1);
    CHECK_FALSE(exit_code);
  }
  SECTION("unknown commands are ignored, reads return 0") {
    wr(bus, base, 4, 0x1234);
    CHECK_FALSE(exit_code);
    CHECK(resets == 0);
    CHECK(rd(bus, base, 4) == 0);
  }
  SECTION("bad offsets and sizes fault") {
    CHECK(wr_fails(bus, base + 4, 4));
    CHECK(wr_fails(bus, base, 1));
    CHECK(wr_fails(bus, base, 8));
    CHECK(rd_fails(bus, base + 0x10, 4));
    CHECK_FALSE(exit_code);
  }
}

// ---------------------------------------------------------------- CLINT

namespace {
struct ClintFixture {
  HartState hs;
  Clock clock{hs};
  RecordingSink hart;
  Clint clint{clock, &hart};
  Bus bus;
  static constexpr uint64_t base = VirtBoard::kClintBase;
  ClintFixture() { bus.add_device(PAddr{base}, Clint::kSize, &clint); }
  void at(uint64_t position) { hs.position = position; }
};
}  // namespace

TEST_CASE("CLINT msip drives MSI", "[clint]") {
  ClintFixture f;
  CHECK(rd(f.bus, f.base + Clint::kRegMsip, 4) == 0);
  wr(f.bus, f.base + Clint::kRegMsip, 4, 1);
  CHECK(f.hart.high(irq::kMSI));
  CHECK(rd(f.bus, f.base + Clint::kRegMsip, 4) == 1);
  wr(f.bus, f.base + Clint::kRegMsip, 4, 0xfffffffe);  // only bit 0 exists
  CHECK_FALSE(f.hart.high(irq::kMSI));
  CHECK(rd(f.bus, f.base + Clint::kRegMsip, 4) == 0);
}

TEST_CASE("CLINT mtime is the position in timebase ticks and ignores stores", "[clint]") {
  ClintFixture f;
  f.at(123456789012ull);
  const uint64_t ticks = Clock::ticks_at(Position{123456789012ull});
  CHECK(rd(f.bus, f.base + Clint::kRegMtime, 8) == ticks);
  CHECK(rd(f.bus, f.base + Clint::kRegMtime, 4) == (ticks & 0xffffffff));
  CHECK(rd(f.bus, f.base + Clint::kRegMtime + 4, 4) == ticks >> 32);
  wr(f.bus, f.base + Clint::kRegMtime, 8, 0);  // accepted, no effect
  CHECK(rd(f.bus, f.base + Clint::kRegMtime, 8) == ticks);
  f.at(123456789012ull + 10 * Clock::kPositionsPerTick);
  CHECK(f.clint.mtime() == ticks + 10);
}

TEST_CASE("CLINT raises MTIP exactly at the mtimecmp position", "[clint]") {
  ClintFixture f;
  // Reset: no timer armed.
  CHECK(rd(f.bus, f.base + Clint::kRegMtimecmp, 8) == UINT64_MAX);
  CHECK(f.clint.next_deadline() == Position::max());

  f.at(5);
  wr(f.bus, f.base + Clint::kRegMtimecmp, 8, 100);
  CHECK_FALSE(f.hart.high(irq::kMTI));
  const Position due = Clock::position_of_tick(100);
  CHECK(f.clint.next_deadline() == due);

  f.clint.advance(Position{due.v - 1});
  CHECK_FALSE(f.hart.high(irq::kMTI));
  f.clint.advance(due);
  CHECK(f.hart.high(irq::kMTI));
  CHECK(f.clint.next_deadline() == Position::max());

  SECTION("a later mtimecmp lowers MTIP at the store and re-arms the deadline") {
    f.at(due.v + 3);
    wr(f.bus, f.base + Clint::kRegMtimecmp, 8, 200);
    CHECK_FALSE(f.hart.high(irq::kMTI));
    CHECK(f.clint.next_deadline() == Clock::position_of_tick(200));
  }
  SECTION("32-bit halves: writing the high word all-ones first never fires early") {
    f.at(due.v + 3);
    wr(f.bus, f.base + Clint::kRegMtimecmp + 4, 4, 0xffffffff);
    CHECK_FALSE(f.hart.high(irq::kMTI));
    wr(f.bus, f.base + Clint::kRegMtimecmp, 4, 0x500);
    wr(f.bus, f.base + Clint::kRegMtimecmp + 4, 4, 0);
    CHECK(rd(f.bus, f.base + Clint::kRegMtimecmp, 8) == 0x500);
    CHECK(rd(f.bus, f.base + Clint::kRegMtimecmp + 4, 4) == 0);
    CHECK(f.clint.next_deadline() == Clock::position_of_tick(0x500));
  }
  SECTION("an mtimecmp already in the past raises MTIP at the store") {
    wr(f.bus, f.base + Clint::kRegMtimecmp, 8, UINT64_MAX);
    CHECK_FALSE(f.hart.high(irq::kMTI));
    f.at(10 * Clock::kPositionsPerTick);
    wr(f.bus, f.base + Clint::kRegMtimecmp, 8, 10);
    CHECK(f.hart.high(irq::kMTI));
  }
}

TEST_CASE("CLINT state restores and re-drives its lines", "[clint]") {
  ClintFixture f;
  f.at(1000);
  wr(f.bus, f.base + Clint::kRegMsip, 4, 1);
  wr(f.bus, f.base + Clint::kRegMtimecmp, 8, 50);
  const Clint::State saved = f.clint.state();
  CHECK(saved.mtip);

  ClintFixture g;
  g.at(1000);
  g.clint.restore(saved);
  CHECK(g.hart.high(irq::kMSI));
  CHECK(g.hart.high(irq::kMTI));
  CHECK(rd(g.bus, g.base + Clint::kRegMtimecmp, 8) == 50);
}

TEST_CASE("CLINT rejects bad offsets and sizes", "[clint]") {
  ClintFixture f;
  CHECK(rd_fails(f.bus, f.base + Clint::kRegMsip, 8));
  CHECK(rd_fails(f.bus, f.base + Clint::kRegMsip, 1));
  CHECK(rd_fails(f.bus, f.base + 4, 4));  // msip of a hart that does not exist
  CHECK(rd_fails(f.bus, f.base + Clint::kRegMtimecmp + 8, 8));
  CHECK(rd_fails(f.bus, f.base + Clint::kRegMtimecmp + 4, 8));  // misaligned 8-byte
  CHECK(rd_fails(f.bus, f.base + Clint::kRegMtime, 2));
  CHECK(wr_fails(f.bus, f.base + 0x8000, 4));
}

// ---------------------------------------------------------------- PLIC

namespace {
struct PlicFixture {
  RecordingSink hart;
  Plic plic{{IrqLine{&hart, irq::kMEI}, IrqLine{&hart, irq::kSEI}}};
  Bus bus;
  static constexpr uint64_t base = VirtBoard::kPlicBase;
  PlicFixture() { bus.add_device(PAddr{base}, Plic::kSize, &plic); }

  uint64_t prio(unsigned src) const { return base + Plic::kPriorityBase + 4 * src; }
  uint64_t enable(unsigned ctx, unsigned word = 0) const {
    return base + Plic::kEnableBase + Plic::kEnableStride * ctx + 4 * word;
  }
  uint64_t threshold(unsigned ctx) const {
    return base + Plic::kContextBase + Plic::kContextStride * ctx + Plic::kThresholdOffset;
  }
  uint64_t claim_reg(unsigned ctx) const {
    return base + Plic::kContextBase + Plic::kContextStride * ctx + Plic::kClaimOffset;
  }
  uint64_t claim(unsigned ctx) { return rd(bus, claim_reg(ctx), 4); }
  void complete(unsigned ctx, unsigned src) { wr(bus, claim_reg(ctx), 4, src); }
  uint64_t pending() { return rd(bus, base + Plic::kPendingBase, 4); }
};
}  // namespace

TEST_CASE("PLIC registers: priorities, enables, thresholds", "[plic]") {
  PlicFixture f;
  wr(f.bus, f.prio(5), 4, 0xff);
  CHECK(rd(f.bus, f.prio(5), 4) == 7);  // 3 priority bits
  wr(f.bus, f.prio(0), 4, 3);
  CHECK(rd(f.bus, f.prio(0), 4) == 0);  // source 0 does not exist
  wr(f.bus, f.enable(1, 0), 4, 0xffffffff);
  CHECK(rd(f.bus, f.enable(1, 0), 4) == 0xfffffffe);
  wr(f.bus, f.enable(1, 2), 4, 0x80000000);  // source 95
  CHECK(rd(f.bus, f.enable(1, 2), 4) == 0x80000000);
  CHECK(rd(f.bus, f.enable(0, 2), 4) == 0);
  wr(f.bus, f.threshold(0), 4, 9);
  CHECK(rd(f.bus, f.threshold(0), 4) == 1);

  // Sources past ours up to the architectural 1024: read zero, ignore stores
  // (OpenSBI/Linux initialise source 96 when given QEMU 7.2's riscv,ndev).
  wr(f.bus, f.prio(Plic::kNumSources), 4, 1);
  CHECK(rd(f.bus, f.prio(Plic::kNumSources), 4) == 0);
  wr(f.bus, f.prio(Plic::kMaxSources - 1), 4, 1);
  CHECK(rd(f.bus, f.prio(Plic::kMaxSources - 1), 4) == 0);
  wr(f.bus, f.enable(0, Plic::kWords), 4, 0xffffffff);
  CHECK(rd(f.bus, f.enable(0, Plic::kWords), 4) == 0);
  wr(f.bus, f.enable(1, 31), 4, 0xffffffff);
  CHECK(rd(f.bus, f.enable(1, 31), 4) == 0);
  CHECK(rd(f.bus, f.base + Plic::kPendingBase + 4 * Plic::kWords, 4) == 0);

  // Pending bits are read-only.
  wr(f.bus, f.base + Plic::kPendingBase, 4, 0xffffffff);
  CHECK(f.pending() == 0);
}

TEST_CASE("PLIC claim/complete with two sources and both contexts", "[plic]") {
  PlicFixture f;
  wr(f.bus, f.prio(1), 4, 2);
  wr(f.bus, f.prio(2), 4, 5);
  wr(f.bus, f.enable(0), 4, (1u << 1) | (1u << 2));  // M context: both
  wr(f.bus, f.enable(1), 4, 1u << 1);                // S context: source 1 only

  f.plic.set_irq(1, true);
  CHECK(f.pending() == 0b010);
  CHECK(f.hart.high(irq::kMEI));
  CHECK(f.hart.high(irq::kSEI));
  f.plic.set_irq(2, true);
  CHECK(f.pending() == 0b110);

  // The M context gets the higher-priority source first.
  CHECK(f.claim(0) == 2);
  CHECK(f.pending() == 0b010);
  CHECK(f.hart.high(irq::kMEI));  // source 1 still pending
  CHECK(f.claim(0) == 1);
  CHECK_FALSE(f.hart.high(irq::kMEI));
  CHECK_FALSE(f.hart.high(irq::kSEI));  // source 1 is in service for everyone
  CHECK(f.claim(0) == 0);
  CHECK(f.claim(1) == 0);

  // Level-triggered: a line still high re-pends at completion.
  f.complete(0, 2);
  CHECK(f.pending() == 0b100);
  CHECK(f.hart.high(irq::kMEI));
  CHECK_FALSE(f.hart.high(irq::kSEI));  // S does not see source 2
  f.plic.set_irq(2, false);             // device deasserted before the claim
  CHECK(f.pending() == 0);
  CHECK_FALSE(f.hart.high(irq::kMEI));

  // A line that dropped while in service does not re-pend.
  f.plic.set_irq(1, false);
  f.complete(0, 1);
  CHECK(f.pending() == 0);
  CHECK_FALSE(f.hart.high(irq::kMEI));

  // The S context claims and completes on its own.
  f.plic.set_irq(1, true);
  CHECK(f.hart.high(irq::kSEI));
  CHECK(f.claim(1) == 1);
  CHECK_FALSE(f.hart.high(irq::kSEI));
  f.complete(1, 2);  // not enabled for S: ignored
  f.plic.set_irq(1, false);
  f.complete(1, 1);
  CHECK_FALSE(f.hart.high(irq::kSEI));
  CHECK(f.claim(1) == 0);
}

TEST_CASE("PLIC priority threshold and tie-breaking", "[plic]") {
  PlicFixture f;
  wr(f.bus, f.prio(3), 4, 4);
  wr(f.bus, f.prio(4), 4, 4);
  wr(f.bus, f.enable(0), 4, (1u << 3) | (1u << 4));
  f.plic.set_irq(4, true);
  f.plic.set_irq(3, true);

  wr(f.bus, f.threshold(0), 4, 4);  // priority must exceed the threshold
  CHECK_FALSE(f.hart.high(irq::kMEI));
  wr(f.bus, f.threshold(0), 4, 3);
  CHECK(f.hart.high(irq::kMEI));
  CHECK(f.claim(0) == 3);  // equal priorities: lowest id first

  // Priority 0 never interrupts and is never claimed.
  wr(f.bus, f.prio(4), 4, 0);
  wr(f.bus, f.threshold(0), 4, 0);
  CHECK_FALSE(f.hart.high(irq::kMEI));
  CHECK(f.claim(0) == 0);
}

TEST_CASE("PLIC state restores and re-drives its outputs", "[plic]") {
  PlicFixture f;
  wr(f.bus, f.prio(7), 4, 1);
  wr(f.bus, f.enable(1), 4, 1u << 7);
  f.plic.set_irq(7, true);
  PlicFixture g;
  g.plic.restore(f.plic.state());
  CHECK(g.hart.high(irq::kSEI));
  CHECK_FALSE(g.hart.high(irq::kMEI));
  CHECK(g.claim(1) == 7);
}

TEST_CASE("PLIC rejects bad offsets and sizes, ignores bad lines", "[plic]") {
  PlicFixture f;
  CHECK(rd_fails(f.bus, f.prio(1), 8));
  CHECK(rd_fails(f.bus, f.prio(1), 1));
  CHECK(rd_fails(f.bus, f.prio(1) + 2, 4));
  CHECK(rd_fails(f.bus, f.base + Plic::kPendingBase + Plic::kMaxSources / 8, 4));
  CHECK(rd_fails(f.bus, f.enable(2), 4));  // no third context
  CHECK(rd_fails(f.bus, f.threshold(2), 4));
  CHECK(rd_fails(f.bus, f.threshold(0) + 8, 4));
  f.plic.set_irq(0, true);
  f.plic.set_irq(Plic::kNumSources, true);
  f.plic.set_irq(1000, true);
  CHECK(f.pending() == 0);
  f.complete(0, 0);
  f.complete(0, 5000);  // nonsense completions are ignored
}

// ---------------------------------------------------------------- UART

namespace {
struct UartFixture {
  RecordingSink plic;
  Uart16550 uart{IrqLine{&plic, VirtBoard::kUartIrq}};
  Bus bus;
  std::vector<uint8_t> tx;
  static constexpr uint64_t base = VirtBoard::kUartBase;
  UartFixture() {
    bus.add_device(PAddr{base}, Uart16550::kSize, &uart);
    uart.on_tx = [this](uint8_t c) { tx.push_back(c); };
  }
  uint8_t reg(uint64_t r) { return static_cast<uint8_t>(rd(bus, base + r, 1)); }
  void set(uint64_t r, uint8_t v) { wr(bus, base + r, 1, v); }
  bool irq() const { return plic.high(VirtBoard::kUartIrq); }
};
using U = Uart16550;
}  // namespace

TEST_CASE("UART reset values", "[uart]") {
  UartFixture f;
  CHECK(f.reg(U::kRegIer) == 0);
  CHECK(f.reg(U::kRegIir) == U::kIirNoInt);
  CHECK(f.reg(U::kRegLcr) == 0);
  CHECK(f.reg(U::kRegMcr) == 0);
  CHECK(f.reg(U::kRegLsr) == (U::kLsrThre | U::kLsrTemt));
  CHECK(f.reg(U::kRegMsr) == (U::kMsrDcd | U::kMsrDsr | U::kMsrCts));
  CHECK(f.uart.rx_space() == 1);
  CHECK_FALSE(f.irq());
}

TEST_CASE("UART transmits THR stores through on_tx", "[uart]") {
  UartFixture f;
  for (char c : std::string("hi\n")) f.set(U::kRegData, static_cast<uint8_t>(c));
  CHECK(f.tx == std::vector<uint8_t>{'h', 'i', '\n'});
  CHECK(f.reg(U::kRegLsr) & U::kLsrTemt);
}

TEST_CASE("UART receive without FIFO: one holding byte, DR, RDI interrupt", "[uart]") {
  UartFixture f;
  CHECK(f.uart.push_rx('a'));
  CHECK_FALSE(f.irq());  // IER.ERBFI clear
  CHECK(f.reg(U::kRegLsr) & U::kLsrDr);
  CHECK(f.uart.rx_space() == 0);
  CHECK_FALSE(f.uart.push_rx('b'));  // full: the caller keeps the byte

  f.set(U::kRegIer, U::kIerRdi);
  CHECK(f.irq());
  CHECK(f.reg(U::kRegIir) == U::kIirRdi);
  CHECK(f.reg(U::kRegData) == 'a');
  CHECK_FALSE(f.irq());
  CHECK(f.reg(U::kRegIir) == U::kIirNoInt);
  CHECK_FALSE(f.reg(U::kRegLsr) & U::kLsrDr);
}

TEST_CASE("UART receive FIFO: trigger level, timeout id, full FIFO", "[uart]") {
  UartFixture f;
  f.set(U::kRegIir, U::kFcrEnable | U::kFcrClearRx | U::kFcrClearTx | 0x80);  // trigger 8
  f.set(U::kRegIer, U::kIerRdi);
  CHECK(f.reg(U::kRegIir) == (U::kIirFifoEnabled | U::kIirNoInt));
  CHECK(f.uart.rx_space() == U::kFifoSize);

  for (uint8_t i = 0; i < 3; ++i) REQUIRE(f.uart.push_rx('0' + i));
  CHECK(f.irq());
  CHECK(f.reg(U::kRegIir) == (U::kIirFifoEnabled | U::kIirCti));  // below trigger
  for (uint8_t i = 3; i < 8; ++i) REQUIRE(f.uart.push_rx('0' + i));
  CHECK(f.reg(U::kRegIir) == (U::kIirFifoEnabled | U::kIirRdi));
  for (uint8_t i = 8; i < 16; ++i) REQUIRE(f.uart.push_rx('0' + i));
  CHECK(f.uart.rx_space() == 0);
  CHECK_FALSE(f.uart.push_rx('x'));
  CHECK_FALSE(f.reg(U::kRegLsr) & U::kLsrOe);  // refused, not overrun

  for (uint8_t i = 0; i < 16; ++i) CHECK(f.reg(U::kRegData) == '0' + i);
  CHECK_FALSE(f.irq());
  CHECK_FALSE(f.reg(U::kRegLsr) & U::kLsrDr);

  SECTION("FCR receive clear empties the FIFO") {
    f.uart.push_rx('z');
    f.set(U::kRegIir, U::kFcrEnable | U::kFcrClearRx);
    CHECK_FALSE(f.reg(U::kRegLsr) & U::kLsrDr);
    CHECK_FALSE(f.irq());
  }
  SECTION("disabling the FIFO flushes it and clears the IIR FIFO bits") {
    f.uart.push_rx('z');
    f.set(U::kRegIir, 0);
    CHECK(f.reg(U::kRegIir) == U::kIirNoInt);
    CHECK(f.uart.rx_space() == 1);
  }
}

TEST_CASE("UART THR-empty interrupt as Linux's 8250 driver probes it", "[uart]") {
  UartFixture f;
  // serial8250_startup's UART_BUG_THRE test: enable THRI, read IIR, disable,
  // re-enable, read IIR: a real 16550A reports THRI both times.
  f.set(U::kRegIer, U::kIerThri);
  CHECK(f.irq());
  CHECK(f.reg(U::kRegIir) == U::kIirThri);
  CHECK_FALSE(f.irq());  // reading IIR acknowledged it
  CHECK(f.reg(U::kRegIir) == U::kIirNoInt);
  f.set(U::kRegIer, 0);
  f.set(U::kRegIer, U::kIerThri);
  CHECK(f.reg(U::kRegIir) == U::kIirThri);

  // A THR store re-arms it (the byte is gone at once).
  f.set(U::kRegData, 'x');
  CHECK(f.irq());
  CHECK(f.reg(U::kRegIir) == U::kIirThri);

  // Received data outranks THR empty.
  f.set(U::kRegData, 'z');
  f.set(U::kRegIer, U::kIerThri | U::kIerRdi);
  f.uart.push_rx('y');
  CHECK(f.reg(U::kRegIir) == U::kIirRdi);
  f.reg(U::kRegData);
  CHECK(f.reg(U::kRegIir) == U::kIirThri);
}

TEST_CASE("UART divisor latch", "[uart]") {
  UartFixture f;
  f.set(U::kRegIer, U::kIerRdi);
  f.set(U::kRegLcr, U::kLcrDlab | 0x03);
  f.set(U::kRegData, 0x01);
  f.set(U::kRegIer, 0x02);
  CHECK(f.reg(U::kRegData) == 0x01);
  CHECK(f.reg(U::kRegIer) == 0x02);
  CHECK(f.uart.state().divisor == 0x0201);
  CHECK(f.tx.empty());  // DLL stores do not transmit
  f.set(U::kRegLcr, 0x03);
  CHECK(f.reg(U::kRegIer) == U::kIerRdi);
  CHECK(f.reg(U::kRegLcr) == 0x03);
}

TEST_CASE("UART loopback, modem status and line status interrupts", "[uart]") {
  UartFixture f;
  // Linux's autoconfig loopback check: MCR = LOOP | OUT2 | RTS -> MSR 0x90.
  f.set(U::kRegMcr, U::kMcrLoop | U::kMcrOut2 | U::kMcrRts);
  CHECK((f.reg(U::kRegMsr) & 0xf0) == 0x90);
  CHECK(f.uart.rx_space() == 0);
  CHECK_FALSE(f.uart.push_rx('h'));  // serial input disconnected

  f.set(U::kRegData, 'L');
  CHECK(f.tx.empty());
  CHECK(f.reg(U::kRegLsr) & U::kLsrDr);
  f.set(U::kRegData, 'M');  // holding register full: overrun
  f.set(U::kRegIer, U::kIerRdi | U::kIerRlsi);
  CHECK(f.reg(U::kRegIir) == U::kIirRlsi);
  CHECK(f.reg(U::kRegLsr) & U::kLsrOe);
  CHECK_FALSE(f.reg(U::kRegLsr) & U::kLsrOe);  // cleared by the read
  CHECK(f.reg(U::kRegIir) == U::kIirRdi);
  CHECK(f.reg(U::kRegData) == 'L');

  // Modem status delta interrupt.
  f.set(U::kRegIer, U::kIerMsi);
  f.set(U::kRegMcr, U::kMcrLoop | U::kMcrDtr);
  CHECK(f.irq());
  CHECK(f.reg(U::kRegIir) == U::kIirMsi);
  const uint8_t msr = f.reg(U::kRegMsr);
  CHECK((msr & U::kMsrDsr));
  CHECK((msr & U::kMsrDdsr));
  CHECK_FALSE(f.irq());

  f.set(U::kRegMcr, 0);
  CHECK(f.uart.rx_space() == 1);
  f.set(U::kRegData, 'T');
  CHECK(f.tx == std::vector<uint8_t>{'T'});
}

TEST_CASE("UART scratch register, bad offsets and sizes", "[uart]") {
  UartFixture f;
  f.set(U::kRegScr, 0xa5);
  CHECK(f.reg(U::kRegScr) == 0xa5);
  f.set(U::kRegLsr, 0);  // read-only: ignored
  CHECK(f.reg(U::kRegLsr) & U::kLsrThre);
  CHECK(rd_fails(f.bus, f.base, 4));
  CHECK(wr_fails(f.bus, f.base, 2));
  CHECK(rd_fails(f.bus, f.base + 8, 1));
  CHECK(wr_fails(f.bus, f.base + 0xff, 1));
}

TEST_CASE("UART state restores and re-drives its line", "[uart]") {
  UartFixture f;
  f.set(U::kRegIer, U::kIerRdi);
  f.uart.push_rx('q');
  UartFixture g;
  g.uart.restore(f.uart.state());
  CHECK(g.irq());
  CHECK(g.reg(U::kRegData) == 'q');
  CHECK_FALSE(g.irq());
}

// ---------------------------------------------------------------- goldfish RTC

namespace {
struct RtcFixture {
  HartState hs;
  Clock clock{hs};
  RecordingSink plic;
  FakeHostInput input;
  GoldfishRtc rtc{clock, input, IrqLine{&plic, VirtBoard::kRtcIrq}};
  Bus bus;
  static constexpr uint64_t base = VirtBoard::kRtcBase;
  static constexpr uint64_t kWall = 1'700'000'000'123'456'789ull;
  RtcFixture() {
    bus.add_device(PAddr{base}, GoldfishRtc::kSize, &rtc);
    input.wall = kWall;
  }
  void at(uint64_t position) { hs.position = position; }
  void at_tick(uint64_t tick) { at(Clock::position_of_tick(tick).v); }
  // As Linux's goldfish_rtc_read_time: TIME_LOW first (latches TIME_HIGH).
  uint64_t time() {
    const uint64_t lo = rd(bus, base + GoldfishRtc::kRegTimeLow, 4);
    return rd(bus, base + GoldfishRtc::kRegTimeHigh, 4) << 32 | lo;
  }
  void set(uint64_t reg, uint32_t v) { wr(bus, base + reg, 4, v); }
  // As Linux's goldfish_rtc_set_alarm: high half, then low half (arms).
  void alarm(uint64_t ns) {
    set(GoldfishRtc::kRegAlarmHigh, static_cast<uint32_t>(ns >> 32));
    set(GoldfishRtc::kRegAlarmLow, static_cast<uint32_t>(ns));
  }
  bool irq() const { return plic.high(VirtBoard::kRtcIrq); }
};
using R = GoldfishRtc;
}  // namespace

TEST_CASE("goldfish RTC reads the wall clock once, then follows the machine clock", "[rtc]") {
  RtcFixture f;
  f.at_tick(1000);
  CHECK(f.input.wall_reads == 0);  // nothing asked before the guest looks
  CHECK(f.time() == RtcFixture::kWall);
  CHECK(f.input.wall_reads == 1);

  f.input.wall += 5'000'000'000;  // the host clock moving does not matter any more
  f.at_tick(1000 + 10'000'000);   // one second of timebase later
  CHECK(f.time() == RtcFixture::kWall + 1'000'000'000);
  f.at(Clock::position_of_tick(1000 + 10'000'000).v + Clock::kPositionsPerTick - 1);
  CHECK(f.time() == RtcFixture::kWall + 1'000'000'000);  // 100 ns resolution
  f.at_tick(1000 + 10'000'001);
  CHECK(f.time() == RtcFixture::kWall + 1'000'000'100);
  CHECK(f.input.wall_reads == 1);
  CHECK(f.rtc.time_ns() == RtcFixture::kWall + 1'000'000'100);

  // TIME_HIGH is the half latched by the last TIME_LOW read.
  const uint64_t t = f.rtc.time_ns();
  f.at_tick(1000 + 10'000'001 + (uint64_t{1} << 40));
  CHECK(rd(f.bus, f.base + R::kRegTimeHigh, 4) == t >> 32);
}

TEST_CASE("goldfish RTC: the guest sets the time", "[rtc]") {
  RtcFixture f;
  f.at_tick(50);
  const uint64_t target = 0x0000'0123'4567'89abull * 100;
  // Linux's goldfish_rtc_set_time order: TIME_HIGH, then TIME_LOW.
  f.set(R::kRegTimeHigh, static_cast<uint32_t>(target >> 32));
  f.set(R::kRegTimeLow, static_cast<uint32_t>(target));
  CHECK(f.time() == target);
  f.at_tick(50 + 12345);
  CHECK(f.time() == target + 12345 * R::kNsPerTick);
  CHECK(f.input.wall_reads == 1);
}

TEST_CASE("goldfish RTC alarm fires at the first tick at or past the alarm time", "[rtc]") {
  RtcFixture f;
  f.at_tick(200);
  const uint64_t now = f.time();
  f.set(R::kRegIrqEnabled, 1);
  CHECK(f.rtc.next_deadline() == Position::max());
  f.alarm(now + 1'000'050);  // 10000.5 ticks away: rounds up
  CHECK(rd(f.bus, f.base + R::kRegAlarmStatus, 4) == 1);
  CHECK(rd(f.bus, f.base + R::kRegAlarmLow, 4) == static_cast<uint32_t>(now + 1'000'050));
  const Position due = Clock::position_of_tick(200 + 10'001);
  CHECK(f.rtc.next_deadline() == due);

  f.rtc.advance(Position{due.v - 1});
  CHECK_FALSE(f.irq());
  f.rtc.advance(due);
  CHECK(f.irq());
  CHECK(rd(f.bus, f.base + R::kRegAlarmStatus, 4) == 0);
  CHECK(f.rtc.next_deadline() == Position::max());

  // IRQ_ENABLED gates the line; CLEAR_INTERRUPT drops the pending interrupt.
  f.set(R::kRegIrqEnabled, 0);
  CHECK_FALSE(f.irq());
  f.set(R::kRegIrqEnabled, 1);
  CHECK(f.irq());
  f.set(R::kRegClearInterrupt, 1);
  CHECK_FALSE(f.irq());

  SECTION("an alarm at or before the current time fires at the store") {
    f.at(due.v);
    f.alarm(f.time());
    CHECK(f.irq());
    CHECK(rd(f.bus, f.base + R::kRegAlarmStatus, 4) == 0);
  }
  SECTION("CLEAR_ALARM disarms") {
    f.alarm(f.time() + 1'000'000);
    CHECK(f.rtc.next_deadline() != Position::max());
    f.set(R::kRegClearAlarm, 1);
    CHECK(f.rtc.next_deadline() == Position::max());
    CHECK(rd(f.bus, f.base + R::kRegAlarmStatus, 4) == 0);
  }
  SECTION("the armed deadline does not move with later TIME writes (as in QEMU)") {
    f.alarm(f.time() + 1000);
    const Position armed = f.rtc.next_deadline();
    f.set(R::kRegTimeHigh, 0);
    CHECK(f.rtc.next_deadline() == armed);
  }
}

TEST_CASE("goldfish RTC: access sizes, unknown offsets, state restore", "[rtc]") {
  RtcFixture f;
  CHECK(rd_fails(f.bus, f.base + R::kRegTimeLow, 8));
  CHECK(rd_fails(f.bus, f.base + R::kRegTimeLow, 1));
  CHECK(wr_fails(f.bus, f.base + R::kRegIrqEnabled, 2));
  CHECK(rd(f.bus, f.base + 0x40, 4) == 0);
  wr(f.bus, f.base + 0x40, 4, 1);
  CHECK(f.input.wall_reads == 0);

  f.set(R::kRegIrqEnabled, 1);
  f.at_tick(10);
  f.alarm(f.time() + 500);
  const R::State saved = f.rtc.state();
  RtcFixture g;
  g.rtc.restore(saved);
  g.at_tick(10);
  CHECK(g.time() == RtcFixture::kWall);
  CHECK(g.input.wall_reads == 0);  // restored time needs no host read
  CHECK(g.rtc.next_deadline() == f.rtc.next_deadline());
  g.rtc.advance(g.rtc.next_deadline());
  CHECK(g.irq());
}

// ---------------------------------------------------------------- boot ROM

TEST_CASE("boot ROM holds QEMU's reset vector and fw_dynamic_info", "[bootrom]") {
  Bus bus;
  BootRom rom(bus);
  rom.install(0x80000000, 0x87e00000, 0x80200000);
  const uint64_t b = BootRom::kBase;

  // The words QEMU's riscv_setup_rom_reset_vec() writes for RV64.
  const uint32_t qemu[] = {0x00000297, 0x02828613, 0xf1402573, 0x0202b583, 0x0182b283, 0x00028067};
  for (unsigned i = 0; i < 6; ++i) CHECK(rd(bus, b + 4 * i, 4) == qemu[i]);

  // Decode the fields independently of the encoder.
  auto opcode = [](uint32_t w) { return w & 0x7f; };
  auto rd_of = [](uint32_t w) { return (w >> 7) & 0x1f; };
  auto rs1_of = [](uint32_t w) { return (w >> 15) & 0x1f; };
  auto imm_i = [](uint32_t w) { return static_cast<int32_t>(w) >> 20; };
  const auto word = [&](unsigned i) { return static_cast<uint32_t>(rd(bus, b + 4 * i, 4)); };
  CHECK((opcode(word(0)) == 0x17 && rd_of(word(0)) == 5 && (word(0) >> 12) == 0));  // auipc t0,0
  CHECK((rd_of(word(1)) == 12 && rs1_of(word(1)) == 5 &&
         imm_i(word(1)) == int32_t(BootRom::kFwDynamicOffset)));                         // addi a2
  CHECK((opcode(word(2)) == 0x73 && rd_of(word(2)) == 10 && (word(2) >> 20) == 0xf14));  // csrr a0
  CHECK((opcode(word(3)) == 0x03 && rd_of(word(3)) == 11 &&
         imm_i(word(3)) == int32_t(BootRom::kFdtAddrOffset)));  // ld a1
  CHECK((opcode(word(4)) == 0x03 && rd_of(word(4)) == 5 &&
         imm_i(word(4)) == int32_t(BootRom::kStartAddrOffset)));                    // ld t0
  CHECK((opcode(word(5)) == 0x67 && rd_of(word(5)) == 0 && rs1_of(word(5)) == 5));  // jr t0

  CHECK(rd(bus, b + BootRom::kStartAddrOffset, 8) == 0x80000000);
  CHECK(rd(bus, b + BootRom::kFdtAddrOffset, 8) == 0x87e00000);

  FwDynamicInfo info;
  std::vector<uint8_t> raw(sizeof info);
  REQUIRE(bus.read_bytes(PAddr{b + BootRom::kFwDynamicOffset}, raw));
  std::memcpy(&info, raw.data(), sizeof info);
  CHECK(info.magic == 0x4942534f);
  CHECK(info.version == 2);
  CHECK(info.next_addr == 0x80200000);
  CHECK(info.next_mode == 1);
  CHECK(info.options == 0);
  CHECK(info.boot_hart == 0);

  // The guest cannot write it.
  CHECK(wr_fails(bus, b, 4));
  CHECK(bus.find_memory(PAddr{b})->size == 0xf000);
}

// ---------------------------------------------------------------- board

TEST_CASE("virt board maps QEMU's memory map and resets the hart to the ROM", "[virt]") {
  Machine m;
  VirtConfig cfg;
  cfg.ram_size = 64ull << 20;
  FakeHostInput input;
  VirtBoard board(m, cfg, input);
  Bus& bus = m.bus();
  CHECK(m.hart().pc == VirtBoard::kMromBase);
  REQUIRE(bus.find_memory(PAddr{VirtBoard::kRamBase}) != nullptr);
  CHECK(bus.find_memory(PAddr{VirtBoard::kRamBase})->size == cfg.ram_size);
  CHECK(bus.find_memory(PAddr{VirtBoard::kRamBase + cfg.ram_size}) == nullptr);
  CHECK(std::string(bus.find_device(PAddr{0x100000})->dev->name()) == "sifive_test");
  CHECK(std::string(bus.find_device(PAddr{0x2000000})->dev->name()) == "clint");
  CHECK(std::string(bus.find_device(PAddr{0xc000000})->dev->name()) == "plic");
  CHECK(std::string(bus.find_device(PAddr{0x10000000})->dev->name()) == "uart16550");
  CHECK(bus.find_device(PAddr{0x10000100}) == nullptr);
  CHECK(std::string(bus.find_device(PAddr{0x101000})->dev->name()) == "goldfish-rtc");
  for (unsigned slot = 0; slot < 8; ++slot)
    CHECK(std::string(bus.find_device(PAddr{0x10001000 + slot * 0x1000})->dev->name()) == "virtio-mmio");
  CHECK(bus.find_device(PAddr{0x10009000}) == nullptr);
  CHECK(bus.find_memory(PAddr{0x1000})->writable == false);
}

TEST_CASE("virt board: finisher stops the machine", "[virt]") {
  Machine m;
  FakeHostInput input;
  VirtBoard board(m, VirtConfig{}, input);
  SECTION("fail code") {
    wr(m.bus(), VirtBoard::kTestBase, 4, 0x3333 | (7u << 16));
    CHECK(m.exit_code() == 7);
  }
  SECTION("reset without handler powers off with 0") {
    wr(m.bus(), VirtBoard::kTestBase, 4, 0x7777);
    CHECK(m.exit_code() == 0);
  }
  SECTION("reset with handler") {
    int resets = 0;
    board.on_reset = [&] { ++resets; };
    wr(m.bus(), VirtBoard::kTestBase, 4, 0x7777);
    CHECK(resets == 1);
    CHECK_FALSE(m.exit_code());
  }
}

TEST_CASE("virt board wiring: UART -> PLIC 10 -> hart MEIP/SEIP, CLINT -> hart", "[virt]") {
  Machine m;
  FakeHostInput input;
  VirtBoard board(m, VirtConfig{}, input);
  Bus& bus = m.bus();
  Hart& h = m.hart();
  const uint64_t plic = VirtBoard::kPlicBase;
  wr(bus, plic + 4 * VirtBoard::kUartIrq, 4, 1);
  wr(bus, plic + Plic::kEnableBase, 4, 1u << VirtBoard::kUartIrq);
  wr(bus, plic + Plic::kEnableBase + Plic::kEnableStride, 4, 1u << VirtBoard::kUartIrq);
  wr(bus, VirtBoard::kUartBase + U::kRegIer, 1, U::kIerRdi);

  REQUIRE(board.uart().push_rx('k'));
  CHECK((h.effective_mip() >> irq::kMEI) & 1);
  CHECK((h.effective_mip() >> irq::kSEI) & 1);
  CHECK(rd(bus, plic + Plic::kContextBase + Plic::kClaimOffset, 4) == VirtBoard::kUartIrq);
  CHECK_FALSE((h.effective_mip() >> irq::kMEI) & 1);
  CHECK(rd(bus, VirtBoard::kUartBase, 1) == 'k');
  wr(bus, plic + Plic::kContextBase + Plic::kClaimOffset, 4, VirtBoard::kUartIrq);
  CHECK_FALSE((h.effective_mip() >> irq::kMEI) & 1);
  CHECK_FALSE((h.effective_mip() >> irq::kSEI) & 1);

  wr(bus, VirtBoard::kClintBase + Clint::kRegMsip, 4, 1);
  CHECK((h.mip >> irq::kMSI) & 1);
  wr(bus, VirtBoard::kClintBase + Clint::kRegMtimecmp, 8, 0);
  CHECK((h.mip >> irq::kMTI) & 1);
}

TEST_CASE("virt board: the run loop raises MTIP at the mtimecmp position", "[virt]") {
  Machine m;
  FakeHostInput input;
  VirtBoard board(m, VirtConfig{}, input);
  // A `j .` loop in RAM: the hart spins while time passes.
  const uint32_t j_self = 0x0000006f;
  REQUIRE(m.bus().write_bytes(PAddr{VirtBoard::kRamBase},
                              {reinterpret_cast<const uint8_t*>(&j_self), 4}));
  m.hart().pc = VirtBoard::kRamBase;
  wr(m.bus(), VirtBoard::kClintBase + Clint::kRegMtimecmp, 8, 25);
  const Position due = Clock::position_of_tick(25);
  CHECK(board.clint().next_deadline() == due);

  m.run(Position{due.v - 1});
  CHECK(m.position() == Position{due.v - 1});
  CHECK_FALSE((m.hart().mip >> irq::kMTI) & 1);
  m.run(Position{due.v + 1});
  CHECK((m.hart().mip >> irq::kMTI) & 1);
}

TEST_CASE("fdt_load_address follows QEMU 7.2's rule", "[virt]") {
  constexpr uint64_t MiB = 1ull << 20;
  // Below the end of RAM, 2 MiB aligned.
  CHECK(VirtBoard::fdt_load_address(128 * MiB, 0x1000) == 0x87e00000);
  CHECK(VirtBoard::fdt_load_address(128 * MiB, 2 * MiB + 1) == 0x87c00000);
  CHECK(VirtBoard::fdt_load_address(1024 * MiB, 0x2000) == 0xbfe00000);
  // RAM beyond 3 GiB: capped so 32-bit code can reach it.
  CHECK(VirtBoard::fdt_load_address(4096 * MiB, 0x2000) == 0xbfe00000);
}

TEST_CASE("virt board: the RTC alarm reaches PLIC source 11 through the run loop", "[virt][rtc]") {
  Machine m;
  FakeHostInput input;
  input.wall = 1'000'000'000'000;
  VirtBoard board(m, VirtConfig{}, input);
  const uint32_t j_self = 0x0000006f;
  REQUIRE(m.bus().write_bytes(PAddr{VirtBoard::kRamBase},
                              {reinterpret_cast<const uint8_t*>(&j_self), 4}));
  m.hart().pc = VirtBoard::kRamBase;
  const uint64_t rtc = VirtBoard::kRtcBase;
  wr(m.bus(), rtc + GoldfishRtc::kRegIrqEnabled, 4, 1);
  wr(m.bus(), rtc + GoldfishRtc::kRegAlarmHigh, 4, input.wall >> 32);
  wr(m.bus(), rtc + GoldfishRtc::kRegAlarmLow, 4, static_cast<uint32_t>(input.wall + 5000));
  const Position due = Clock::position_of_tick(50);  // 5000 ns = 50 ticks after position 0
  CHECK(board.rtc().next_deadline() == due);

  auto pending = [&] { return rd(m.bus(), VirtBoard::kPlicBase + Plic::kPendingBase, 4); };
  m.run(Position{due.v - 1});
  CHECK_FALSE(pending() & (1u << VirtBoard::kRtcIrq));
  m.run(Position{due.v + 1});
  CHECK(pending() & (1u << VirtBoard::kRtcIrq));
  CHECK(input.wall_reads == 1);
}

TEST_CASE("virt board: poll_input moves console bytes into the UART as room allows", "[virt]") {
  Machine m;
  FakeHostInput input;
  VirtBoard board(m, VirtConfig{}, input);
  input.typed = "hello, world";
  board.poll_input();  // FIFO off: one holding byte
  CHECK(input.typed == "ello, world");
  board.poll_input();  // still full
  CHECK(input.typed == "ello, world");
  CHECK(rd(m.bus(), VirtBoard::kUartBase, 1) == 'h');

  wr(m.bus(), VirtBoard::kUartBase + U::kRegIir, 1, U::kFcrEnable);
  board.poll_input();
  CHECK(input.typed.empty());
  std::string got;
  while (rd(m.bus(), VirtBoard::kUartBase + U::kRegLsr, 1) & U::kLsrDr)
    got.push_back(static_cast<char>(rd(m.bus(), VirtBoard::kUartBase, 1)));
  CHECK(got == "ello, world");
  board.poll_input();  // nothing typed: nothing happens
  CHECK(board.uart().rx_space() == U::kFifoSize);
}
