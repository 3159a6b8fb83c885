#include "core/block_cache.hpp"

#include <cstring>
#include <new>

#include "core/hart.hpp"

namespace hs {

namespace {
// Room for `count` instructions and the end_of_block sentinel.
Block* allocate(uint32_t count) {
  void* mem = ::operator new(sizeof(Block) + count * sizeof(DecodedInsn));
  return new (mem) Block{};
}
void release(Block* b) {
  b->~Block();
  ::operator delete(b);
}
}  // namespace

BlockCache::~BlockCache() {
  collect();
  for (auto& [key, b] : blocks_) release(b);
  if (scratch_) release(scratch_);
}

Block* BlockCache::lookup_slow(Hart& hart, const uint8_t* host, PAddr pa) {
  const uint64_t vpc = hart.pc;
  const uintptr_t h = reinterpret_cast<uintptr_t>(host);
  Block*& slot = fast_[fast_index(vpc, h)];
  if (auto it = blocks_.find(Key{vpc, h}); it != blocks_.end()) return slot = it->second;
  Block* b = decode_block(hart, vpc, host, pa.v & ~(kPageSize - 1));
  if (b && b != scratch_) slot = b;
  return b;
}

Block* BlockCache::decode_block(Hart& hart, uint64_t vpc, const uint8_t* host, uint64_t ppage) {
  DecodedInsn tmp[kMaxInsns];
  uint32_t n = 0;
  uint64_t pc = vpc;
  const uint8_t* p = host;
  bool cross_page = false;
  // A page the exec TLB could not cache (a PMP boundary inside it) is run one
  // instruction per block, so every fetch is checked.
  const uint32_t max_insns = hart.fetch_cached(vpc) ? kMaxInsns : 1;
  while (n < max_insns) {
    if (n > 0 && breakpoints_ && breakpoints_->count(pc)) break;
    const uint64_t off = pc & (kPageSize - 1);
    uint16_t lo;
    std::memcpy(&lo, p, 2);
    uint32_t raw = lo;
    if (Decoder::length(lo) == 4) {
      if (off == kPageSize - 2) {
        // The instruction straddles a page boundary: decode it alone, uncached,
        // fetching (and possibly faulting on) the second page every time.
        if (n > 0) break;
        PAddr pa2;
        const uint8_t* hi = hart.fetch(pc + 2, pa2);
        if (!hi) return nullptr;
        uint16_t h16;
        std::memcpy(&h16, hi, 2);
        raw |= uint32_t{h16} << 16;
        cross_page = true;
      } else {
        std::memcpy(&raw, p, 4);
      }
    }
    uint8_t flags = 0;
    DecodedInsn d = decoder_.decode(raw, pc, flags);
    d.idx = static_cast<uint8_t>(n);
    tmp[n++] = d;
    pc += d.len;
    p += d.len;
    if ((flags & kEndsBlock) || cross_page || (pc & (kPageSize - 1)) == 0) break;
  }
  Block* b;
  if (cross_page) {
    if (!scratch_) scratch_ = allocate(1);
    b = scratch_;
  } else {
    b = allocate(n);
    blocks_.emplace(Key{vpc, reinterpret_cast<uintptr_t>(host)}, b);
    by_page_[ppage].push_back(b);
    Bus& bus = hart.bus();
    const bool fresh = !bus.is_code_page(PAddr{ppage});
    bus.mark_code(PAddr{ppage | (vpc & (kPageSize - 1))}, pc - vpc);
    if (fresh) hart.tlb_flush_writes();
  }
  b->vpc = vpc;
  b->host = reinterpret_cast<uintptr_t>(host);
  b->ppage = ppage;
  b->count = n;
  b->heat = 0;
  b->unit = nullptr;
  std::memcpy(static_cast<void*>(b->insns), tmp, n * sizeof(DecodedInsn));
  b->insns[n] = kEndOfBlock;
  return b;
}

void BlockCache::retire(Block* b) {
  ++epoch_;
  Block*& slot = fast_[fast_index(b->vpc, b->host)];
  if (slot == b) slot = nullptr;
  retired_.push_back(b);
}

void BlockCache::invalidate_page(uint64_t ppage) {
  auto it = by_page_.find(ppage);
  if (it == by_page_.end()) return;
  for (Block* b : it->second) {
    blocks_.erase(Key{b->vpc, b->host});
    retire(b);
  }
  by_page_.erase(it);
}

void BlockCache::invalidate_all() {
  for (auto& [key, b] : blocks_) retire(b);
  blocks_.clear();
  by_page_.clear();
}

void BlockCache::collect() {
  for (Block* b : retired_) release(b);
  retired_.clear();
}

}  // namespace hs
