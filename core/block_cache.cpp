#include "core/block_cache.hpp"

#include <cstring>
#include <new>

#include "core/hart.hpp"

namespace hs {

namespace {
Block* allocate(uint32_t count) {
  void* mem = ::operator new(sizeof(Block) + (count - 1) * sizeof(DecodedInsn));
  return new (mem) Block{};
}
void release(Block* b) {
  b->~Block();
  ::operator delete(b);
}
}  // namespace

BlockCache::~BlockCache() {
  collect();
  for (auto& [page, b] : by_page_) release(b);
  if (scratch_) release(scratch_);
}

Block* BlockCache::lookup(Hart& hart) {
  const uint64_t vpc = hart.pc;
  PAddr pa;
  const uint8_t* host = hart.fetch(vpc, pa);
  if (!host) return nullptr;
  const uintptr_t h = reinterpret_cast<uintptr_t>(host);
  Block*& slot = fast_[(key(vpc, h) >> 20) & (kFastSize - 1)];
  if (slot && slot->vpc == vpc && slot->host == h) [[likely]]
    return slot;
  const uint64_t ppage = pa.v & ~(kPageSize - 1);
  auto [first, last] = by_page_.equal_range(ppage);
  for (auto it = first; it != last; ++it) {
    if (it->second->vpc == vpc && it->second->host == h) return slot = it->second;
  }
  Block* b = decode_block(hart, vpc, host, ppage);
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
    by_page_.emplace(ppage, b);
    Bus& bus = hart.bus();
    if (!bus.is_code_page(PAddr{ppage})) {
      bus.mark_code_page(PAddr{ppage});
      hart.tlb_flush_writes();
    }
  }
  b->vpc = vpc;
  b->host = reinterpret_cast<uintptr_t>(host);
  b->ppage = ppage;
  b->count = n;
  b->valid = true;
  std::memcpy(static_cast<void*>(b->insns), tmp, n * sizeof(DecodedInsn));
  ++decoded_;
  return b;
}

void BlockCache::invalidate_page(uint64_t ppage) {
  auto [first, last] = by_page_.equal_range(ppage);
  for (auto it = first; it != last; ++it) {
    Block* b = it->second;
    b->valid = false;
    Block*& slot = fast_[(key(b->vpc, b->host) >> 20) & (kFastSize - 1)];
    if (slot == b) slot = nullptr;
    retired_.push_back(b);
  }
  by_page_.erase(first, last);
}

void BlockCache::invalidate_all() {
  for (auto& [page, b] : by_page_) {
    b->valid = false;
    retired_.push_back(b);
  }
  by_page_.clear();
  std::memset(fast_, 0, sizeof(fast_));
}

void BlockCache::collect() {
  for (Block* b : retired_) release(b);
  retired_.clear();
}

}  // namespace hs
