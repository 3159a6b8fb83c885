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
#include <type_traits>

#include "core/insn.hpp"

namespace hs {

class Hart;
class Machine;
class BlockCache;
struct Block;
struct ChainSlot;
struct CompiledUnit;

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
//
// `unit` is the CompiledUnit the code was loaded for: everything per unit
// the code uses (its instructions, chain slots, run counter) is reached
// through it, and the helpers through the hart (JitHelper), so compiled
// code holds no host address and one object file serves any process (the
// persistent cache).
using UnitEntry = Flow (*)(Hart& hart, uint64_t budget, CompiledUnit* unit);

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
  // The unit's data, which its code reaches through its `unit` argument
  // (offsets kUnitInsns, kUnitRuns; the tier keeps the unit's chain slots
  // at a fixed offset from it). Set before `entry` and fixed for the
  // unit's life, whichever code `entry` names: every compile of one unit
  // numbers instructions and slots alike.
  const DecodedInsn* insns = nullptr;  // the slow paths' instruction argument
  uint64_t runs = 0;                   // the tier's run counter
};

// The last unit one direct jump exit of a unit chained to (or, in the hart's
// jump cache, an indirect jump to the entry's pc): the unit compiled from
// the code at guest pc `pc`, found while the hart's chain_gen was `gen` and
// the exec TLB mapped pc's page with `addend` (host = addend + va). A hart
// takes a new, process-wide unique chain_gen (new_chain_generation) when
// units or the blocks they hang on may go: a write to a code page, a state
// restore, units dropped. A slot holds exactly while its gen is the hart's
// and the exec TLB of the hart's privilege still maps pc's page to the same
// host page (chain_slot_holds): the same code then sits at pc, whatever
// happened to the TLB meanwhile. Generated code checks that inline and
// calls hs_jit_chain only when it does not hold; a TLB flush (a context
// switch) thus costs each slot one refill if the page comes back to the
// same place, not a lookup at every exit until the next flush.
struct ChainSlot {
  uint64_t pc = 0;
  uint64_t gen = 0;
  CompiledUnit* unit = nullptr;
  uintptr_t addend = 0;
};
uint64_t new_chain_generation();

static_assert(std::is_standard_layout_v<CompiledUnit>);
constexpr size_t kUnitInsns = offsetof(CompiledUnit, insns);
constexpr size_t kUnitRuns = offsetof(CompiledUnit, runs);
// The reference of the inline check (tests): `slot` holds for a jump to pc.
bool chain_slot_holds(const Hart& h, const ChainSlot& slot, uint64_t pc);

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
  size_t chain_until;  // uint64_t (see Hart::chain_until)
  size_t reenter_until;  // uint64_t (see Hart::chain_until)
  size_t chain_gen;    // uint64_t (see ChainSlot)
  size_t jump_cache;   // ChainSlot[Hart::kJumpCacheSize]
  size_t priv;         // uint8_t (a Priv): the exec-TLB set is tlb[priv][kExec]
  size_t jit_helpers;  // const void*[kHelperCount] (see JitHelper)
};

// The helpers generated code calls, by their index in Hart::jit_helpers:
// the code loads the address from the hart, so it holds no host address and
// needs no relocation (see UnitEntry). kHelperPromote is the tier's own.
enum JitHelper : unsigned { kHelperLoad, kHelperStore, kHelperExec, kHelperChain, kHelperPromote, kHelperCount };

// Slow paths for generated code (core/compiled.cpp). Each takes the
// position of the instruction `insn` it runs for (the unit's entry position
// plus the instructions retired since): it writes position and instret back
// (instret moves with position: nothing but retired instructions separates
// them inside a unit) and behaves as the interpreter's handler does at an
// instruction with that position. Unless the returned flow is kNext, the
// unit must return that flow at once: pc, position, instret and x[rd] are
// where the machine loop expects them (kTrap: pc at `insn`, trap_cause and
// trap_tval set, or cause::kWatchStop; kEndBlock: the access reached a
// device or a page holding code, `insn` retired and the unit must end).
extern "C" {
// Two values in two registers (RAX:RDX on x86-64, x0:x1 on AArch64): the
// generated code declares the helpers as returning {i64, i64}.
struct JitSlowResult {
  uint64_t value;  // the loaded value, extended to 64 bits
  uint64_t flow;   // a Flow
};
// Load of `info & 0xf` (1, 2, 4, 8) bytes at `va`, sign-extended if
// `info & 0x10`.
JitSlowResult hs_jit_load(Hart* h, const DecodedInsn* insn, uint64_t va, uint64_t info, uint64_t position);
// Store of the low `size` bytes of `value`; `value` of the result unused.
JitSlowResult hs_jit_store(Hart* h, const DecodedInsn* insn, uint64_t va, uint64_t value, uint64_t size,
                           uint64_t position);
// Runs `insn` through its single-instruction handler (InsnHandlers::exec)
// and returns its Flow (kNext: it retired and the unit goes on).
uint8_t hs_jit_exec(Hart* h, const DecodedInsn* insn, uint64_t position);
// A unit leaving to hart.pc by a jump (pc, position and instret written
// back, position < chain_until): the compiled entry of the unit the machine
// loop would run next, if it would run one at once (the exec TLB maps pc,
// the block there is cached and its unit compiled), else a null entry. The
// unit then tail-calls it with what is left of its budget: exactly what the
// loop would do, without returning to it. `slot`, the exit's own cache of
// its last target (see ChainSlot), is filled in for the next time; the unit
// checks it inline and calls this only when it does not hold.
struct JitChainResult {
  UnitEntry entry;     // null: no chaining
  CompiledUnit* unit;  // entry's unit (its third argument)
};
JitChainResult hs_jit_chain(Hart* h, ChainSlot* slot);
}

}  // namespace hs
