// Sv39/Sv48 translation with page tables built in guest RAM: page sizes,
// misaligned superpages, hardware A/D updates, permission rules (R/W/X, U,
// SUM, MXR, MPRV), canonical addresses, sfence.vma and satp flushes,
// page-crossing accesses, MMIO rules, code-page writes, and an S-mode program
// run through the loop under Sv39.
#include <catch2/catch.hpp>

#include "core/csr.hpp"
#include "core/isa/isa_util.hpp"
#include "tests/unit/test_harness.hpp"

using namespace hs;
using namespace hs::isa;
using hs::test::kRamBase;
using hs::test::TestMachine;

namespace {

constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;
constexpr uint32_t kSfenceVma = 0x12000073, kEcall = 0x00000073, kMret = 0x30200073;

void set_priv(Hart& h, Priv p) {
  h.priv = p;
  update_dmode(h);
}
void open_pmp(Hart& h) {
  h.pmpaddr[0] = (1ull << 54) - 1;
  h.pmpcfg[0] = pmp::kNapot << pmp::kAShift | pmp::kR | pmp::kW | pmp::kX;
  h.tlb_flush();
}

// Page tables in guest RAM, table pages allocated from kRamBase + 1 MiB.
struct PageTables {
  TestMachine& t;
  unsigned levels;
  uint64_t next = kRamBase + 0x100000;
  uint64_t root;

  PageTables(TestMachine& tm, unsigned lv) : t(tm), levels(lv), root(alloc()) {}
  uint64_t alloc() {
    const uint64_t p = next;
    next += kPageSize;
    return p;
  }
  uint64_t satp() const { return (levels == 3 ? 8ull : 9ull) << 60 | root >> 12; }
  void write(uint64_t pa, uint64_t v) { REQUIRE(t.m.bus().write(PAddr{pa}, 8, v)); }

  // Address of the PTE for `va` at `level` (0 = 4 KiB leaf), creating
  // intermediate tables as needed.
  uint64_t slot(uint64_t va, unsigned level) {
    uint64_t table = root;
    for (unsigned l = levels - 1;; --l) {
      const uint64_t addr = table + ((va >> (12 + 9 * l)) & 511) * 8;
      if (l == level) return addr;
      uint64_t e = t.read64(addr);
      if (!(e & V)) {
        e = (alloc() >> 12) << 10 | V;
        write(addr, e);
      }
      table = (e >> 10) << 12;
    }
  }
  // Maps va -> pa with a leaf at `level`; returns the PTE's address.
  uint64_t map(uint64_t va, uint64_t pa, unsigned level, uint64_t flags) {
    const uint64_t addr = slot(va, level);
    write(addr, (pa >> 12) << 10 | flags);
    return addr;
  }
};

// A machine in S-mode with PMP open and paging on.
struct PagedMachine : TestMachine {
  PageTables pt;
  explicit PagedMachine(unsigned levels = 3) : pt(*this, levels) {
    open_pmp(h());
    h().satp = pt.satp();
    h().tlb_flush();
    set_priv(h(), Priv::S);
  }
  // Translation result, or the fault cause with kInterruptBit... no: 1000+cause.
  uint64_t xlate(uint64_t va, AccessType type, unsigned size = 1) {
    PAddr pa;
    if (h().translate(va, type, size, pa)) return pa.v;
    CHECK(h().trap_tval == va);
    return 1000 + h().trap_cause;
  }
};
constexpr uint64_t fault(uint64_t cause) { return 1000 + cause; }
constexpr uint64_t kLoadPF = fault(cause::kLoadPageFault), kStorePF = fault(cause::kStorePageFault),
                   kInsnPF = fault(cause::kInsnPageFault);

DecodedInsn mem_insn(uint8_t idx = 0) {
  DecodedInsn d{};
  d.idx = idx;
  d.len = 4;
  return d;
}

// A device that records its last access and when it happened.
struct ProbeDevice : Device {
  const Hart* hart = nullptr;
  uint64_t offset = 0, value = 0;
  unsigned size = 0, accesses = 0;
  Position at{};
  const char* name() const override { return "probe"; }
  bool read(uint64_t off, unsigned sz, uint64_t& v) override {
    record(off, sz);
    v = 0xabcd0000 | off;
    return true;
  }
  bool write(uint64_t off, unsigned sz, uint64_t v) override {
    record(off, sz);
    value = v;
    return true;
  }
  void record(uint64_t off, unsigned sz) {
    offset = off;
    size = sz;
    ++accesses;
    at = hart->clock().now();
  }
};
constexpr uint64_t kProbeBase = 0x10000000;

}  // namespace

TEST_CASE("Sv39 translates 4 KiB, 2 MiB and 1 GiB pages", "[mmu]") {
  PagedMachine t;
  t.pt.map(0x1000, 0x80300000, 0, V | R | W | A | D);
  t.pt.map(0x200000, 0x80400000, 1, V | R | W | X | A | D);
  t.pt.map(0x40000000, 0x80000000, 2, V | R | A);
  t.pt.map(0xffffffffc0000000, 0x80000000, 2, V | R | A);  // top of the address space
  CHECK(t.xlate(0x1234, kRead) == 0x80300234);
  CHECK(t.xlate(0x1ff8, kWrite, 8) == 0x80300ff8);
  CHECK(t.xlate(0x212345, kRead) == 0x80412345);
  CHECK(t.xlate(0x3ffffe, kExec) == 0x805ffffe);
  CHECK(t.xlate(0x40123456, kRead) == 0x80123456);
  CHECK(t.xlate(0xffffffffc0001000, kRead) == 0x80001000);
  CHECK(t.xlate(0x2000, kRead) == kLoadPF);  // unmapped

  // Loads and stores land at the physical address.
  Hart& h = t.h();
  REQUIRE(h.store<uint64_t>(mem_insn(), 0x1238, 0x1122334455667788ull));
  CHECK(t.read64(0x80300238) == 0x1122334455667788ull);
  uint32_t w = 0;
  REQUIRE(h.load<uint32_t>(mem_insn(), 0x4030023c, w));  // same bytes via the 1 GiB page
  CHECK(w == 0x11223344u);
  REQUIRE(t.m.bus().write(PAddr{0x80300238}, 8, 0x99));
  uint64_t v = 0;
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x1238, v));  // TLB hit sees memory, not a copy
  CHECK(v == 0x99);
}

TEST_CASE("misaligned superpages page-fault", "[mmu]") {
  PagedMachine t;
  t.pt.map(0x600000, 0x80401000, 1, V | R | W | A | D);    // 2 MiB leaf, 4 KiB-aligned pa
  t.pt.map(0x80000000, 0x80200000, 2, V | R | W | A | D);  // 1 GiB leaf, 2 MiB-aligned pa
  CHECK(t.xlate(0x600000, kRead) == kLoadPF);
  CHECK(t.xlate(0x600010, kWrite) == kStorePF);
  CHECK(t.xlate(0x80000000, kExec) == kInsnPF);
}

TEST_CASE("hardware sets A on access and D on store", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  const uint64_t pte = t.pt.map(0x3000, 0x80300000, 0, V | R | W);
  CHECK(t.xlate(0x3000, kRead) == 0x80300000);
  CHECK(t.read64(pte) == ((0x80300000ull >> 12) << 10 | V | R | W | A));
  // A load fills the read TLB; the first store must still walk and set D.
  uint64_t v;
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x3008, v));
  REQUIRE(h.store<uint64_t>(mem_insn(), 0x3008, 5));
  CHECK(t.read64(pte) == ((0x80300000ull >> 12) << 10 | V | R | W | A | D));
  CHECK(t.read64(0x80300008) == 5);

  // Failed permission checks update nothing.
  const uint64_t ro = t.pt.map(0x4000, 0x80301000, 0, V | R);
  CHECK(t.xlate(0x4000, kWrite) == kStorePF);
  CHECK(t.read64(ro) == ((0x80301000ull >> 12) << 10 | V | R));
}

TEST_CASE("leaf permissions: R/W/X, W without R, V, reserved bits", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  t.pt.map(0x1000, 0x80300000, 0, V | R | A | D);
  t.pt.map(0x2000, 0x80301000, 0, V | X | A | D);
  t.pt.map(0x3000, 0x80302000, 0, V | W | A | D);  // reserved: W without R
  t.pt.map(0x4000, 0x80303000, 0, R | W | X | A | D);  // not valid
  t.pt.map(0x5000, 0x80304000, 0, V | R | W | A | D | 1ull << 61);  // PBMT without Svpbmt
  t.pt.map(0x6000, 0x80305000, 0, V | R | W | A | D | 1ull << 63);  // N without Svnapot

  CHECK(t.xlate(0x1000, kRead) == 0x80300000);
  CHECK(t.xlate(0x1000, kWrite) == kStorePF);
  CHECK(t.xlate(0x1000, kExec) == kInsnPF);
  CHECK(t.xlate(0x2000, kRead) == kLoadPF);
  CHECK(t.xlate(0x2000, kExec) == 0x80301000);
  CHECK(t.xlate(0x3000, kRead) == kLoadPF);
  CHECK(t.xlate(0x3000, kWrite) == kStorePF);
  CHECK(t.xlate(0x4000, kRead) == kLoadPF);
  CHECK(t.xlate(0x5000, kRead) == kLoadPF);
  CHECK(t.xlate(0x6000, kRead) == kLoadPF);

  // MXR makes executable pages readable; the read TLB must not outlive it.
  uint64_t v;
  REQUIRE(h.csr_write(csr::kSstatus, mem_insn(), mstatus::kMXR));
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x2000, v));
  REQUIRE(h.csr_write(csr::kSstatus, mem_insn(), 0));
  CHECK_FALSE(h.load<uint64_t>(mem_insn(), 0x2000, v));
  CHECK(h.trap_cause == cause::kLoadPageFault);
  CHECK(h.trap_tval == 0x2000);
}

TEST_CASE("a pointer PTE at the last level page-faults", "[mmu]") {
  PagedMachine t;
  t.pt.map(0x7000, 0x80300000, 0, V);  // V only at level 0: a pointer
  CHECK(t.xlate(0x7000, kRead) == kLoadPF);
}

TEST_CASE("U pages: S-mode needs SUM for data and never executes them", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  t.pt.map(0x1000, 0x80300000, 0, V | R | W | X | U | A | D);
  t.pt.map(0x2000, 0x80301000, 0, V | R | W | X | A | D);
  CHECK(t.xlate(0x1000, kRead) == kLoadPF);
  CHECK(t.xlate(0x1000, kWrite) == kStorePF);
  CHECK(t.xlate(0x1000, kExec) == kInsnPF);
  uint64_t v;
  REQUIRE_FALSE(h.load<uint64_t>(mem_insn(), 0x1000, v));
  REQUIRE(h.csr_write(csr::kSstatus, mem_insn(), mstatus::kSUM));
  CHECK(t.xlate(0x1000, kRead) == 0x80300000);
  CHECK(t.xlate(0x1000, kWrite) == 0x80300000);
  CHECK(t.xlate(0x1000, kExec) == kInsnPF);
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x1000, v));  // fills the S read TLB
  REQUIRE(h.csr_write(csr::kSstatus, mem_insn(), 0));   // clearing SUM must stop using it
  CHECK_FALSE(h.load<uint64_t>(mem_insn(), 0x1000, v));

  set_priv(h, Priv::U);
  CHECK(t.xlate(0x1000, kRead) == 0x80300000);
  CHECK(t.xlate(0x1000, kExec) == 0x80300000);
  CHECK(t.xlate(0x2000, kRead) == kLoadPF);
  CHECK(t.xlate(0x2000, kExec) == kInsnPF);
}

TEST_CASE("MPRV translates M-mode data accesses as MPP", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  t.pt.map(0x1000, 0x80300000, 0, V | R | W | U | A | D);
  REQUIRE(t.m.bus().write(PAddr{0x80300000}, 8, 0x5555));
  set_priv(h, Priv::M);
  uint64_t v = 0;
  // Without MPRV the M-mode access is physical (and unmapped).
  REQUIRE_FALSE(h.load<uint64_t>(mem_insn(), 0x1000, v));
  CHECK(h.trap_cause == cause::kLoadAccessFault);
  REQUIRE(h.csr_write(csr::kMstatus, mem_insn(), mstatus::kMPRV | 0ull << mstatus::kMPPShift));
  CHECK(h.dmode == Priv::U);
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x1000, v));
  CHECK(v == 0x5555);
  // Fetches ignore MPRV.
  CHECK(t.xlate(0x80000000, kExec) == 0x80000000);
  // MPP=S: the page is a user page and SUM is off.
  REQUIRE(h.csr_write(csr::kMstatus, mem_insn(), mstatus::kMPRV | 1ull << mstatus::kMPPShift));
  CHECK(h.dmode == Priv::S);
  CHECK_FALSE(h.load<uint64_t>(mem_insn(), 0x1000, v));
  CHECK(h.trap_cause == cause::kLoadPageFault);
}

TEST_CASE("non-canonical addresses page-fault", "[mmu]") {
  SECTION("Sv39") {
    PagedMachine t;
    t.pt.map(0x1000, 0x80300000, 0, V | R | W | X | A | D);
    CHECK(t.xlate(0x0000004000001000, kRead) == kLoadPF);
    CHECK(t.xlate(0xffff800000001000, kWrite) == kStorePF);
    CHECK(t.xlate(0x8000000000001000, kExec) == kInsnPF);
    CHECK(t.xlate(0x0000000000001000, kRead) == 0x80300000);
  }
  SECTION("Sv48") {
    PagedMachine t(4);
    t.pt.map(0x0000004000001000, 0x80300000, 0, V | R | W | A | D);  // needs 48 bits
    CHECK(t.xlate(0x0000004000001010, kRead) == 0x80300010);
    CHECK(t.xlate(0x0000800000001000, kRead) == kLoadPF);
    CHECK(t.xlate(0xfff0800000001000, kRead) == kLoadPF);
  }
}

TEST_CASE("Sv48 translates 4 KiB, 2 MiB, 1 GiB and 512 GiB pages", "[mmu]") {
  PagedMachine t(4);
  t.pt.map(0x00007f8000001000, 0x80300000, 0, V | R | W | A | D);
  t.pt.map(0x00007f8000200000, 0x80400000, 1, V | R | A);
  t.pt.map(0x00007f8040000000, 0x80000000, 2, V | R | A);
  t.pt.map(0xffff800000000000, 0, 3, V | R | A);  // terapage over physical 0
  CHECK(t.xlate(0x00007f8000001abc, kRead) == 0x80300abc);
  CHECK(t.xlate(0x00007f8000212345, kRead) == 0x80412345);
  CHECK(t.xlate(0x00007f8040123456, kRead) == 0x80123456);
  CHECK(t.xlate(0xffff800080001000, kRead) == 0x80001000);
  // A terapage whose pa is only 1 GiB-aligned is misaligned.
  t.pt.map(0xffff808000000000, 0x80000000, 3, V | R | A);
  CHECK(t.xlate(0xffff808000000000, kRead) == kLoadPF);

  // Going through the hart's data path too.
  uint64_t v = 0;
  REQUIRE(t.m.bus().write(PAddr{0x80001000}, 8, 0x4848));
  REQUIRE(t.h().load<uint64_t>(mem_insn(), 0xffff800080001000, v));
  CHECK(v == 0x4848);
}

TEST_CASE("the soft TLB is coherent: PTE changes take effect at once, fence or not", "[mmu]") {
  // Stricter than the spec requires (it allows the old translation until
  // sfence.vma), and what makes the TLB invisible to determinism: a hit
  // always gives what a walk would give now.
  PagedMachine t;
  Hart& h = t.h();
  for (uint64_t pa : {0x80300000, 0x80301000, 0x80302000, 0x80502000})
    REQUIRE(t.m.bus().write(PAddr{pa}, 8, pa));
  uint64_t v = 0;
  auto load = [&](uint64_t va) {
    REQUIRE(h.load<uint64_t>(mem_insn(), va, v));
    return v;
  };
  const uint64_t pte5 = t.pt.map(0x5000, 0x80300000, 0, V | R | W | A | D);
  t.pt.map(0x6000, 0x80300000, 0, V | R | W | A | D);
  const uint64_t pte_super = t.pt.map(0x40200000, 0x80200000, 1, V | R | W | A | D);  // 2 MiB
  CHECK(load(0x5000) == 0x80300000);
  CHECK(load(0x6000) == 0x80300000);
  CHECK(load(0x40302000) == 0x80302000);

  SECTION("a remapped 4 KiB page and superpage, no fence") {
    t.pt.map(0x5000, 0x80301000, 0, V | R | W | A | D);
    t.pt.map(0x40200000, 0x80400000, 1, V | R | W | A | D);
    CHECK(load(0x5000) == 0x80301000);
    CHECK(load(0x6000) == 0x80300000);
    CHECK(load(0x40302000) == 0x80502000);
  }
  SECTION("A cleared without a fence is set again by the next access, as a walk would") {
    t.pt.write(pte5, (0x80300000 >> 12) << 10 | V | R | W | D);
    CHECK(load(0x5000) == 0x80300000);
    CHECK(t.read64(pte5) & A);
    // Also through the hart's own stores and AMOs (page tables mapped at VA 0x7000).
    t.pt.map(0x7000, pte5 & ~0xfffull, 0, V | R | W | A | D);
    REQUIRE(h.store<uint64_t>(mem_insn(), 0x7000 + (pte5 & 0xfff), t.read64(pte5) & ~A));
    CHECK(load(0x5000) == 0x80300000);
    CHECK(t.read64(pte5) & A);
    uint64_t* ref = nullptr;
    REQUIRE(h.amo_ref<uint64_t>(mem_insn(), 0x7000 + (pte5 & 0xfff), ref));
    *ref &= ~A;
    CHECK(load(0x5000) == 0x80300000);
    CHECK(t.read64(pte5) & A);
  }
  SECTION("a store that invalidates the mapping faults the next access") {
    t.pt.write(pte_super, 0);
    CHECK_FALSE(h.load<uint64_t>(mem_insn(), 0x40302000, v));
    CHECK(h.trap_cause == cause::kLoadPageFault);
  }
  SECTION("sfence.vma, whole or by address, changes nothing visible") {
    h.x[10] = 0x5008;
    REQUIRE(t.exec(kSfenceVma | 10u << 15) == Flow::kEndBlock);
    h.x[10] = 0x40200000;
    REQUIRE(t.exec(kSfenceVma | 10u << 15) == Flow::kEndBlock);
    REQUIRE(t.exec(kSfenceVma) == Flow::kEndBlock);
    CHECK(load(0x5000) == 0x80300000);
    CHECK(load(0x40302000) == 0x80302000);
  }
  SECTION("a new root through satp") {
    PageTables other(t, 3);
    other.next = kRamBase + 0x180000;
    other.root = other.alloc();
    other.map(0x5000, 0x80302000, 0, V | R | A);
    REQUIRE(h.csr_write(csr::kSatp, mem_insn(), other.satp()));
    CHECK(load(0x5000) == 0x80302000);
  }
}

TEST_CASE("PTE stores drop exactly the translations built from their table page", "[mmu]") {
  // The hart records which TLB indices each table page filled (and scans
  // everything once too many table pages are live): either way a PTE store
  // must take effect at once, for that page and no other.
  const unsigned pages = GENERATE(8u, 300u);  // 300: past the record's limit
  PagedMachine t;
  Hart& h = t.h();
  REQUIRE(t.m.bus().write(PAddr{0x80f00000}, 8, 0x1111));
  REQUIRE(t.m.bus().write(PAddr{0x80f01000}, 8, 0x2222));
  // Page i in 2 MiB region i: a leaf table page each, distinct TLB indices.
  auto va = [](unsigned i) { return uint64_t{i} * 0x200000 + uint64_t{i} * kPageSize; };
  std::vector<uint64_t> ptes;
  for (unsigned i = 0; i < pages; ++i) ptes.push_back(t.pt.map(va(i), 0x80f00000, 0, V | R | W | A | D));
  uint64_t v = 0;
  auto load = [&](uint64_t at) {
    REQUIRE(h.load<uint64_t>(mem_insn(), at, v));
    return v;
  };
  for (unsigned i = 0; i < pages; ++i) CHECK(load(va(i)) == 0x1111);
  for (unsigned i : {0u, 3u, pages - 1}) {
    t.pt.write(ptes[i], (0x80f01000 >> 12) << 10 | V | R | W | A | D);
    CHECK(load(va(i)) == 0x2222);
    if (i > 0) CHECK(load(va(i - 1)) == (i - 1 == 0 || i - 1 == 3 ? 0x2222 : 0x1111));
    // Mapped again through the same table page: a second store drops it too.
    t.pt.write(ptes[i], (0x80f00000 >> 12) << 10 | V | R | W | A | D);
    CHECK(load(va(i)) == 0x1111);
    t.pt.write(ptes[i], (0x80f01000 >> 12) << 10 | V | R | W | A | D);
    CHECK(load(va(i)) == 0x2222);
  }
  t.pt.write(ptes[1], 0);
  CHECK_FALSE(h.load<uint64_t>(mem_insn(), va(1), v));
  CHECK(h.trap_cause == cause::kLoadPageFault);
}

TEST_CASE("a chain slot holds exactly while its target's exec translation stays", "[mmu]") {
  // Compiled units chain through slots checked inline against the exec TLB
  // (core/compiled.hpp ChainSlot, chain_slot_holds): a slot must fail as
  // soon as pc's page may map elsewhere, or a unit would enter stale code;
  // and hold again when the page comes back to the same host page.
  PagedMachine t;
  Hart& h = t.h();
  const uint64_t pte = t.pt.map(0x5000, 0x80300000, 0, V | R | X | A | D);
  t.pt.map(0x5000 + Hart::kTlbSize * kPageSize, 0x80301000, 0, V | R | X | A | D);  // same index
  t.pt.map(0x6000, 0x80302000, 0, V | R | X | A | D);
  PAddr pa;
  auto fetch = [&](uint64_t va) {
    REQUIRE(h.fetch(va, pa) != nullptr);
    return pa.v;
  };
  CompiledUnit unit;
  auto slot_for = [&](uint64_t va) {  // as hs_jit_chain fills it
    return ChainSlot{va, h.chain_gen, &unit, reinterpret_cast<uintptr_t>(h.fetch_hit(va)) - va};
  };
  CHECK(fetch(0x5000) == 0x80300000);
  ChainSlot s = slot_for(0x5004);
  CHECK(chain_slot_holds(h, s, 0x5004));
  CHECK_FALSE(chain_slot_holds(h, s, 0x5008));  // another target
  CHECK(fetch(0x6000) == 0x80302000);          // another page's fill
  CHECK(chain_slot_holds(h, s, 0x5004));
  CHECK(fetch(0x5000 + Hart::kTlbSize * kPageSize) == 0x80301000);  // replaces 0x5000's entry
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
  CHECK(fetch(0x5000) == 0x80300000);  // back where it was
  CHECK(chain_slot_holds(h, s, 0x5004));
  t.pt.write(pte, (0x80302000 >> 12) << 10 | V | R | X | A | D);  // PTE store
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
  CHECK(fetch(0x5000) == 0x80302000);  // now elsewhere
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
  s = slot_for(0x5004);
  CHECK(chain_slot_holds(h, s, 0x5004));
  h.x[10] = 0x9000;  // not cached: nothing changes
  REQUIRE(t.exec(kSfenceVma | 10u << 15) == Flow::kEndBlock);
  CHECK(chain_slot_holds(h, s, 0x5004));
  h.x[10] = 0x5000;
  REQUIRE(t.exec(kSfenceVma | 10u << 15) == Flow::kEndBlock);
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
  CHECK(fetch(0x5000) == 0x80302000);
  CHECK(chain_slot_holds(h, s, 0x5004));
  REQUIRE(t.exec(kSfenceVma) == Flow::kEndBlock);
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
  CHECK(fetch(0x5000) == 0x80302000);
  CHECK(chain_slot_holds(h, s, 0x5004));
  // Another privilege fetches through its own set: not mapped there.
  const Priv was = h.priv;
  h.priv = Priv::U;
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
  h.priv = was;
  CHECK(chain_slot_holds(h, s, 0x5004));
  // Units and blocks may go: a new generation fails every slot.
  h.chain_gen = new_chain_generation();
  CHECK_FALSE(chain_slot_holds(h, s, 0x5004));
}

TEST_CASE("a walk through a page not yet known as a page table ends the block", "[mmu]") {
  // The TLB's write entries are dropped then (one may map the new table
  // page), and compiled loops keep write translations of their own for the
  // rest of a unit (jit/lower.cpp loop_access): the block must end there.
  PagedMachine t;
  Hart& h = t.h();
  t.pt.map(0x5000, 0x80300000, 0, V | R | W | A | D);
  t.pt.map(0x6000, 0x80301000, 0, V | R | W | A | D);  // same leaf table page
  uint64_t v = 0;
  h.block_exit = false;
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x5000, v));
  CHECK(h.block_exit);
  CHECK(h.mem_done() == Flow::kEndBlock);
  h.block_exit = false;
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x6000, v));  // walks known table pages only
  CHECK_FALSE(h.block_exit);
}

TEST_CASE("sfence.vma is illegal in U-mode and in S-mode with TVM", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  set_priv(h, Priv::U);
  REQUIRE(t.exec(kSfenceVma) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kIllegalInsn);
  set_priv(h, Priv::S);
  h.mstatus |= mstatus::kTVM;
  REQUIRE(t.exec(kSfenceVma) == Flow::kTrap);
  CHECK(h.trap_cause == cause::kIllegalInsn);
  set_priv(h, Priv::M);
  CHECK(t.exec(kSfenceVma) == Flow::kEndBlock);
}

TEST_CASE("page table outside memory is an access fault", "[mmu]") {
  TestMachine t;
  Hart& h = t.h();
  open_pmp(h);
  h.satp = 8ull << 60 | 0x20000;  // root at 0x20000000: nothing there
  h.tlb_flush();
  set_priv(h, Priv::S);
  uint64_t v;
  REQUIRE_FALSE(h.load<uint64_t>(mem_insn(), 0x1000, v));
  CHECK(h.trap_cause == cause::kLoadAccessFault);
  CHECK(h.trap_tval == 0x1000);
  REQUIRE_FALSE(h.store<uint64_t>(mem_insn(), 0x1000, 0));
  CHECK(h.trap_cause == cause::kStoreAccessFault);
  PAddr pa;
  CHECK(h.fetch(0x1000, pa) == nullptr);
  CHECK(h.trap_cause == cause::kInsnAccessFault);
}

TEST_CASE("accesses crossing a page are split; faults report the original address", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  t.pt.map(0x7000, 0x80500000, 0, V | R | W | A | D);
  t.pt.map(0x8000, 0x80600000, 0, V | R | W | A | D);  // not physically contiguous
  t.pt.map(0x9000, 0x80700000, 0, V | R | W | A | D);  // 0xa000 unmapped
  REQUIRE(h.store<uint64_t>(mem_insn(), 0x7ffc, 0x1122334455667788ull));
  uint64_t lo = 0, hi = 0;
  REQUIRE(t.m.bus().read(PAddr{0x80500ffc}, 4, lo));
  REQUIRE(t.m.bus().read(PAddr{0x80600000}, 4, hi));
  CHECK(lo == 0x55667788u);
  CHECK(hi == 0x11223344u);
  uint64_t v = 0;
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x7ffe, v));
  CHECK(v == 0x0000112233445566ull);
  uint16_t hw = 0;
  REQUIRE(h.load<uint16_t>(mem_insn(), 0x7fff, hw));
  CHECK(hw == 0x4455);
  // Misaligned within a page: performed directly.
  REQUIRE(h.load<uint64_t>(mem_insn(), 0x7ffb, v));
  CHECK(v == 0x2233445566778800ull);

  REQUIRE(t.m.bus().write(PAddr{0x80700ff8}, 8, 0xaaaaaaaaaaaaaaaaull));
  REQUIRE_FALSE(h.store<uint64_t>(mem_insn(), 0x9ffc, 0));
  CHECK(h.trap_cause == cause::kStorePageFault);
  CHECK(h.trap_tval == 0x9ffc);
  CHECK(t.read64(0x80700ff8) == 0xaaaaaaaaaaaaaaaaull);  // nothing written
  uint32_t w = 0;
  REQUIRE_FALSE(h.load<uint32_t>(mem_insn(), 0x9ffe, w));
  CHECK(h.trap_cause == cause::kLoadPageFault);
  CHECK(h.trap_tval == 0x9ffe);
}

TEST_CASE("MMIO: exact position, naturally aligned only, no atomics", "[mmu][mmio]") {
  ProbeDevice dev;
  TestMachine t;
  Hart& h = t.h();
  dev.hart = &h;
  t.m.bus().add_device(PAddr{kProbeBase}, 0x1000, &dev);
  h.position = 100;

  uint32_t w = 0;
  REQUIRE(h.load<uint32_t>(mem_insn(7), kProbeBase + 0x10, w));
  CHECK(w == 0xabcd0010u);
  CHECK(dev.size == 4);
  CHECK(dev.at == Position{107});
  CHECK(h.block_exit);
  CHECK(h.cur_idx == 7);
  h.block_exit = false;
  REQUIRE(h.store<uint16_t>(mem_insn(2), kProbeBase + 0x22, 0xbeef));
  CHECK(dev.offset == 0x22);
  CHECK(dev.value == 0xbeef);
  CHECK(dev.at == Position{102});
  CHECK(h.block_exit);
  // Every access reaches the device: nothing is cached in the TLB.
  REQUIRE(h.load<uint32_t>(mem_insn(), kProbeBase + 0x10, w));
  CHECK(dev.accesses == 3);

  SECTION("misaligned") {
    REQUIRE_FALSE(h.load<uint32_t>(mem_insn(), kProbeBase + 0x2, w));
    CHECK(h.trap_cause == cause::kLoadAccessFault);
    CHECK(h.trap_tval == kProbeBase + 0x2);
    REQUIRE_FALSE(h.store<uint64_t>(mem_insn(), kProbeBase + 0x4, 0));
    CHECK(h.trap_cause == cause::kStoreAccessFault);
    CHECK(dev.accesses == 3);
  }
  SECTION("atomics") {
    uint32_t* ref = nullptr;
    REQUIRE_FALSE(h.amo_ref<uint32_t>(mem_insn(), kProbeBase + 0x8, ref));
    CHECK(h.trap_cause == cause::kStoreAccessFault);
    REQUIRE_FALSE(h.amo_ref<uint32_t>(mem_insn(), kRamBase + 0x102, ref));
    CHECK(h.trap_cause == cause::kStoreMisaligned);
    CHECK(h.trap_tval == kRamBase + 0x102);
    uint64_t* ref64 = nullptr;
    REQUIRE(h.amo_ref<uint64_t>(mem_insn(), kRamBase + 0x108, ref64));
    *ref64 = 77;
    CHECK(t.read64(kRamBase + 0x108) == 77);
  }
  SECTION("unmapped physical addresses") {
    REQUIRE_FALSE(h.load<uint32_t>(mem_insn(), 0x20000000, w));
    CHECK(h.trap_cause == cause::kLoadAccessFault);
    REQUIRE_FALSE(h.store<uint8_t>(mem_insn(), 0x20000000, 1));
    CHECK(h.trap_cause == cause::kStoreAccessFault);
    PAddr pa;
    CHECK(h.fetch(kProbeBase, pa) == nullptr);  // no execution from devices
    CHECK(h.trap_cause == cause::kInsnAccessFault);
  }
}

TEST_CASE("stores to code pages invalidate blocks and are never TLB-cached", "[mmu]") {
  TestMachine t;
  Hart& h = t.h();
  Bus& bus = t.m.bus();
  const uint64_t page = kRamBase + 0x4000;
  bus.mark_code_page(PAddr{page});
  h.block_exit = false;
  REQUIRE(h.store<uint32_t>(mem_insn(), page + 8, 1));
  CHECK(h.block_exit);  // the machine's code-write hook ran
  CHECK_FALSE(bus.is_code_page(PAddr{page}));
  // No longer a code page: the write TLB may map it now.
  h.block_exit = false;
  REQUIRE(h.store<uint32_t>(mem_insn(), page + 12, 2));
  CHECK_FALSE(h.block_exit);
  // Marking it again (a block was decoded from it) must drop the write mapping.
  bus.mark_code_page(PAddr{page});
  h.tlb_flush_writes();
  REQUIRE(h.store<uint32_t>(mem_insn(), page + 16, 3));
  CHECK(h.block_exit);

  SECTION("AMOs too") {
    bus.mark_code_page(PAddr{page});
    h.tlb_flush_writes();
    h.block_exit = false;
    uint32_t* ref = nullptr;
    REQUIRE(h.amo_ref<uint32_t>(mem_insn(), page + 8, ref));
    CHECK(h.block_exit);
    CHECK_FALSE(bus.is_code_page(PAddr{page}));
    CHECK(*ref == 1);
  }
  SECTION("ROM is read-only") {
    bus.add_memory("rom", PAddr{0x1000}, 0x1000, false);
    REQUIRE_FALSE(h.store<uint32_t>(mem_insn(), 0x1000, 1));
    CHECK(h.trap_cause == cause::kStoreAccessFault);
    uint32_t* ref = nullptr;
    REQUIRE_FALSE(h.amo_ref<uint32_t>(mem_insn(), 0x1000, ref));
    CHECK(h.trap_cause == cause::kStoreAccessFault);
    // Device DMA neither; only the host's own loading writes ROM.
    const uint8_t bytes[4] = {1, 2, 3, 4};
    CHECK_FALSE(bus.write_bytes(PAddr{0x1000}, bytes));
    uint32_t v = 1;
    REQUIRE(h.load<uint32_t>(mem_insn(), 0x1000, v));
    CHECK(v == 0);
    REQUIRE(bus.load_bytes(PAddr{0x1000}, bytes));
    REQUIRE(h.load<uint32_t>(mem_insn(), 0x1000, v));
    CHECK(v == 0x04030201);
  }
}

TEST_CASE("instruction fetch through page tables", "[mmu]") {
  PagedMachine t;
  Hart& h = t.h();
  t.pt.map(0x10000, 0x80300000, 0, V | R | X | A);
  t.pt.map(0x11000, 0x80301000, 0, V | R | W | A | D);
  t.pt.map(0x12000, 0x80302000, 0, V | R | X | U | A);
  REQUIRE(t.m.bus().write(PAddr{0x80300010}, 4, 0x12345678));
  PAddr pa;
  const uint8_t* p = h.fetch(0x10010, pa);
  REQUIRE(p != nullptr);
  CHECK(pa.v == 0x80300010);
  uint32_t w;
  std::memcpy(&w, p, 4);
  CHECK(w == 0x12345678u);
  p = h.fetch(0x10010, pa);  // TLB hit gives the same
  REQUIRE(p != nullptr);
  CHECK(pa.v == 0x80300010);
  CHECK(h.fetch(0x11000, pa) == nullptr);
  CHECK(h.trap_cause == cause::kInsnPageFault);
  CHECK(h.trap_tval == 0x11000);
  CHECK(h.fetch(0x12000, pa) == nullptr);  // user page from S
  CHECK(h.trap_cause == cause::kInsnPageFault);
  set_priv(h, Priv::U);
  CHECK(h.fetch(0x12000, pa) != nullptr);
  CHECK(h.fetch(0x10000, pa) == nullptr);
}

TEST_CASE("an S-mode program under Sv39 through the run loop", "[mmu]") {
  TestMachine t;
  Hart& h = t.h();
  PageTables pt(t, 3);
  const uint64_t code = pt.map(0x400000, 0x80200000, 0, V | R | X);
  const uint64_t data = pt.map(0x401000, 0x80201000, 0, V | R | W);
  open_pmp(h);
  h.x[5] = pt.satp();
  h.mtvec = kRamBase + 0x800;
  h.mepc = 0x400000;
  h.mstatus |= 1ull << mstatus::kMPPShift;  // MPP = S
  t.load({encode_i(op::kSystem, 0, 1, 5, csr::kSatp), kMret});
  t.load({encode_u(op::kLui, 1, 0x401000), encode_i(op::kOpImm, 2, 0, 0, 77),
          encode_s(op::kStore, 3, 1, 2, 8), encode_i(op::kLoad, 3, 3, 1, 8), kEcall},
         0x80200000);
  t.step(7);
  CHECK(h.priv == Priv::M);
  CHECK(h.mcause == cause::kEcallS);
  CHECK(h.mepc == 0x400010);
  CHECK(h.x[3] == 77);
  CHECK(t.read64(0x80201008) == 77);
  CHECK((t.read64(code) & (A | D)) == A);
  CHECK((t.read64(data) & (A | D)) == (A | D));
}

TEST_CASE("a watchpoint stops before the access, with the instruction not executed", "[mmu][watch]") {
  TestMachine t;
  Hart& h = t.h();
  const uint64_t data = kRamBase + 0x1000;
  t.load({encode_i(op::kOpImm, 1, 0, 0, 42),                // 0: addi x1, x0, 42
          encode_r(op::kAmo, 5, 3, 2, 0, 0x02 << 2),        // 1: lr.d x5, (x2)
          encode_r(op::kAmo, 6, 3, 2, 1, 0x03 << 2),        // 2: sc.d x6, x1, (x2)
          encode_s(op::kStore, 3, 2, 1, 8),                 // 3: sd x1, 8(x2)
          encode_i(op::kLoad, 4, 3, 2, 8)});                // 4: ld x4, 8(x2)
  h.x[2] = data;
  h.x[6] = 7;
  h.set_watchpoints({Watchpoint{data, 16, false, true}});  // writes to data[0..16)

  // The SC stops before it writes, keeping its reservation.
  REQUIRE(t.m.run(Position{100}) == StopReason::kWatchpoint);
  CHECK(t.m.position().v == 2);
  CHECK(h.pc == kRamBase + 8);
  CHECK(h.instret == 2);
  CHECK((h.watch_hit.hit && h.watch_hit.write && h.watch_hit.addr == data));
  CHECK(h.x[6] == 7);
  CHECK(h.reservation_valid);
  // Resumed with the watchpoint in place it stops there again (gdb removes it
  // to step over the access) ...
  REQUIRE(t.m.run(Position{100}) == StopReason::kWatchpoint);
  CHECK(t.m.position().v == 2);
  // ... or the caller skips that position's accesses: the SC succeeds.
  h.watch_skip = 2;
  REQUIRE(t.m.run(Position{100}) == StopReason::kWatchpoint);
  CHECK(h.x[6] == 0);
  CHECK(t.read64(data) == 42);
  // The store at position 3 stops next; memory is untouched until it runs.
  CHECK(t.m.position().v == 3);
  CHECK(h.watch_hit.addr == data + 8);
  CHECK(t.read64(data + 8) == 0);
  h.watch_skip = 3;
  REQUIRE(t.m.run(Position{5}) == StopReason::kTarget);  // the load is not watched
  CHECK(h.x[4] == 42);

  SECTION("read watchpoints stop loads") {
    h.reset(kRamBase + 16);  // the ld
    h.x[2] = data;
    h.x[4] = 5;
    h.set_watchpoints({Watchpoint{data + 12, 1, true, false}});
    REQUIRE(t.m.run(t.m.position() + 1) == StopReason::kWatchpoint);
    CHECK((h.watch_hit.hit && !h.watch_hit.write && h.watch_hit.addr == data + 12));
    CHECK(h.x[4] == 5);  // unchanged: the load has not happened
    CHECK(h.pc == kRamBase + 16);
  }
}
