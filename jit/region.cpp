#include "jit/region.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "core/block_cache.hpp"
#include "core/decoder.hpp"
#include "core/hart.hpp"

namespace hs::jit {

namespace {

constexpr uint64_t kPageMask = kPageSize - 1;

}  // namespace

void direct_successors(std::span<const InsnSpec> specs, std::span<const DecodedInsn> insns,
                       std::vector<uint64_t>& out) {
  for (const DecodedInsn& i : insns) {
    if (i.spec >= specs.size()) continue;
    const InsnSpec& s = specs[i.spec];
    if (s.format == Format::kB || std::strcmp(s.name, "jal") == 0)
      out.push_back(i.pc + static_cast<uint64_t>(static_cast<int64_t>(i.imm)));
  }
  const DecodedInsn& last = insns.back();
  const bool ends = last.spec >= specs.size() || (specs[last.spec].flags & kEndsBlock);
  if (!ends) out.push_back(last.pc + last.len);
}

size_t Region::instructions() const {
  size_t n = 0;
  for (const RegionBlock& b : blocks) n += b.insns.size();
  return n;
}

bool Region::matches(const BlockCache& cache, const uint8_t* page_host) const {
  for (const RegionBlock& b : blocks)
    for (const DecodedInsn& i : b.insns)
      if (i.pc != entry && cache.breakpoint_at(i.pc)) return false;
  size_t at = 0;
  for (auto [offset, len] : ranges) {
    if (std::memcmp(page_host + offset, bytes.data() + at, len) != 0) return false;
    at += len;
  }
  return true;
}

Region form_region(const Hart& hart, const BlockCache& cache, const Decoder& decoder,
                   const Block& entry) {
  Region r;
  if (cache.cached(entry.vpc, entry.host) != &entry || !hart.fetch_cached(entry.vpc)) return r;
  // A unit must make progress: one starting with an encoding it leaves to the
  // interpreter would return at once, and be entered again, forever.
  if (entry.insns[0].spec >= decoder.specs().size()) return r;
  const uint64_t page = entry.vpc & ~kPageMask;
  const uintptr_t page_host = entry.host - (entry.vpc & kPageMask);
  std::vector<const Block*> blocks{&entry};
  std::unordered_set<uint64_t> seen{entry.vpc};
  size_t insns = entry.count;
  std::vector<uint64_t> next;
  for (size_t k = 0; k < blocks.size() && blocks.size() < kMaxRegionBlocks; ++k) {
    next.clear();
    direct_successors(decoder.specs(), std::span(blocks[k]->insns, blocks[k]->count), next);
    for (uint64_t pc : next) {
      if ((pc & ~kPageMask) != page || !seen.insert(pc).second || cache.breakpoint_at(pc)) continue;
      const Block* b = cache.cached(pc, page_host + (pc & kPageMask));
      if (!b || insns + b->count > kMaxRegionInsns || blocks.size() >= kMaxRegionBlocks) continue;
      blocks.push_back(b);
      insns += b->count;
    }
  }
  r.entry = entry.vpc;
  for (size_t t1 = 0; r.tier1_blocks < blocks.size(); ++r.tier1_blocks) {
    t1 += blocks[r.tier1_blocks]->count;
    if (r.tier1_blocks > 0 && t1 > kMaxTier1Insns) break;
  }
  std::vector<std::pair<uint16_t, uint16_t>> spans;
  for (const Block* b : blocks) {
    RegionBlock rb{b->vpc, {}};
    rb.insns.assign(b->insns, b->insns + b->count);
    for (DecodedInsn& d : rb.insns) {
      d.idx = 0;
      if (d.spec < decoder.specs().size()) d.fn = decoder.specs()[d.spec].fn.exec;
    }
    r.blocks.push_back(std::move(rb));
    const DecodedInsn& last = b->insns[b->count - 1];
    spans.emplace_back(static_cast<uint16_t>(b->vpc & kPageMask),
                       static_cast<uint16_t>(last.pc + last.len - b->vpc));
  }
  // Merge overlapping byte ranges (blocks may share a tail).
  std::sort(spans.begin(), spans.end());
  for (auto [offset, len] : spans) {
    if (!r.ranges.empty() && offset <= r.ranges.back().first + r.ranges.back().second) {
      auto& last = r.ranges.back();
      last.second = static_cast<uint16_t>(std::max<unsigned>(last.first + last.second, offset + len) -
                                          last.first);
    } else {
      r.ranges.emplace_back(offset, len);
    }
  }
  for (auto [offset, len] : r.ranges) {
    const auto* p = reinterpret_cast<const uint8_t*>(page_host + offset);
    r.bytes.insert(r.bytes.end(), p, p + len);
  }
  return r;
}

}  // namespace hs::jit
