// The seam between the interpreter (core/) and a compiled tier (jit/).
//
// core/ knows nothing about LLVM. It offers a compiled tier:
//   - the unit contract (UnitEntry below), which a compiled unit honours
//     exactly as the interpreter's block run does;
//   - hot-block notification (CompiledTier::hot) from the machine loop;
//   - a safe point per loop iteration (CompiledTier::safe_point), where no
//     guest code is executing, for installing and freeing code;
//   - extern "C" slow paths (below) and the hart layout (HartLayout) so
//     generated code addresses hart state and the soft TLB directly.
// The determinism contract both tiers honour is docs/determinism.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/insn.hpp"

namespace hs {

class Hart;
class Machine;
class BlockCache;
struct Block;

// Entry point of a compiled unit: guest code from one entry pc, possibly many
// blocks of one page with loops inside. Called with hart.pc == the unit's
// entry pc and `budget` >= the entry block's instruction count.
//
// The unit retires at most `budget` instructions and returns with pc,
// position and instret exact (written back before it returns, and before
// every helper call that can observe them), guest registers written back:
//   kNext, kJump   the instructions up to pc retired; the loop may chain on
//                  unless hart.block_exit is set (as after a block run);
//   kEndBlock      same, but the loop re-checks interrupts and deadlines;
//   kWfi           a WFI retired (pc is past it);
//   kTrap          the instruction at pc did not retire: trap_cause/trap_tval
//                  hold its exception (or cause::kWatchStop); the machine
//                  takes the trap (and counts its position step).
// A unit may stop early anywhere an instruction boundary is (it never needs
// to run anything); the interpreter continues from there.
using UnitEntry = Flow (*)(Hart& hart, uint64_t budget);

// A compiled unit as the machine sees it. Owned by the tier; a Block points
// to it once hot. `entry` is null until code is ready and may be replaced by
// better code at any time (release/acquire): the guest calls whatever it
// loads. Units and their code stay valid until the tier's safe_point says
// otherwise (see CompiledTier::safe_point).
struct CompiledUnit {
  std::atomic<UnitEntry> entry{nullptr};
  // Runs of the entry block interpreted while `entry` was null: how much
  // the wait for this unit costs (the tier compiles the costliest first).
  std::atomic<uint32_t> waiting{0};
};

// A compiled tier attached to one machine. Called on the guest thread only.
class CompiledTier {
 public:
  virtual ~CompiledTier() = default;
  // Executions of a block before hot() is called for it (0: on first use).
  virtual uint32_t threshold() const = 0;
  // Block `b` (decoded from the page at `host`'s page, currently mapped at
  // hart.pc's page) became hot. Returns the unit to attach to it, or nullptr
  // (never compiled: `b` is not asked about again). The unit's code may
  // arrive later; in synchronous mode it is there on return.
  virtual CompiledUnit* hot(Hart& hart, BlockCache& cache, Block& b) = 0;
  // Called where no guest code of this machine is executing. Returns true if
  // every unit pointer handed out before must be dropped now (code cache
  // eviction): the machine then detaches them from all its blocks.
  virtual bool safe_point() = 0;
};

// Process-wide: the tier every Machine constructed afterwards attaches
// (nullptr factory: interpreter only, the default).
using TierFactory = std::function<std::unique_ptr<CompiledTier>(Machine&)>;
void set_tier_factory(TierFactory factory);
const TierFactory& tier_factory();

// Byte offsets of hart state from a Hart*, for generated code. Equal for
// every Hart (Hart::layout() measures them on one).
struct HartLayout {
  size_t x;           // uint64_t[33]
  size_t f;           // uint64_t[32]
  size_t pc, position, instret;
  size_t dtlb;        // uint8_t: data-TLB set of loads/stores
  size_t tlb;         // TlbEntry[4][3][Hart::kTlbSize], {tag, addend} 16 bytes each
  size_t block_exit;  // bool
};

// Slow paths for generated code (core/compiled.cpp). They behave as the
// interpreter's handlers do at an instruction whose position and instret the
// caller has written back to the hart (index 0 in its unit).
extern "C" {
// Load of `size` (1, 2, 4, 8) bytes at `va`, zero-extended into *out. False:
// trap_cause/trap_tval are set (or cause::kWatchStop). May set block_exit
// (MMIO: the unit must end after this instruction).
bool hs_jit_load(Hart* h, uint64_t va, uint32_t size, uint64_t* out);
// Store of the low `size` bytes of `value`. Same result convention; sets
// block_exit after MMIO or a write to a page holding code.
bool hs_jit_store(Hart* h, uint64_t va, uint32_t size, uint64_t value);
// Runs one decoded instruction whose `fn` is its single-instruction handler
// (InsnHandlers::exec) and returns its Flow. Unless that is kNext, pc,
// position and instret are left where the unit must return with that Flow.
uint8_t hs_jit_exec(Hart* h, const DecodedInsn* insn);
}

}  // namespace hs
