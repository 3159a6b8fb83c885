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
#include <optional>
#include <span>
#include <vector>

#include "core/insn.hpp"
#include "snapshot/hash128.hpp"

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
  std::vector<RegionBlock> blocks;  // blocks[0] is the entry, then in breadth-first order
  // Tier 1 compiles the first tier1_blocks blocks (see kMaxTier1Insns).
  size_t tier1_blocks = 0;
  // The code bytes the region was decoded from, as (page offset, length)
  // ranges and their contents: a unit is reused for any page holding them.
  std::vector<std::pair<uint16_t, uint16_t>> ranges;
  std::vector<uint8_t> bytes;
  // The direct successors of all its blocks and the pcs after them, sorted:
  // a unit's exit to one of them uses the chain slot of the same index
  // (LowerOptions::slots_offset), in both tiers.
  std::vector<uint64_t> targets;
  // What the code compiled from the region depends on in it (entry, blocks,
  // their decoded instructions but the handler pointers, tier-1 cut): equal
  // keys compile to the same code (a 128-bit hash).
  Hash128 key() const;
  // Appends the region to `out`; load() reads one back from `in` at `at`
  // (advancing it), nullopt if it is malformed. The persistent cache keeps
  // the region of each unit so that a later run can use the unit (see
  // Engine::hot): handlers come from `specs`.
  void save(std::vector<char>& out) const;
  static std::optional<Region> load(std::span<const char> in, size_t& at, std::span<const InsnSpec> specs);

  size_t instructions() const;
  // True if no instruction but the entry is at one of the debugger's
  // breakpoints and the page at `page_host` holds the same code bytes.
  bool matches(const BlockCache& cache, const uint8_t* page_host) const;
};

// Direct successors of the block `insns`: taken-branch and jal targets, and
// the fall-through pc when the block ends without a control transfer.
void direct_successors(std::span<const InsnSpec> specs, std::span<const DecodedInsn> insns,
                       std::vector<uint64_t>& out);

// Limits of one region.
constexpr size_t kMaxRegionBlocks = 24;
constexpr size_t kMaxRegionInsns = 128;
// Tier 1 compiles the region's leading blocks up to this many instructions
// (at least the entry block). The compile thread is the bottleneck of a
// Linux boot: about 7,000 regions become hot, enough work for ten times the
// boot's length, and full regions overlap (each instruction compiled 2.6
// times on average). Short tier-1 units cut both; tier 2, where loops
// matter, compiles the whole region.
constexpr size_t kMaxTier1Insns = 64;

// False if `b` (run from hart.pc's page) cannot start a region: the scratch
// block of a page-straddling instruction, a page the exec TLB cannot cache,
// or a block starting with an illegal encoding.
bool can_start_region(const Hart& hart, const BlockCache& cache, const Decoder& decoder, const Block& b);

// The region entered at `b` (cached in `cache`, run from hart.pc's page).
// Empty (no blocks) if `b` cannot start one.
Region form_region(const Hart& hart, const BlockCache& cache, const Decoder& decoder,
                   const Block& b);

}  // namespace jit
}  // namespace hs
