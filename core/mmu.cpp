// Address translation and protection: Sv39/Sv48 page walks with hardware A/D
// updates (privileged spec §4.3-4.4), PMP (§3.7), soft-TLB fills, and the
// out-of-line slow paths behind Hart::load/store/amo_ref/fetch (TLB misses,
// page-crossing accesses, MMIO).
//
// Invariant the inline fast paths rely on: a TLB entry for (mode, type, page)
// exists only if every access of that type by that mode anywhere in the page
// would succeed without side effects: the page is memory, one PMP outcome
// covers it all, and for writes the page is writable, holds no decoded code
// and its PTE is already dirty. Anything else always takes the slow path.
#include <algorithm>
#include <bit>
#include <cstring>

#include "core/csr.hpp"
#include "core/hart.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

namespace pte {
constexpr uint64_t kV = 1, kR = 2, kW = 4, kX = 8, kU = 16, kA = 64, kD = 128;
constexpr unsigned kPpnShift = 10;
// Bits 63:54 (N, PBMT, reserved): Svnapot/Svpbmt are not implemented, so a
// PTE with any of them set is malformed (page fault).
constexpr uint64_t kReserved = 0x3ffull << 54;
constexpr uint64_t ppn(uint64_t e) { return (e >> kPpnShift) & satp::kPpnMask; }
}  // namespace pte

constexpr uint64_t kPageMask = kPageSize - 1;
constexpr unsigned kLevelBits = 9;

uint64_t page_fault(AccessType t) {
  return t == kExec ? cause::kInsnPageFault : t == kWrite ? cause::kStorePageFault
                                                          : cause::kLoadPageFault;
}
uint64_t access_fault(AccessType t) {
  return t == kExec ? cause::kInsnAccessFault : t == kWrite ? cause::kStoreAccessFault
                                                            : cause::kLoadAccessFault;
}

// Leaf permission check for privilege p (the effective one: MPP under MPRV).
bool leaf_permits(uint64_t e, AccessType t, Priv p, uint64_t status) {
  if (p == Priv::U) {
    if (!(e & pte::kU)) return false;
  } else if (e & pte::kU) {
    // S-mode may read/write user pages only with SUM, and never execute them.
    if (t == kExec || !(status & mstatus::kSUM)) return false;
  }
  switch (t) {
    case kRead:
      return (e & pte::kR) || ((status & mstatus::kMXR) && (e & pte::kX));
    case kWrite:
      return e & pte::kW;
    case kExec:
      return e & pte::kX;
  }
  return false;
}

// Byte range [lo, hi) covered by PMP entry k; false if the entry is off or empty.
bool pmp_range(const HartState& h, unsigned k, uint64_t& lo, uint64_t& hi) {
  const uint64_t addr = h.pmpaddr[k];
  switch ((h.pmpcfg[k] & pmp::kAMask) >> pmp::kAShift) {
    case pmp::kTor:
      lo = k == 0 ? 0 : h.pmpaddr[k - 1] << 2;
      hi = addr << 2;
      return lo < hi;
    case pmp::kNa4:
      lo = addr << 2;
      hi = lo + 4;
      return true;
    case pmp::kNapot: {
      // addr = base/4 with its low t bits set: a 2^(t+3)-byte region. pmpaddr
      // holds 54 bits, so t <= 54 and nothing overflows.
      const unsigned t = std::countr_one(addr);
      lo = (addr & ~((1ull << t) - 1)) << 2;
      hi = lo + (1ull << (t + 3));
      return true;
    }
    default:
      return false;
  }
}

// MMIO accesses are naturally aligned power-of-two sizes; devices never see
// split or misaligned accesses.
bool mmio_shape_ok(PAddr pa, unsigned size) {
  return std::has_single_bit(size) && size <= 8 && (pa.v & (size - 1)) == 0;
}

}  // namespace

// ---- TLB ----

void Hart::tlb_flush() {
  for (unsigned set = 0; set < 4; ++set) tlb_flush_set(set);
  clear_table_refs();
}

void Hart::clear_table_refs() {
  std::fill(std::begin(table_ref_page_), std::end(table_ref_page_), kFreeRef);
  table_refs_live_ = 0;
  table_refs_overflow_ = false;
}

unsigned Hart::find_table_ref(uint64_t page) const {
  for (unsigned i = 0, slot = table_ref_hash(page); i < kTableRefSlots; ++i, slot = (slot + 1) % kTableRefSlots) {
    if (table_ref_page_[slot] == page) return slot;
    if (table_ref_page_[slot] == kFreeRef) break;
  }
  return kTableRefSlots;
}

void Hart::note_table_ref(uint64_t table, unsigned index) {
  if (table == kNoTable || table_refs_overflow_) return;
  unsigned slot = find_table_ref(table);
  if (slot == kTableRefSlots) {
    if (++table_refs_live_ > kTableRefLimit) {
      table_refs_overflow_ = true;
      return;
    }
    // The first free or dropped slot of the probe sequence.
    slot = table_ref_hash(table);
    while (table_ref_page_[slot] != kFreeRef && table_ref_page_[slot] != kDroppedRef)
      slot = (slot + 1) % kTableRefSlots;
    table_ref_page_[slot] = table;
    std::fill(std::begin(table_ref_bits_[slot]), std::end(table_ref_bits_[slot]), 0);
  }
  table_ref_bits_[slot][index / 64] |= uint64_t{1} << (index % 64);
}

void Hart::tlb_flush_set(unsigned set) {
  ++tlb_flushes;
  for (auto& type : tlb_[set])
    for (auto& e : type) e = TlbEntry{};
  large_vpn_[set] = large_mask_[set] = 0;
}

void Hart::tlb_flush_page(uint64_t va) {
  const uint64_t vpn = va >> kPageShift;
  for (unsigned set = 0; set < 4; ++set) {
    if (large_mask_[set] && ((vpn ^ large_vpn_[set]) & large_mask_[set]) == 0) {
      tlb_flush_set(set);
      continue;
    }
    for (auto& type : tlb_[set]) {
      TlbEntry& e = type[vpn & (kTlbSize - 1)];
      if (e.tag == vpn) e = TlbEntry{};
    }
  }
}

void Hart::mark_table(Bus::Memory& m, uint64_t offset, uint8_t bits) {
  // A new table page: drop write entries, one of which may map it, and end
  // the block: a compiled loop may hold a write translation of its own for
  // that page (jit/lower.cpp loop_access), which must not outlive this.
  if (bus_.mark_table_page(m, offset, bits)) {
    tlb_flush_writes();
    block_exit = true;
  }
}

void Hart::table_written(PAddr page, uint8_t bits) {
  // Translations may change under the executing block (even its own fetch):
  // it ends after this store, so both tiers fetch the next one afresh.
  block_exit = true;
  if (bits & Bus::kTableNonLeaf) {
    tlb_flush();
    return;
  }
  if (table_refs_overflow_) {
    for (unsigned set = 0; set < 4; ++set)
      for (unsigned t = 0; t < 3; ++t)
        for (unsigned k = 0; k < kTlbSize; ++k)
          if (tlb_table_[set][t][k] == page.v) tlb_[set][t][k] = TlbEntry{};
    return;
  }
  const unsigned slot = find_table_ref(page.v);
  if (slot == kTableRefSlots) return;  // no entry was built from the page
  for (unsigned set = 0; set < 4; ++set)
    for (unsigned t = 0; t < 3; ++t)
      for (unsigned w = 0; w < kTlbSize / 64; ++w)
        for (uint64_t set_bits = table_ref_bits_[slot][w]; set_bits; set_bits &= set_bits - 1) {
          const unsigned k = w * 64 + std::countr_zero(set_bits);
          if (tlb_table_[set][t][k] == page.v) tlb_[set][t][k] = TlbEntry{};
        }
  // Every entry from the page is gone, and the bus has unmarked it: the
  // next walk through it starts a new record.
  table_ref_page_[slot] = kDroppedRef;
  --table_refs_live_;
}

void Hart::tlb_flush_writes() {
  for (auto& mode : tlb_)
    for (auto& e : mode[kWrite]) e = TlbEntry{};
}

void Hart::tlb_fill(Priv p, AccessType t, uint64_t va, PAddr pa, bool dirty, unsigned level,
                    uint64_t table) {
  const PAddr page{pa.v & ~kPageMask};
  Bus::Memory* m = bus_.find_memory(page, kPageSize);
  // A PMP boundary inside the page would make the outcome depend on the
  // offset, which the fast path does not look at.
  if (!m || !pmp_allows(page, kPageSize, t, p)) return;
  // Watched pages stay out of the data TLB so every access is checked.
  if (t != kExec && !watchpoints_.empty() && watched_page(va)) return;
  // Writes to code pages must reach Bus::write (block invalidation), and a
  // clean PTE must see its D bit set by the walk on the first write.
  // Stores to page tables must reach Bus::write too (TLB coherence).
  if (t == kWrite && (!m->writable || !dirty || m->stores_must_reach_bus(page.v - m->base.v))) return;
  // Stores through this entry bypass the bus, so the page counts as written
  // from now on (dirty tracking; see Bus::mark_dirty).
  if (t == kWrite) bus_.mark_dirty(*m, page.v - m->base.v);
  const unsigned mode = t == kExec ? static_cast<unsigned>(p) : dtlb;
  if (level > 0) {
    // Widen the set's superpage range to cover this one (its vpn with the
    // low level*9 bits free).
    const uint64_t vpn = va >> kPageShift;
    uint64_t mask = ~((uint64_t{1} << (kLevelBits * level)) - 1);
    if (large_mask_[mode] == 0) {
      large_vpn_[mode] = vpn;
    } else {
      mask &= large_mask_[mode];
      while ((vpn ^ large_vpn_[mode]) & mask) mask <<= 1;
    }
    large_mask_[mode] = mask;
  }
  const auto index = static_cast<unsigned>((va >> kPageShift) & (kTlbSize - 1));
  TlbEntry& e = tlb_[mode][t][index];
  tlb_table_[mode][t][index] = table;
  note_table_ref(table, index);
  e.tag = va >> kPageShift;
  e.addend = reinterpret_cast<uintptr_t>(m->host + (page.v - m->base.v)) - (va & ~kPageMask);
  if (t == kExec) tlb_exec_ppage_[mode][index] = page.v;
}

// ---- translation ----

bool Hart::walk(uint64_t va, AccessType t, Priv p, PAddr& pa, bool& dirty, unsigned& level,
                uint64_t& table_page) {
  const uint64_t mode = satp >> satp::kModeShift;
  level = 0;
  table_page = kNoTable;
  if (p == Priv::M || mode == satp::kModeBare) {
    pa = PAddr{va};
    dirty = true;
    return true;
  }
  auto fail = [&](uint64_t c) {
    trap_cause = c;
    trap_tval = va;
    return false;
  };
  const unsigned levels = mode == satp::kModeSv48 ? 4 : 3;
  // Bits above the virtual address width must copy its top bit.
  if (static_cast<uint64_t>(isa::sext(va, kPageShift + kLevelBits * levels)) != va)
    return fail(page_fault(t));

  uint64_t table = (satp & satp::kPpnMask) << kPageShift;
  for (int lv = static_cast<int>(levels) - 1; lv >= 0; --lv) {
    const unsigned shift = kPageShift + kLevelBits * lv;
    const PAddr pte_pa{table + ((va >> shift) & ((1u << kLevelBits) - 1)) * 8};
    // Implicit page-table accesses are PMP-checked as S-mode accesses (§3.7.1)
    // and must land in memory; failing either is an access fault of the
    // original access type.
    Bus::Memory* m = bus_.find_memory(pte_pa, 8);
    if (!m || !pmp_allows(pte_pa, 8, kRead, Priv::S)) return fail(access_fault(t));
    uint64_t e;
    std::memcpy(&e, m->host + (pte_pa.v - m->base.v), 8);
    if (!(e & pte::kV) || ((e & pte::kW) && !(e & pte::kR)) || (e & pte::kReserved))
      return fail(page_fault(t));
    if (!(e & (pte::kR | pte::kX))) {  // pointer to the next level
      mark_table(*m, pte_pa.v - m->base.v, Bus::kTableNonLeaf);
      table = pte::ppn(e) << kPageShift;
      continue;
    }
    if (!leaf_permits(e, t, p, mstatus)) return fail(page_fault(t));
    const uint64_t low_ppn = (1ull << (kLevelBits * lv)) - 1;
    if (pte::ppn(e) & low_ppn) return fail(page_fault(t));  // misaligned superpage
    // Hardware A/D update: an implicit store, so it needs PMP write permission
    // and writable memory. It goes through the bus in case the page table
    // shares a page with decoded code.
    // Setting A/D changes no translation cached from this PTE (each was built
    // by a walk that set A, and D for write entries), so it drops none.
    const uint64_t need = pte::kA | (t == kWrite ? pte::kD : 0);
    if ((e & need) != need) {
      if (!m->writable || !pmp_allows(pte_pa, 8, kWrite, Priv::S)) return fail(access_fault(t));
      e |= need;
      bus_.notify_table_writes = false;
      bus_.write(pte_pa, 8, e);
      bus_.notify_table_writes = true;
    }
    mark_table(*m, pte_pa.v - m->base.v, Bus::kTableLeaf);
    dirty = e & pte::kD;
    level = static_cast<unsigned>(lv);
    table_page = pte_pa.v & ~kPageMask;
    pa = PAddr{((pte::ppn(e) & ~low_ppn) << kPageShift) | (va & ((1ull << shift) - 1))};
    return true;
  }
  return fail(page_fault(t));  // a pointer PTE at the last level
}

bool Hart::translate(uint64_t va, AccessType type, unsigned size, PAddr& pa) {
  const Priv p = type == kExec ? priv : dmode;
  bool dirty;
  unsigned level;
  uint64_t table;
  if (!walk(va, type, p, pa, dirty, level, table)) return false;
  if (!pmp_allows(pa, size ? size : 1, type, p)) {
    trap_cause = access_fault(type);
    trap_tval = va;
    return false;
  }
  return true;
}

bool Hart::translate_fill(uint64_t va, AccessType t, unsigned size, PAddr& pa) {
  const Priv p = t == kExec ? priv : dmode;
  bool dirty;
  unsigned level;
  uint64_t table;
  if (!walk(va, t, p, pa, dirty, level, table)) return false;
  if (!pmp_allows(pa, size, t, p)) {
    trap_cause = access_fault(t);
    trap_tval = va;
    return false;
  }
  tlb_fill(p, t, va, pa, dirty, level, table);
  return true;
}

bool Hart::pmp_allows(PAddr pa, uint64_t len, AccessType type, Priv p) const {
  // Callers never pass a range crossing a page, so `last` cannot wrap.
  const uint64_t lo = pa.v, last = pa.v + (len ? len - 1 : 0);
  for (unsigned k = 0; k < 16; ++k) {
    uint64_t elo, ehi;
    if (!pmp_range(*this, k, elo, ehi)) continue;
    if (lo >= ehi || last < elo) continue;  // no byte of the access matches
    // The lowest-numbered entry touching the access decides; it must cover
    // all of it, whatever its permissions and lock.
    if (lo < elo || last >= ehi) return false;
    const uint8_t cfg = pmpcfg[k];
    if (p == Priv::M && !(cfg & pmp::kL)) return true;
    const uint8_t need = type == kRead ? pmp::kR : type == kWrite ? pmp::kW : pmp::kX;
    return cfg & need;
  }
  // No match: M-mode succeeds; S/U fail since PMP entries are implemented.
  return p == Priv::M;
}

// ---- slow paths ----

bool Hart::load_access(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t& out) {
  cur_idx = i.idx;
  auto fail = [&] {
    trap_cause = cause::kLoadAccessFault;
    trap_tval = va;
    return false;
  };
  const unsigned first = static_cast<unsigned>(std::min<uint64_t>(size, kPageSize - (va & kPageMask)));
  out = 0;
  if (first < size) {
    // Crosses a page: translate both parts before touching either; a fault on
    // either part reports the original address.
    PAddr pa0, pa1;
    if (!translate_fill(va, kRead, first, pa0) || !translate_fill(va + first, kRead, size - first, pa1)) {
      trap_tval = va;
      return false;
    }
    Bus::Memory* m0 = bus_.find_memory(pa0, first);
    Bus::Memory* m1 = bus_.find_memory(pa1, size - first);
    if (!m0 || !m1) return fail();
    std::memcpy(&out, m0->host + (pa0.v - m0->base.v), first);
    std::memcpy(reinterpret_cast<uint8_t*>(&out) + first, m1->host + (pa1.v - m1->base.v), size - first);
    return true;
  }
  PAddr pa;
  if (!translate_fill(va, kRead, size, pa)) return false;
  if (Bus::Memory* m = bus_.find_memory(pa, size)) {
    std::memcpy(&out, m->host + (pa.v - m->base.v), size);
    return true;
  }
  if (!mmio_shape_ok(pa, size) || !bus_.find_device(pa, size)) return fail();
  // Devices may change interrupt state; they read the exact position via cur_idx.
  block_exit = true;
  return bus_.read(pa, size, out) || fail();
}

bool Hart::store_access(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t value) {
  cur_idx = i.idx;
  auto fail = [&] {
    trap_cause = cause::kStoreAccessFault;
    trap_tval = va;
    return false;
  };
  const unsigned first = static_cast<unsigned>(std::min<uint64_t>(size, kPageSize - (va & kPageMask)));
  if (first < size) {
    PAddr pa0, pa1;
    if (!translate_fill(va, kWrite, first, pa0) || !translate_fill(va + first, kWrite, size - first, pa1)) {
      trap_tval = va;
      return false;
    }
    Bus::Memory* m0 = bus_.find_memory(pa0, first);
    Bus::Memory* m1 = bus_.find_memory(pa1, size - first);
    if (!m0 || !m1 || !m0->writable || !m1->writable) return fail();
    // Through the bus so that code pages are invalidated.
    bus_.write(pa0, first, value);
    bus_.write(pa1, size - first, value >> (8 * first));
    return true;
  }
  PAddr pa;
  if (!translate_fill(va, kWrite, size, pa)) return false;
  if (bus_.find_memory(pa, size)) return bus_.write(pa, size, value) || fail();
  if (!mmio_shape_ok(pa, size) || !bus_.find_device(pa, size)) return fail();
  block_exit = true;
  return bus_.write(pa, size, value) || fail();
}

void* Hart::amo_access(const DecodedInsn& i, uint64_t va, unsigned size) {
  cur_idx = i.idx;
  if (va & (size - 1)) {
    raise(cause::kStoreMisaligned, va);
    return nullptr;
  }
  PAddr pa;
  if (!translate_fill(va, kWrite, size, pa)) return nullptr;
  Bus::Memory* m = bus_.find_memory(pa, size);
  if (!m || !m->writable) {  // device memory or ROM: no atomics
    raise(cause::kStoreAccessFault, va);
    return nullptr;
  }
  // The caller writes through the returned pointer, bypassing the bus: write
  // the current value back through it first so decoded blocks on a code page,
  // or translations built from a page table, are dropped before it changes.
  if (m->stores_must_reach_bus(pa.v - m->base.v)) {
    uint64_t cur = 0;
    bus_.read(pa, size, cur);
    bus_.write(pa, size, cur);
  }
  // The caller writes through the pointer: the page is dirty (the TLB fill
  // above may have been refused, e.g. for a page PMP splits).
  bus_.mark_dirty(*m, pa.v - m->base.v);
  return m->host + (pa.v - m->base.v);
}

const uint8_t* Hart::fetch_slow(uint64_t va, PAddr& pa) {
  if (va & 1) {
    raise(cause::kInsnMisaligned, va);
    return nullptr;
  }
  if (!translate_fill(va, kExec, 2, pa)) return nullptr;
  Bus::Memory* m = bus_.find_memory(pa, 2);
  if (!m) {  // no execution from devices or unmapped space
    raise(cause::kInsnAccessFault, va);
    return nullptr;
  }
  return m->host + (pa.v - m->base.v);
}

}  // namespace hs

namespace hs {

// ---- debugger watchpoints ----

void Hart::set_watchpoints(std::vector<Watchpoint> w) {
  watchpoints_ = std::move(w);
  tlb_flush();
}

bool Hart::debug_translate(uint64_t va, PAddr& pa) const {
  const uint64_t mode = satp >> satp::kModeShift;
  if (priv == Priv::M || mode == satp::kModeBare) {
    pa = PAddr{va};
    return true;
  }
  const unsigned levels = mode == satp::kModeSv48 ? 4 : 3;
  if (static_cast<uint64_t>(isa::sext(va, kPageShift + kLevelBits * levels)) != va) return false;
  uint64_t table = (satp & satp::kPpnMask) << kPageShift;
  for (int level = static_cast<int>(levels) - 1; level >= 0; --level) {
    const unsigned shift = kPageShift + kLevelBits * level;
    const PAddr pte_pa{table + ((va >> shift) & ((1u << kLevelBits) - 1)) * 8};
    const Bus::Memory* m = const_cast<Bus&>(bus_).find_memory(pte_pa, 8);
    if (!m) return false;
    uint64_t e;
    std::memcpy(&e, m->host + (pte_pa.v - m->base.v), 8);
    if (!(e & pte::kV)) return false;
    if (!(e & (pte::kR | pte::kX))) {
      table = pte::ppn(e) << kPageShift;
      continue;
    }
    const uint64_t low_ppn = (1ull << (kLevelBits * level)) - 1;
    pa = PAddr{((pte::ppn(e) & ~low_ppn) << kPageShift) | (va & ((1ull << shift) - 1))};
    return true;
  }
  return false;
}

bool Hart::watched_page(uint64_t va) const {
  const uint64_t page = va >> kPageShift;
  for (const Watchpoint& w : watchpoints_)
    if (page >= (w.addr >> kPageShift) && page <= ((w.addr + w.len - 1) >> kPageShift)) return true;
  return false;
}

// Checked before translation, so a stopped access has no side effect (A/D
// bits) and a watched access that would fault stops first, like a trigger,
// which has priority over page faults.
bool Hart::watch_stop(const DecodedInsn& i, uint64_t va, unsigned size, bool write) {
  if (watchpoints_.empty() || !watch_armed || position + i.idx == watch_skip) return false;
  for (const Watchpoint& w : watchpoints_) {
    if (!(write ? w.write : w.read)) continue;
    if (va < w.addr + w.len && w.addr < va + size) {
      watch_hit = WatchHit{true, write, std::max(va, w.addr)};
      trap_cause = cause::kWatchStop;
      trap_tval = va;
      return true;
    }
  }
  return false;
}

bool Hart::load_slow(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t& out) {
  return !watch_stop(i, va, size, false) && load_access(i, va, size, out);
}

bool Hart::store_slow(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t value) {
  return !watch_stop(i, va, size, true) && store_access(i, va, size, value);
}

void* Hart::amo_slow(const DecodedInsn& i, uint64_t va, unsigned size) {
  if (watch_stop(i, va, size, false) || watch_stop(i, va, size, true)) return nullptr;
  return amo_access(i, va, size);
}

}  // namespace hs
