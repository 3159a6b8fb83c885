// The physical address space: host-backed memory regions (RAM, ROM) and MMIO
// devices. Physical accesses only: no translation, no PMP (see core/mmu.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/types.hpp"

namespace hs {

class Bus {
 public:
  struct Memory {
    std::string name;
    PAddr base;
    uint64_t size = 0;
    uint8_t* host = nullptr;  // size bytes, zero-initialised, owned by the bus
    bool writable = true;     // ROM regions are read/execute only for the guest
    // Per page: which 64-byte granules hold decoded code (bit g: bytes
    // [64g, 64g + 64)); 0: none, not a code page.
    std::vector<uint64_t> code;
    std::vector<uint8_t> table;  // per page: kTable* bits, see mark_table_page()
    // Per page: the dirty generation of the last write that may have changed
    // it (0 = never written since the region was created). See mark_dirty().
    std::vector<uint32_t> dirty;
    // True if stores to the page at `offset` must reach Bus::write: it holds
    // decoded blocks or PTEs that cached translations were built from.
    bool stores_must_reach_bus(uint64_t offset) const {
      return code[offset >> kPageShift] || table[offset >> kPageShift];
    }
    bool contains(PAddr pa, uint64_t len) const {
      return pa.v >= base.v && len <= size && pa.v - base.v <= size - len;
    }
  };
  struct Mapping {
    PAddr base;
    uint64_t size = 0;
    Device* dev = nullptr;
  };

  Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;
  ~Bus();

  // Adds a zero-filled region. Throws std::invalid_argument on overlap.
  Memory& add_memory(std::string name, PAddr base, uint64_t size, bool writable);
  // Maps a device (not owned). Throws std::invalid_argument on overlap.
  void add_device(PAddr base, uint64_t size, Device* dev);

  // Region holding all of [pa, pa+len), or nullptr. O(regions), regions are few.
  Memory* find_memory(PAddr pa, uint64_t len = 1);
  const Mapping* find_device(PAddr pa, uint64_t len = 1) const;
  const std::vector<Mapping>& devices() const { return devices_; }
  const std::vector<std::unique_ptr<Memory>>& memories() const { return memories_; }

  // Physical loads/stores of 1/2/4/8 bytes (little-endian). False means access
  // fault (unmapped, ROM write, device refusal). Stores to code pages notify
  // on_code_write before returning.
  bool read(PAddr pa, unsigned size, uint64_t& value);
  bool write(PAddr pa, unsigned size, uint64_t value);
  // True if `pa` is backed by a device (MMIO) rather than memory.
  bool is_mmio(PAddr pa) const { return find_device(pa) != nullptr; }

  // Bulk copy into memory (device DMA): false if the range is not entirely
  // inside one writable memory region, as for a CPU store. Notifies code writes.
  bool write_bytes(PAddr pa, std::span<const uint8_t> data);
  // The same for the host's own writes (image loading, the debugger's memory
  // writes, which may patch ROM as QEMU's gdbstub does): ignores the
  // writable flag.
  bool load_bytes(PAddr pa, std::span<const uint8_t> data);
  bool read_bytes(PAddr pa, std::span<uint8_t> out);

  // Self-modifying-code tracking: a page holding decoded blocks is a code page;
  // the write TLB never maps it, so every store to it reaches Bus::write. A
  // store overlapping a granule that holds code calls on_code_write(page base)
  // and clears the page's marks; stores to the rest of the page (data next to
  // code, common in small programs) cost a slow-path store and nothing else.
  // mark_code marks the granules of [pa, pa + len) (one page at most);
  // mark_code_page the whole page.
  void mark_code(PAddr pa, uint64_t len);
  void mark_code_page(PAddr pa) { mark_code(PAddr{pa.v & ~(kPageSize - 1)}, kPageSize); }
  bool is_code_page(PAddr pa);
  std::function<void(PAddr page)> on_code_write;

  // Page-table tracking, which keeps the soft TLB coherent with the page
  // tables: a page from which cached translations were built is a *table
  // page* (kTableLeaf: it holds their leaf PTEs; kTableNonLeaf: pointers).
  // The write TLB never maps it, so every store to it (CPU, AMO, DMA)
  // reaches Bus::write, which clears the mark and calls on_table_write(page
  // base, its bits) before the store; the hart then drops the translations
  // built from the page. Returns true if the page was not marked before.
  static constexpr uint8_t kTableLeaf = 1, kTableNonLeaf = 2;
  bool mark_table_page(Memory& m, uint64_t offset, uint8_t bits);
  std::function<void(PAddr page, uint8_t bits)> on_table_write;
  // The page walker's own A/D updates change no cached translation: they
  // bypass on_table_write while this is false.
  bool notify_table_writes = true;

  // ---- dirty-page tracking (snapshots) ----
  // Every memory write is marked per page with the current dirty generation:
  // Bus::write/write_bytes mark the pages they touch; the hart's soft TLB
  // marks a page when it inserts a write entry for it (and AMOs in their
  // slow path), so stores that hit the TLB cost nothing extra. Hence a page
  // written after a consumer's checkpoint g has dirty[page] > g, provided
  // write TLB entries are dropped when g is taken (Machine::dirty_checkpoint).
  // Several consumers (snapshot stores, checkpoints) may each keep their own
  // g. Generations start at 1 and never wrap in practice (2^32 checkpoints).
  uint32_t dirty_generation() const { return dirty_gen_; }
  // Ends the current generation and returns it. Callers must flush the
  // hart's write TLB entries at the same time (Machine::dirty_checkpoint).
  uint32_t advance_dirty_generation() { return dirty_gen_++; }
  void mark_dirty(Memory& m, uint64_t offset) { m.dirty[offset >> kPageShift] = dirty_gen_; }
  // Zeroes `count` pages of `m` from page `first` and gives their host memory
  // back to the OS (they read as zero and cost nothing until written again);
  // marks them dirty. One madvise per call; no decoded-block invalidation
  // (callers replacing state use Machine::state_replaced).
  void zero_pages(Memory& m, uint64_t first, uint64_t count);
  // Identifies this bus among all buses of the process (dirty generations
  // are only meaningful for the bus they were taken on).
  uint64_t uid() const { return uid_; }

 private:
  // write_bytes/load_bytes: the copy, into read-only memory too if asked.
  bool copy_in(PAddr pa, std::span<const uint8_t> data, bool even_readonly);
  void note_write(Memory& m, uint64_t offset, uint64_t len);

  uint32_t dirty_gen_ = 1;
  uint64_t uid_;

  std::vector<std::unique_ptr<Memory>> memories_;
  std::vector<Mapping> devices_;
};

}  // namespace hs
