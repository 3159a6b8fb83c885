// Hart state (a plain struct that compiled code can address directly) and the
// Hart class: memory access with an inline soft-TLB hit path, CSR access,
// traps and interrupts.
//
// Cost model: load/store/fetch hits are a few instructions inline; misses,
// MMIO, page walks, PMP and code-page writes go to the out-of-line slow paths
// in core/mmu.cpp. CSR and trap code lives in core/csr.cpp and core/trap.cpp.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/compiled.hpp"
#include "core/device.hpp"
#include "core/insn.hpp"
#include "core/types.hpp"

namespace hs {

enum AccessType : uint8_t { kRead = 0, kWrite = 1, kExec = 2 };

// One soft-TLB entry: a guest virtual page mapped to host memory.
// host address = addend + guest virtual address. tag == ~0 means invalid.
struct TlbEntry {
  uint64_t tag = ~0ull;  // va >> 12
  uintptr_t addend = 0;
};

class BlockCache;

struct HartState {
  uint64_t x[33] = {};  // x[32] is the sink for writes to x0 (see kSinkReg)
  uint64_t f[32] = {};  // raw bits; single-precision values are NaN-boxed
  uint64_t pc = 0;

  // Position and instret at the start of the current block. Within a block the
  // instruction at index i executes at position + i (Clock::now adds cur_idx).
  uint64_t position = 0;
  uint64_t instret = 0;
  uint8_t cur_idx = 0;  // set by slow paths / CSR handlers from DecodedInsn::idx
  // Index (DecodedInsn::idx) of the instruction that ended a threaded run of
  // its block with a flow other than kNext (see threaded()). Loop scratch.
  uint8_t exit_idx = 0;

  Priv priv = Priv::M;
  // Privilege used for loads/stores: priv, or mstatus.MPP when MPRV=1 in M-mode.
  // Maintained by csr.cpp/trap.cpp whenever priv or mstatus changes.
  Priv dmode = Priv::M;
  // Data-TLB set of loads/stores: dmode, except that S-mode accesses with
  // mstatus.SUM=1 use set 2 (the encoding no privilege has), so the kernel's
  // SUM toggling around user copies flushes nothing. Derived with dmode.
  uint8_t dtlb = static_cast<uint8_t>(Priv::M);

  uint8_t frm = 0;     // fcsr rounding mode
  uint8_t fflags = 0;  // fcsr accrued exceptions (NV DZ OF UF NX = bits 4..0)

  // Machine-level CSRs.
  uint64_t mstatus = 0;
  uint64_t misa = 0;
  uint64_t medeleg = 0, mideleg = 0;
  uint64_t mie = 0;
  uint64_t mip = 0;  // software-visible pending bits incl. device-driven MTIP/MSIP/MEIP
  uint64_t seip_ext = 0;  // SEIP level from the PLIC (mip.SEIP reads sw | ext)
  uint64_t mtvec = 0, mscratch = 0, mepc = 0, mcause = 0, mtval = 0;
  uint64_t mcounteren = 0, mcountinhibit = 0, menvcfg = 0;
  uint64_t mhartid = 0;
  // mcycle/minstret writes are stored as offsets from position/instret.
  uint64_t mcycle_offset = 0, minstret_offset = 0;

  // Supervisor-level CSRs (sstatus/sie/sip are views of the machine ones).
  uint64_t stvec = 0, sscratch = 0, sepc = 0, scause = 0, stval = 0, satp = 0;
  uint64_t scounteren = 0, senvcfg = 0;

  // PMP: 16 entries.
  uint8_t pmpcfg[16] = {};
  uint64_t pmpaddr[16] = {};

  // LR/SC reservation (virtual address of the reserved word/doubleword).
  uint64_t reservation = 0;
  bool reservation_valid = false;

  // Set by a handler before returning Flow::kTrap.
  uint64_t trap_cause = 0, trap_tval = 0;
  // Set by slow paths that touched MMIO or code pages: the current block must
  // end after this instruction (interrupts may have changed, or the block
  // itself was invalidated). Cleared by the run loop.
  bool block_exit = false;
  // The hart executed WFI and sleeps until wfi_wakeup() (cleared by the loop).
  bool wfi = false;
};

// A debugger watchpoint on guest virtual addresses [addr, addr + len).
struct Watchpoint {
  uint64_t addr = 0, len = 0;
  bool read = false, write = false;
};

// The access that hit a watchpoint (valid until the next run).
struct WatchHit {
  bool hit = false;
  bool write = false;
  uint64_t addr = 0;  // the watched address that was accessed
};

class Hart : public HartState, public IrqSink {
 public:
  static constexpr unsigned kTlbSize = 1024;

  explicit Hart(Bus& bus);
  Hart(const Hart&) = delete;
  Hart& operator=(const Hart&) = delete;

  Bus& bus() { return bus_; }
  const Clock& clock() const { return clock_; }
  // Where generated code finds the state of this (and every) hart.
  // (core/compiled.cpp)
  HartLayout layout() const;

  // Architectural reset (privileged spec §3.4): M-mode, pc = reset_pc,
  // misa = RV64IMAFDCSU, everything else cleared. (trap.cpp)
  void reset(uint64_t reset_pc);

  // ---- memory (fast paths here, slow paths in mmu.cpp) ----
  // On failure they set trap_cause/trap_tval and return false; the handler then
  // returns Flow::kTrap. Misaligned accesses are performed (never trapped),
  // except for LR/SC/AMO which require natural alignment.
  template <typename T>
  bool load(const DecodedInsn& i, uint64_t va, T& out);
  template <typename T>
  bool store(const DecodedInsn& i, uint64_t va, T value);
  // Host pointer for an atomic read-modify-write of sizeof(T) bytes at va
  // (translated with store permission; faults as a store/AMO). Not for MMIO:
  // AMOs on device memory raise a store access fault.
  template <typename T>
  bool amo_ref(const DecodedInsn& i, uint64_t va, T*& ref);

  // The TLB hit path alone: the host address of the sizeof(T) bytes at va if
  // the data TLB maps them for this access (t: kRead or kWrite), else nullptr
  // (load()/store() then take the slow path). Changes nothing.
  template <typename T>
  void* data_hit(AccessType t, uint64_t va) const {
    const TlbEntry& e = tlb_[dtlb][t][(va >> kPageShift) & (kTlbSize - 1)];
    if (e.tag == (va >> kPageShift) && (va & (kPageSize - 1)) <= kPageSize - sizeof(T)) [[likely]]
      return reinterpret_cast<void*>(e.addend + va);
    return nullptr;
  }

  // The flow a memory handler returns after a successful access.
  Flow mem_done() const { return block_exit ? Flow::kEndBlock : Flow::kNext; }
  Flow raise(uint64_t cause, uint64_t tval) {
    trap_cause = cause;
    trap_tval = tval;
    return Flow::kTrap;
  }

  // Instruction fetch: host pointer for the bytes at va if its page is mapped
  // executable in memory; on failure nullptr with trap_cause/trap_tval set.
  // `pa` receives the physical address.
  const uint8_t* fetch(uint64_t va, PAddr& pa);
  // True if the exec TLB maps va's page, i.e. fetches anywhere in the page
  // are allowed without re-checking (PMP granted the whole page).
  bool fetch_cached(uint64_t va) const { return fetch_hit(va) != nullptr; }
  // Host address of the code at va if the exec TLB maps it (no walk).
  const uint8_t* fetch_hit(uint64_t va) const {
    const TlbEntry& e = tlb_[static_cast<unsigned>(priv)][kExec][(va >> kPageShift) & (kTlbSize - 1)];
    return e.tag == (va >> kPageShift) ? reinterpret_cast<const uint8_t*>(e.addend + va) : nullptr;
  }

  // Chaining of compiled units (hs_jit_chain): a unit leaving by a jump may
  // enter the next unit directly while position < chain_until, which the
  // machine loop sets to its next poll point (0: never), unless the next
  // unit's entry is a breakpoint (never chained to). A unit may jump back to
  // its own entry while position < reenter_until: the poll point too, but 0
  // while breakpoints are armed (the entry may be one).
  // chain_blocks is the machine's block cache.
  uint64_t chain_until = 0;
  uint64_t reenter_until = 0;
  BlockCache* chain_blocks = nullptr;
  uint64_t chain_gen = 0;  // see ChainSlot
  // TLB set flushes so far: a CSR write that flushed ends its block.
  uint64_t tlb_flushes = 0;
  // Targets of indirect jumps out of units, direct-mapped by pc.
  static constexpr size_t kJumpCacheSize = 1024;
  ChainSlot jump_cache[kJumpCacheSize];
  // Addresses of the helpers generated code calls (JitHelper); the tier
  // sets its own (kHelperPromote).
  const void* jit_helpers[kHelperCount] = {reinterpret_cast<const void*>(&hs_jit_load),
                                           reinterpret_cast<const void*>(&hs_jit_store),
                                           reinterpret_cast<const void*>(&hs_jit_exec),
                                           reinterpret_cast<const void*>(&hs_jit_chain), nullptr};

  // Full translation for an access at the current effective privilege (page
  // walk with A/D update, then PMP). Does not touch the TLB. (mmu.cpp)
  bool translate(uint64_t va, AccessType type, unsigned size, PAddr& pa);
  // PMP check of [pa, pa+len) for privilege p. (mmu.cpp)
  bool pmp_allows(PAddr pa, uint64_t len, AccessType type, Priv p) const;
  // Invalidate every TLB entry (satp/sfence.vma/mstatus.MXR/pmp changes).
  void tlb_flush();
  // Invalidate the translations of va's page (sfence.vma with rs1 != x0): its
  // entries in every set, or a whole set whose superpage entries may cover va.
  void tlb_flush_page(uint64_t va);
  // Invalidate write entries only (a page became a code page).
  void tlb_flush_writes();

  // ---- CSRs (csr.cpp) ----
  // False means the access is illegal (nonexistent CSR, privilege, read-only).
  // `i` gives the exact position for counters.
  bool csr_read(unsigned csr, const DecodedInsn& i, uint64_t& value);
  bool csr_write(unsigned csr, const DecodedInsn& i, uint64_t value);

  // ---- traps and interrupts (trap.cpp) ----
  // Enter the trap handler (delegation via medeleg/mideleg), updating priv,
  // status, epc/cause/tval, pc. Interrupt causes have kInterruptBit set.
  void take_trap(uint64_t cause, uint64_t tval, uint64_t epc);
  // If an interrupt is pending and enabled for the current mode, take it (pc =
  // epc of the next instruction) and return true.
  bool take_pending_interrupt();
  // The interrupts take_pending_interrupt would choose from (0: none).
  uint64_t takeable_interrupts() const;
  // WFI wake-up condition: some interrupt pending in mip & mie (ignoring
  // global enables).
  bool wfi_wakeup() const { return (effective_mip() & mie) != 0; }
  uint64_t effective_mip() const { return mip | (seip_ext << irq::kSEI); }

  // IrqSink: `line` is a mip bit number (kMSI/kMTI/kMEI from CLINT/PLIC, kSEI
  // from the PLIC's S-mode context).
  void set_irq(unsigned line, bool level) override;

  // ---- debugger (mmu.cpp) ----
  // While watchpoints exist, data accesses to their pages get no TLB entries,
  // so every access there takes the slow path. An access to a watched range
  // stops before it happens, as a RISC-V trigger with timing "before" does
  // (and as gdb expects of RISC-V: it steps over the access itself): the slow
  // path notes the hit in watch_hit and fails with cause::kWatchStop, and the
  // loop stops with the instruction not executed.
  void set_watchpoints(std::vector<Watchpoint> w);
  // Debugger view of memory: translates va with the current satp like a
  // supervisor data access would (M-mode or Bare: identity), without
  // permission checks, A/D updates or trap state. False if unmapped.
  bool debug_translate(uint64_t va, PAddr& pa) const;
  // Breakpoint/watchpoint stops can be disarmed while the debugger seeks.
  bool watch_armed = true;
  // Position whose instruction's accesses never stop: for a caller that
  // continues past a watchpoint stop without removing the watchpoint.
  uint64_t watch_skip = ~0ull;
  const std::vector<Watchpoint>& watchpoints() const { return watchpoints_; }
  WatchHit watch_hit;

 private:
  bool watched_page(uint64_t va) const;
  // True (watch_hit and trap_cause set) if the access must stop before it happens.
  bool watch_stop(const DecodedInsn& i, uint64_t va, unsigned size, bool write);
  bool load_access(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t& out);
  bool store_access(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t value);
  void* amo_access(const DecodedInsn& i, uint64_t va, unsigned size);
  std::vector<Watchpoint> watchpoints_;

  TlbEntry& tlb_entry(unsigned mode, AccessType t, uint64_t va) {
    return tlb_[mode][t][(va >> kPageShift) & (kTlbSize - 1)];
  }
  bool load_slow(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t& out);
  bool store_slow(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t value);
  void* amo_slow(const DecodedInsn& i, uint64_t va, unsigned size);
  const uint8_t* fetch_slow(uint64_t va, PAddr& pa);
  // mmu.cpp internals. walk(): page-table walk for an access at privilege p,
  // A/D updates included, no PMP check of the final address; `dirty` says
  // whether the leaf PTE's D bit is set (true when untranslated).
  // `level` receives the leaf's level (0: 4 KiB page, 1: 2 MiB, ...; 0 when
  // untranslated), `table` the page holding the leaf PTE (kNoTable when
  // untranslated). Marks every page it reads PTEs from as a table page.
  bool walk(uint64_t va, AccessType t, Priv p, PAddr& pa, bool& dirty, unsigned& level,
            uint64_t& table);
  // translate() of an access within one page, then a TLB fill if the whole
  // page qualifies (memory, PMP-uniform, writable+clean-code+dirty for writes).
  bool translate_fill(uint64_t va, AccessType t, unsigned size, PAddr& pa);
  void tlb_fill(Priv p, AccessType t, uint64_t va, PAddr pa, bool dirty, unsigned level,
                uint64_t table);
  void tlb_flush_set(unsigned set);
  // A PTE in `page` is about to change (Bus::on_table_write): drops the
  // translations built from it (all of them if it holds pointers).
  void table_written(PAddr page, uint8_t bits);
  void mark_table(Bus::Memory& m, uint64_t offset, uint8_t bits);
  static constexpr uint64_t kNoTable = ~0ull;

  Bus& bus_;
  Clock clock_;
  // [privilege (0..3)][access type][index]
  alignas(64) TlbEntry tlb_[4][3][kTlbSize];  // (cache-line aligned: an entry never straddles two lines)
  // Physical page of each exec TLB entry (block cache keys, fetch pa).
  uint64_t tlb_exec_ppage_[4][kTlbSize] = {};
  // Per entry, the page holding the leaf PTE it was built from (kNoTable:
  // untranslated). Stale for invalid entries, which is harmless.
  uint64_t tlb_table_[4][3][kTlbSize] = {};
  // Per set, one virtual page range covering every entry filled from a
  // superpage since the set was last flushed (QEMU's large-page tracking):
  // a page flush inside it flushes the set. mask == 0: no superpage entries.
  uint64_t large_vpn_[4] = {};
  uint64_t large_mask_[4] = {};
  // Which TLB indices hold entries built from each table page, so that a
  // PTE store drops them without scanning the whole TLB (table_written). An
  // open-addressed set of table pages since the last full flush, each with
  // a bitmap of indices (a superset: overwritten entries leave their bit).
  // Overflow (too many table pages) falls back to scanning.
  static constexpr unsigned kTableRefSlots = 256, kTableRefLimit = 224;
  static constexpr uint64_t kFreeRef = ~0ull, kDroppedRef = ~1ull;
  uint64_t table_ref_page_[kTableRefSlots];  // kFreeRef, kDroppedRef or a page
  uint64_t table_ref_bits_[kTableRefSlots][kTlbSize / 64];
  unsigned table_refs_live_ = 0;
  bool table_refs_overflow_ = false;
  static unsigned table_ref_hash(uint64_t page) {
    static_assert(kTableRefSlots == 256);
    return static_cast<unsigned>(((page >> kPageShift) * 0x9e3779b97f4a7c15ull) >> 56);
  }
  // The slot recording `page`, or kTableRefSlots.
  unsigned find_table_ref(uint64_t page) const;
  void note_table_ref(uint64_t table, unsigned index);
  void clear_table_refs();
};

inline Position Clock::now() const { return Position{hart_.position + hart_.cur_idx}; }

template <typename T>
inline bool Hart::load(const DecodedInsn& i, uint64_t va, T& out) {
  if (const void* p = data_hit<T>(kRead, va)) [[likely]] {
    std::memcpy(&out, p, sizeof(T));
    return true;
  }
  uint64_t v;
  if (!load_slow(i, va, sizeof(T), v)) return false;
  std::memcpy(&out, &v, sizeof(T));  // little-endian host
  return true;
}

template <typename T>
inline bool Hart::store(const DecodedInsn& i, uint64_t va, T value) {
  if (void* p = data_hit<T>(kWrite, va)) [[likely]] {
    std::memcpy(p, &value, sizeof(T));
    return true;
  }
  uint64_t v = 0;
  std::memcpy(&v, &value, sizeof(T));
  return store_slow(i, va, sizeof(T), v);
}

template <typename T>
inline bool Hart::amo_ref(const DecodedInsn& i, uint64_t va, T*& ref) {
  const TlbEntry& e = tlb_entry(dtlb, kWrite, va);
  if (e.tag == (va >> kPageShift) && (va & (sizeof(T) - 1)) == 0) [[likely]] {
    ref = reinterpret_cast<T*>(e.addend + va);
    return true;
  }
  ref = static_cast<T*>(amo_slow(i, va, sizeof(T)));
  return ref != nullptr;
}

inline const uint8_t* Hart::fetch(uint64_t va, PAddr& pa) {
  const unsigned mode = static_cast<unsigned>(priv);
  const TlbEntry& e = tlb_entry(mode, kExec, va);
  if (e.tag == (va >> kPageShift)) [[likely]] {
    pa = PAddr{tlb_exec_ppage_[mode][(va >> kPageShift) & (kTlbSize - 1)] |
               (va & (kPageSize - 1))};
    return reinterpret_cast<const uint8_t*>(e.addend + va);
  }
  return fetch_slow(va, pa);
}

// Threaded dispatch: the handler stored in a DecodedInsn. It runs the
// instruction's semantics F inline and, on Flow::kNext, jumps straight to the
// next decoded instruction's handler (a sibling call: blocks end with an
// end_of_block sentinel), so each handler has its own indirect jump for the
// branch predictor instead of one shared call site in the loop. On any other
// flow it records the instruction's index in exit_idx and returns the flow.
template <Handler F>
Flow threaded(Hart& h, const DecodedInsn& i) {
  const Flow f = F(h, i);
  if (f == Flow::kNext) [[likely]] {
    const DecodedInsn& next = (&i)[1];
    return next.fn(h, next);
  }
  h.exit_idx = i.idx;
  return f;
}

template <Handler F>
[[gnu::noinline]] Flow threaded_cold(Hart& h, const DecodedInsn& i) {
  return threaded<F>(h, i);
}

// A threaded handler split in two: Fast(h, i) either performs the whole
// instruction and returns true, or changes nothing and returns false; then
// the complete handler Full runs, out of line. For memory instructions: the
// TLB hit path needs no stack frame, the slow path's calls stay in Full.
template <bool (*Fast)(Hart&, const DecodedInsn&), Handler Full>
Flow threaded_fast(Hart& h, const DecodedInsn& i) {
  if (Fast(h, i)) [[likely]] {
    const DecodedInsn& next = (&i)[1];
    return next.fn(h, next);
  }
  return threaded_cold<Full>(h, i);
}

}  // namespace hs
