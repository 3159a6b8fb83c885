#include "jit/region.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include <xxhash.h>

#include "core/block_cache.hpp"
#include "core/decoder.hpp"
#include "core/hart.hpp"
#include "jit/wire.hpp"

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

Hash128 Region::key() const {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  const uint64_t head[3] = {entry, blocks.size(), tier1_blocks};
  XXH3_128bits_update(st, head, sizeof head);
  for (const RegionBlock& b : blocks) {
    const uint64_t shape[2] = {b.vpc, b.insns.size()};
    XXH3_128bits_update(st, shape, sizeof shape);
    static_assert(offsetof(DecodedInsn, fn) == 0 && sizeof(Handler) == 8);
    for (const DecodedInsn& i : b.insns)
      XXH3_128bits_update(st, reinterpret_cast<const char*>(&i) + 8, sizeof i - 8);
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return {h.low64, h.high64};
}

void Region::save(std::vector<char>& out) const {
  put(out, entry);
  put(out, static_cast<uint32_t>(tier1_blocks));
  put(out, static_cast<uint32_t>(blocks.size()));
  for (const RegionBlock& b : blocks) {
    put(out, b.vpc);
    put(out, static_cast<uint32_t>(b.insns.size()));
    for (const DecodedInsn& i : b.insns) {
      DecodedInsn copy = i;
      copy.fn = nullptr;
      put(out, copy);
    }
  }
  put(out, static_cast<uint32_t>(ranges.size()));
  for (auto [offset, len] : ranges) {
    put(out, offset);
    put(out, len);
  }
  put(out, static_cast<uint32_t>(targets.size()));
  for (uint64_t t : targets) put(out, t);
  out.insert(out.end(), bytes.begin(), bytes.end());  // as long as the ranges say
}

std::optional<Region> Region::load(std::span<const char> in, size_t& at, std::span<const InsnSpec> specs) {
  Region r;
  uint32_t tier1 = 0, nblocks = 0, n = 0;
  if (!get(in, at, r.entry) || !get(in, at, tier1) || !get(in, at, nblocks) || nblocks == 0 ||
      nblocks > kMaxRegionBlocks || tier1 == 0 || tier1 > nblocks)
    return std::nullopt;
  r.tier1_blocks = tier1;
  size_t insns = 0;
  for (uint32_t k = 0; k < nblocks; ++k) {
    RegionBlock b;
    if (!get(in, at, b.vpc) || !get(in, at, n) || n == 0 || (insns += n) > kMaxRegionInsns) return std::nullopt;
    b.insns.resize(n);
    for (DecodedInsn& i : b.insns) {
      if (!get(in, at, i)) return std::nullopt;
      i.fn = i.spec < specs.size() ? specs[i.spec].fn.exec : nullptr;  // compiled code never runs an illegal one
      if ((i.pc & ~kPageMask) != (r.entry & ~kPageMask)) return std::nullopt;
    }
    r.blocks.push_back(std::move(b));
  }
  if (r.blocks[0].vpc != r.entry || !get(in, at, n) || n > kMaxRegionInsns) return std::nullopt;
  size_t bytes = 0;
  r.ranges.resize(n);
  for (auto& range : r.ranges) {
    if (!get(in, at, range.first) || !get(in, at, range.second) || range.first + range.second > kPageSize)
      return std::nullopt;
    bytes += range.second;
  }
  if (!get(in, at, n) || n > 2 * kMaxRegionInsns + kMaxRegionBlocks) return std::nullopt;
  r.targets.resize(n);
  for (uint64_t& t : r.targets)
    if (!get(in, at, t)) return std::nullopt;
  if (in.size() - at < bytes) return std::nullopt;
  r.bytes.assign(in.begin() + static_cast<ptrdiff_t>(at), in.begin() + static_cast<ptrdiff_t>(at + bytes));
  at += bytes;
  return r;
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

bool can_start_region(const Hart& hart, const BlockCache& cache, const Decoder& decoder, const Block& b) {
  // A unit must make progress: one starting with an encoding it leaves to the
  // interpreter would return at once, and be entered again, forever.
  return cache.cached(b.vpc, b.host) == &b && hart.fetch_cached(b.vpc) &&
         b.insns[0].spec < decoder.specs().size();
}

Region form_region(const Hart& hart, const BlockCache& cache, const Decoder& decoder,
                   const Block& entry) {
  Region r;
  if (!can_start_region(hart, cache, decoder, entry)) return r;
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
  for (const Block* b : blocks) {
    direct_successors(decoder.specs(), std::span(b->insns, b->count), r.targets);
    const DecodedInsn& last = b->insns[b->count - 1];
    r.targets.push_back(last.pc + last.len);  // also after a block-ending instruction that goes on
  }
  std::sort(r.targets.begin(), r.targets.end());
  r.targets.erase(std::unique(r.targets.begin(), r.targets.end()), r.targets.end());
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
