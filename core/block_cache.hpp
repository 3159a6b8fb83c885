// Pre-decoded blocks cached by (guest virtual pc, host address of the code).
//
// A block is the decoded instructions from one pc up to and including the first
// unconditional control transfer/system instruction, the end of the page, or
// kMaxInsns (a taken conditional branch leaves it from the middle), followed
// by the kEndOfBlock sentinel that threaded dispatch falls into. The
// host address identifies the physical page (so sfence.vma needs no block
// flush: every lookup re-translates the pc through the exec TLB). Every write
// to a code page (CPU, AMO, DMA: all go through the bus) invalidates that
// page's blocks at once, which is stronger than fence.i requires, so fence.i
// drops nothing. Invalidated blocks are freed only at the next safe point,
// since the loop may be executing one.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/compiled.hpp"
#include "core/decoder.hpp"
#include "core/hart.hpp"
#include "core/insn.hpp"
#include "core/types.hpp"

namespace hs {

struct Block {
  uint64_t vpc = 0;
  uintptr_t host = 0;  // host address of the first instruction
  uint64_t ppage = 0;  // physical page base
  uint32_t count = 0;  // instructions
  // Interpreted runs so far (counted up to the compiled tier's threshold).
  uint32_t heat = 0;
  // The compiled unit entered at this block once it was hot (see
  // core/compiled.hpp); nullptr: interpreted.
  CompiledUnit* unit = nullptr;
  // The last two blocks that ran after this one (see BlockCache::next),
  // valid while the cache's epoch is link_epoch.
  Block* link[2] = {};
  uint64_t link_epoch = 0;

  DecodedInsn insns[1];  // `count` entries and the kEndOfBlock sentinel (allocated inline)
};

class BlockCache {
 public:
  static constexpr unsigned kMaxInsns = 64;

  explicit BlockCache(const Decoder& decoder) : decoder_(decoder) {}
  ~BlockCache();

  // The block starting at hart.pc, decoding it on a miss. nullptr if the fetch
  // faults (hart.trap_cause/trap_tval set; the caller takes the trap at pc).
  // An instruction straddling a page boundary is decoded into a scratch block
  // that is never cached.
  // Inline hit path: exec-TLB translation and one direct-mapped probe.
  Block* lookup(Hart& hart) {
    PAddr pa;
    const uint8_t* host = hart.fetch(hart.pc, pa);
    if (!host) [[unlikely]]
      return nullptr;
    return find(hart, host, pa);
  }
  // lookup() for the block to run after `prev`: tries prev's links first,
  // which saves the probe of the (large, cache-missing) direct-mapped table.
  // No block has been freed since the links were made if the epoch is unchanged.
  Block* next(Hart& hart, Block& prev) {
    PAddr pa;
    const uint8_t* host = hart.fetch(hart.pc, pa);
    if (!host) [[unlikely]]
      return nullptr;
    if (prev.link_epoch == epoch_) [[likely]] {
      for (Block* l : prev.link)
        if (l && l->vpc == hart.pc && l->host == reinterpret_cast<uintptr_t>(host)) return l;
    } else {
      prev.link[0] = prev.link[1] = nullptr;  // may point to freed blocks
    }
    Block* b = find(hart, host, pa);
    if (!b || b == scratch_) return b;  // the scratch block is never linked to
    prev.link[1] = prev.link[0];
    prev.link[0] = b;
    prev.link_epoch = epoch_;
    return b;
  }

  // The cached block at vpc whose code is at `host` if the direct-mapped
  // table holds it (no map lookup, no decoding): for chaining compiled units.
  Block* probe(uint64_t vpc, const uint8_t* host) const {
    Block* b = fast_[fast_index(vpc, reinterpret_cast<uintptr_t>(host))];
    return b && b->vpc == vpc && b->host == reinterpret_cast<uintptr_t>(host) ? b : nullptr;
  }

  // Debugger breakpoints (virtual pcs, or nullptr): decoding ends a block
  // before any of them, so each starts a block. Call invalidate_all() after.
  void set_breakpoints(const std::unordered_set<uint64_t>* pcs) { breakpoints_ = pcs; }
  bool breakpoint_at(uint64_t pc) const { return breakpoints_ && breakpoints_->count(pc); }

  // Invalidate blocks decoded from physical page `ppage` (page-aligned).
  void invalidate_page(uint64_t ppage);
  // Free blocks invalidated since the last call. Call only when no block is executing.
  void collect();
  // Drops every block at once (the whole memory was replaced, e.g. by a
  // snapshot restore); they are freed at the next collect(). Cost: O(blocks).
  // The caller clears the bus's code-page marks.
  void invalidate_all();

  // The cached block at `vpc` whose code is at `host`, without decoding one
  // (nullptr if there is none): for a compiled tier forming regions from the
  // blocks that have run.
  Block* cached(uint64_t vpc, uintptr_t host) const {
    auto it = blocks_.find(Key{vpc, host});
    return it == blocks_.end() ? nullptr : it->second;
  }
  // Detaches every block from its compiled unit (code cache eviction).
  void drop_units() {
    for (auto& [key, b] : blocks_) b->unit = nullptr;
  }

 private:
  struct Key {
    uint64_t vpc;
    uintptr_t host;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return (k.vpc * 0x9e3779b97f4a7c15ull) ^ (k.host * 0xc2b2ae3d27d4eb4full);
    }
  };
  static unsigned fast_index(uint64_t vpc, uintptr_t host) {
    return static_cast<unsigned>(((vpc >> 1) ^ (host >> 12)) & (kFastSize - 1));
  }
  // The block at hart.pc, whose code is at `host`: one direct-mapped probe,
  // then the map, then decoding.
  Block* find(Hart& hart, const uint8_t* host, PAddr pa) {
    if (Block* b = probe(hart.pc, host)) [[likely]]
      return b;
    return lookup_slow(hart, host, pa);
  }
  Block* lookup_slow(Hart& hart, const uint8_t* host, PAddr pa);
  Block* decode_block(Hart& hart, uint64_t vpc, const uint8_t* host, uint64_t ppage);
  void retire(Block* b);

  const Decoder& decoder_;
  // Direct-mapped front cache in front of the map.
  static constexpr unsigned kFastSize = 1u << 16;
  std::unique_ptr<Block*[]> fast_ = std::make_unique<Block*[]>(kFastSize);
  std::unordered_map<Key, Block*, KeyHash> blocks_;
  std::unordered_map<uint64_t, std::vector<Block*>> by_page_;  // ppage -> its blocks
  std::vector<Block*> retired_;
  const std::unordered_set<uint64_t>* breakpoints_ = nullptr;

  Block* scratch_ = nullptr;
  // Advanced whenever blocks are retired: links made before are void. Starts
  // at 1 so that a new block's link (epoch 0) is void.
  uint64_t epoch_ = 1;
};

}  // namespace hs
