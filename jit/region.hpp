// Regions: the guest code one compiled unit covers, formed on the guest
// thread from the blocks that have run (the block cache is the profile).
//
// A region is the hot block plus the cached blocks of the same virtual page
// reachable from it by direct control flow (branch targets, jal targets,
// fall-through), so hot loops are compiled with their back edge inside.
// Staying inside one page keeps one translation valid for the whole unit
// (the exec TLB check at its entry covers every block) and ties the unit to
// that page's code-write invalidation. A block that starts at a debugger
// breakpoint is never inside a region (only its entry may be one).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/insn.hpp"

namespace hs {

class Hart;
class BlockCache;
class Decoder;
struct Block;

namespace jit {

struct RegionBlock {
  uint64_t vpc = 0;
  std::vector<DecodedInsn> insns;  // fn = the single-instruction handler, idx = 0
};

struct Region {
  uint64_t entry = 0;               // == blocks[0].vpc
  std::vector<RegionBlock> blocks;  // blocks[0] is the entry
  // The code bytes the region was decoded from, as (page offset, length)
  // ranges and their contents: a unit is reused for any page holding them.
  std::vector<std::pair<uint16_t, uint16_t>> ranges;
  std::vector<uint8_t> bytes;

  size_t instructions() const;
  // True if no instruction but the entry is at one of the debugger's
  // breakpoints and the page at `page_host` holds the same code bytes.
  bool matches(const BlockCache& cache, const uint8_t* page_host) const;
};

// Limits of one region.
constexpr size_t kMaxRegionBlocks = 24;
constexpr size_t kMaxRegionInsns = 256;

// The region entered at `b` (cached in `cache`, run from hart.pc's page).
// Empty (no blocks) if `b` cannot start one: the scratch block of a
// page-straddling instruction, a page the exec TLB cannot cache, or a block
// starting with an illegal encoding.
Region form_region(const Hart& hart, const BlockCache& cache, const Decoder& decoder,
                   const Block& b);

}  // namespace jit
}  // namespace hs
