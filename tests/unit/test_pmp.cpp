// Physical memory protection: TOR/NA4/NAPOT matching, lowest entry wins,
// partial matches fail, locks binding M-mode, S/U default deny, PMP on
// page-table walks and A/D updates, MPRV, and PMP boundaries inside a page
// (which must never be hidden by the soft TLB).
#include <catch2/catch.hpp>

#include "core/csr.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using hs::test::kRamBase;
using hs::test::TestMachine;

namespace {

constexpr uint8_t kR = pmp::kR, kW = pmp::kW, kX = pmp::kX, kL = pmp::kL;
constexpr uint8_t kTor = pmp::kTor << pmp::kAShift, kNa4 = pmp::kNa4 << pmp::kAShift,
                  kNapot = pmp::kNapot << pmp::kAShift;

void set_priv(Hart& h, Priv p) {
  h.priv = p;
  update_dmode(h);
}
// pmpaddr for a NAPOT region (size a power of two >= 8, base aligned to it).
constexpr uint64_t napot(uint64_t base, uint64_t size) { return base >> 2 | (size / 8 - 1); }
constexpr uint64_t kEverything = (1ull << 54) - 1;

DecodedInsn mem_insn() {
  DecodedInsn d{};
  d.len = 4;
  return d;
}

// Sets entry k through the CSRs, as software would.
void set_entry(Hart& h, unsigned k, uint64_t addr, uint8_t cfg) {
  REQUIRE(h.csr_write(csr::kPmpaddr0 + k, mem_insn(), addr));
  uint64_t v = 0;
  const unsigned reg = csr::kPmpcfg0 + (k / 8) * 2;
  REQUIRE(h.csr_read(reg, mem_insn(), v));
  v = (v & ~(0xffull << (8 * (k % 8)))) | uint64_t{cfg} << (8 * (k % 8));
  REQUIRE(h.csr_write(reg, mem_insn(), v));
}

// Outcome of an access: 0 on success, else the trap cause + 1000.
struct Probe {
  Hart& h;
  uint64_t load(uint64_t va, unsigned size = 8) {
    bool ok;
    if (size == 4) {
      uint32_t v;
      ok = h.load<uint32_t>(mem_insn(), va, v);
    } else {
      uint64_t v;
      ok = h.load<uint64_t>(mem_insn(), va, v);
    }
    return ok ? 0 : 1000 + h.trap_cause;
  }
  uint64_t store(uint64_t va, unsigned size = 8) {
    const bool ok = size == 4 ? h.store<uint32_t>(mem_insn(), va, 0) : h.store<uint64_t>(mem_insn(), va, 0);
    return ok ? 0 : 1000 + h.trap_cause;
  }
  uint64_t fetch(uint64_t va) {
    PAddr pa;
    return h.fetch(va, pa) ? 0 : 1000 + h.trap_cause;
  }
};
constexpr uint64_t kLoadAF = 1000 + cause::kLoadAccessFault, kStoreAF = 1000 + cause::kStoreAccessFault,
                   kFetchAF = 1000 + cause::kInsnAccessFault;

}  // namespace

TEST_CASE("S/U accesses matching no entry fail; M-mode ones succeed", "[pmp]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  CHECK(p.load(kRamBase) == 0);
  CHECK(p.store(kRamBase + 8) == 0);
  CHECK(p.fetch(kRamBase) == 0);
  set_priv(h, Priv::S);
  CHECK(p.load(kRamBase) == kLoadAF);
  CHECK(p.store(kRamBase + 8) == kStoreAF);
  CHECK(p.fetch(kRamBase) == kFetchAF);
  CHECK(h.trap_tval == kRamBase);
  set_priv(h, Priv::U);
  CHECK(p.load(kRamBase) == kLoadAF);
  CHECK(p.fetch(kRamBase) == kFetchAF);
}

TEST_CASE("TOR ranges", "[pmp]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  SECTION("between two addresses") {
    set_entry(h, 0, 0x80000000 >> 2, 0);  // OFF: only provides the base
    set_entry(h, 1, 0x80002000 >> 2, kTor | kR);
    set_priv(h, Priv::S);
    CHECK(p.load(0x80000000) == 0);
    CHECK(p.load(0x80001ff8) == 0);
    CHECK(p.store(0x80001000) == kStoreAF);
    CHECK(p.fetch(0x80001000) == kFetchAF);
    CHECK(p.load(0x80002000) == kLoadAF);
    CHECK(p.load(0x80001ffc) == kLoadAF);  // straddles the top: partial match
    CHECK(h.pmp_allows(PAddr{0x80000000}, 0x2000, kRead, Priv::S));
    CHECK_FALSE(h.pmp_allows(PAddr{0x7ffffffc}, 8, kRead, Priv::S));
  }
  SECTION("entry 0 starts at address 0") {
    set_entry(h, 0, 0x80001000 >> 2, kTor | kR | kW);
    set_priv(h, Priv::S);
    CHECK(p.store(0x80000800) == 0);
    CHECK(p.load(0x80001000) == kLoadAF);
    CHECK(h.pmp_allows(PAddr{0}, 16, kWrite, Priv::S));
  }
  SECTION("an empty range matches nothing") {
    set_entry(h, 0, 0x80002000 >> 2, 0);
    set_entry(h, 1, 0x80001000 >> 2, kTor | kR);  // top below base
    set_priv(h, Priv::S);
    CHECK(p.load(0x80001800) == kLoadAF);
  }
}

TEST_CASE("NA4 and NAPOT ranges; the lowest matching entry decides", "[pmp]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  set_entry(h, 0, 0x80003000 >> 2, kNa4 | kR);
  set_entry(h, 1, napot(0x80010000, 0x10000), kNapot | kR | kW);
  set_entry(h, 2, napot(0x80004000, 0x1000), kNapot);  // no permissions
  set_entry(h, 3, kEverything, kNapot | kR | kW | kX);
  set_priv(h, Priv::S);

  CHECK(p.load(0x80003000, 4) == 0);
  CHECK(p.store(0x80003000, 4) == kStoreAF);  // entry 0 wins over entry 3
  CHECK(p.load(0x80003000, 8) == kLoadAF);    // entry 0 matches only half of it
  CHECK(p.store(0x80003004, 4) == 0);         // entry 3
  CHECK(p.load(0x80003ff0, 8) == 0);

  CHECK(p.store(0x80010000) == 0);
  CHECK(p.store(0x8001fff8) == 0);
  CHECK(p.fetch(0x80010000) == kFetchAF);  // NAPOT without X wins over entry 3
  CHECK(p.fetch(0x80020000) == 0);         // just above: entry 3
  // Straddling the NAPOT base: entry 1 matches only part of it. (A load there
  // also crosses a page, so the hart splits it into two accesses that pass.)
  CHECK_FALSE(h.pmp_allows(PAddr{0x8000fffc}, 8, kRead, Priv::S));
  CHECK(h.pmp_allows(PAddr{0x8000fff8}, 8, kRead, Priv::S));

  CHECK(p.load(0x80004000) == kLoadAF);
  CHECK(p.load(0x80004ff8) == kLoadAF);
  CHECK(p.load(0x80005000) == 0);

  // The smallest NAPOT region is 8 bytes.
  set_priv(h, Priv::M);
  set_entry(h, 3, 0x80006000 >> 2, kNapot | kR);  // pmpaddr ...0: 8 bytes
  set_priv(h, Priv::S);
  CHECK(p.load(0x80006000) == 0);
  CHECK(p.load(0x80006008) == kLoadAF);
}

TEST_CASE("locked entries bind M-mode; unlocked ones don't", "[pmp]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  set_entry(h, 0, napot(0x80004000, 0x1000), kNapot);  // no permissions, unlocked
  CHECK(p.load(0x80004000) == 0);
  CHECK(p.store(0x80004000) == 0);
  set_entry(h, 1, napot(0x80005000, 0x1000), kNapot | kL | kR);
  CHECK(p.load(0x80005000) == 0);
  CHECK(p.store(0x80005000) == kStoreAF);
  CHECK(p.fetch(0x80005000) == kFetchAF);
  CHECK(p.load(0x80006000) == 0);  // no match: M-mode succeeds
  // Locked until reset: software can't lift it.
  set_entry(h, 1, kEverything, kNapot | kR | kW | kX);
  CHECK(p.store(0x80005000) == kStoreAF);
  CHECK(h.pmpcfg[1] == (kNapot | kL | kR));
  h.reset(kRamBase);
  CHECK(p.store(0x80005000) == 0);
}

TEST_CASE("a PMP boundary inside a page is never hidden by the TLB", "[pmp][tlb]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  set_entry(h, 0, napot(0x80006000, 0x800), kNapot | kR | kW);  // first half of the page
  set_entry(h, 1, kEverything, kNapot | kR | kX);
  set_priv(h, Priv::S);
  SECTION("allowed side first") {
    CHECK(p.store(0x80006100) == 0);
    CHECK(p.store(0x80006900) == kStoreAF);
    CHECK(p.store(0x80006108) == 0);
    CHECK(p.load(0x80006900) == 0);
    CHECK(p.load(0x800067fc) == kLoadAF);  // straddles entry 0's end
  }
  SECTION("denied side first") {
    CHECK(p.store(0x80006900) == kStoreAF);
    CHECK(p.store(0x80006100) == 0);
    CHECK(p.store(0x80006900) == kStoreAF);
    CHECK(p.fetch(0x80006900) == 0);
    CHECK(p.fetch(0x80006100) == kFetchAF);
    CHECK(p.fetch(0x80006904) == 0);
  }
  SECTION("whole pages are cached and PMP writes flush them") {
    CHECK(p.store(0x80008000) == kStoreAF);
    CHECK(p.load(0x80008000) == 0);
    set_priv(h, Priv::M);
    set_entry(h, 1, kEverything, kNapot);
    set_priv(h, Priv::S);
    CHECK(p.load(0x80008000) == kLoadAF);
  }
}

TEST_CASE("page-table walks and A/D updates are PMP-checked as S-mode", "[pmp][mmu]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  Bus& bus = t.m.bus();
  // Sv39: root 0x80100000 -> L1 0x80101000 -> L0 0x80102000.
  const uint64_t root = 0x80100000, l1 = 0x80101000, l0 = 0x80102000;
  REQUIRE(bus.write(PAddr{root}, 8, (l1 >> 12) << 10 | 1));
  REQUIRE(bus.write(PAddr{l1}, 8, (l0 >> 12) << 10 | 1));
  const uint64_t leaf = 0x80300000 >> 12 << 10;
  REQUIRE(bus.write(PAddr{l0 + 8 * 1}, 8, leaf | 0x07));         // va 0x1000: V R W, A/D clear
  REQUIRE(bus.write(PAddr{l0 + 8 * 2}, 8, leaf | 0x47));         // va 0x2000: V R W A
  REQUIRE(bus.write(PAddr{l0 + 8 * 3}, 8, leaf | 0xcf));         // va 0x3000: V R W X A D
  h.satp = 8ull << 60 | root >> 12;

  SECTION("tables unreadable: access faults of the original type") {
    set_entry(h, 0, napot(0x80100000, 0x4000), kNapot);
    set_entry(h, 1, kEverything, kNapot | kR | kW | kX);
    set_priv(h, Priv::S);
    CHECK(p.load(0x3000) == kLoadAF);
    CHECK(p.store(0x3000) == kStoreAF);
    CHECK(p.fetch(0x3000) == kFetchAF);
    CHECK(h.trap_tval == 0x3000);
  }
  SECTION("tables read-only: walks work, A/D updates access-fault") {
    set_entry(h, 0, napot(0x80100000, 0x4000), kNapot | kR);
    set_entry(h, 1, kEverything, kNapot | kR | kW | kX);
    set_priv(h, Priv::S);
    CHECK(p.load(0x1000) == kLoadAF);  // needs A
    CHECK(p.load(0x2000) == 0);        // A already set
    CHECK(p.store(0x2000) == kStoreAF);  // needs D
    CHECK(p.store(0x3000) == 0);
    uint64_t e = 0;
    REQUIRE(bus.read(PAddr{l0 + 8}, 8, e));
    CHECK(e == (leaf | 0x07));  // untouched
  }
  SECTION("the final physical address is checked with the access's privilege") {
    set_entry(h, 0, napot(0x80300000, 0x1000), kNapot | kR);
    set_entry(h, 1, kEverything, kNapot | kR | kW | kX);
    set_priv(h, Priv::S);
    CHECK(p.load(0x3000) == 0);
    CHECK(p.store(0x3000) == kStoreAF);  // the PTE allows it, PMP doesn't
    CHECK(p.fetch(0x3000) == kFetchAF);
  }
}

TEST_CASE("MPRV applies the MPP privilege's PMP rules to M-mode data", "[pmp]") {
  TestMachine t;
  Hart& h = t.h();
  Probe p{h};
  set_entry(h, 0, napot(0x80010000, 0x10000), kNapot | kR);
  REQUIRE(h.csr_write(csr::kMstatus, mem_insn(), mstatus::kMPRV | 1ull << mstatus::kMPPShift));
  CHECK(p.load(0x80010000) == 0);
  CHECK(p.store(0x80010000) == kStoreAF);
  CHECK(p.load(0x80020000) == kLoadAF);  // S default deny
  CHECK(p.fetch(0x80020000) == 0);       // fetches stay M-mode
  REQUIRE(h.csr_write(csr::kMstatus, mem_insn(), 3ull << mstatus::kMPPShift | mstatus::kMPRV));
  CHECK(p.load(0x80020000) == 0);
}
