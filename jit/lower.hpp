// Region -> LLVM IR. The only file besides engine.cpp that sees LLVM headers.
//
// The generated function is a UnitEntry (core/compiled.hpp):
//   i8 @name(ptr %hart, i64 %budget, ptr %unit)
// Guest integer registers are read from the hart at their first use in each
// basic block in tier 1 (no value crosses a basic block, which fast register
// allocation would spill) and live in allocas (SSA after SROA) in tier 2; both store them to
// the hart as they are written (so an exit or a helper call needs no
// write-back: exits are small and compile quickly; storing only at exits
// made a tier-2 unit of Linux's memcpy 9,800 lines of IR and 430 ms of
// compile time for 2% more speed on bench-cpu). Each region block checks
// the budget on entry; integer, M, branch, jump, load and store
// instructions are lowered inline (loads/stores with the soft-TLB hit path
// in IR, the miss path a call to hs_jit_load/hs_jit_store; in tier-2 loops
// each access first tries the page it hit last, kept in SSA); every other
// instruction calls its single-instruction handler through hs_jit_exec. A
// jump out of the unit chains to the next unit (its ChainSlot checked
// inline, else hs_jit_chain) or returns.
// An instruction the table does not know (illegal) ends the unit before
// it: the interpreter runs it.
#pragma once

#include <cstdint>
#include <string>

#include "core/compiled.hpp"
#include "jit/region.hpp"

namespace llvm {
class Module;
}

namespace hs::jit {

struct LowerOptions {
  HartLayout layout;
  // Tier 2 (compiled with optimisation): an indirect jump switches on the
  // region's own blocks. Tier 1 keeps the IR easy for fast instruction
  // selection (no switch): an indirect jump always leaves the unit.
  bool optimised = false;
  // Tier-1 units count the runs of their entry and loop blocks in
  // CompiledUnit::runs and call hs_jit_promote(unit) when the count reaches
  // promote_at; 0: no counter.
  uint64_t promote_at = 0;
  // The unit's chain slots (one per Region::targets) start this many bytes
  // after its CompiledUnit.
  size_t slots_offset = 0;
};

// Adds function `name` implementing `r` to `m`. The code holds no host
// address: helpers are called through Hart::jit_helpers, and the unit's data is
// reached through its CompiledUnit argument: `insns` numbers the region's
// instructions in block order, the slots at slots_offset follow
// Region::targets.
void lower_region(const Region& r, const std::span<const InsnSpec> specs,
                  const LowerOptions& opts, llvm::Module& m, const std::string& name);

}  // namespace hs::jit
