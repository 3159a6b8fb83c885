// Region -> LLVM IR. The only file besides engine.cpp that sees LLVM headers.
//
// The generated function is a UnitEntry (core/compiled.hpp):
//   i8 @name(ptr %hart, i64 %budget)
// Guest integer registers live in allocas (SSA after mem2reg) loaded at entry;
// a register written in the unit is stored back to the hart either at once
// (write_through: small code, quick to compile) or at the exits it reaches; each region block checks the budget on
// entry; integer, M, branch, jump, load and store instructions are lowered
// inline (loads/stores with the soft-TLB hit path in IR, the miss path a call
// to hs_jit_load/hs_jit_store); every other instruction calls its
// single-instruction handler through hs_jit_exec. An instruction the table
// does not know (illegal) ends the unit before it: the interpreter runs it.
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
  // Store every register write to the hart at once (tier 1): exits then
  // store nothing but pc, position and instret. Otherwise registers are
  // stored at the exits of the paths that wrote them (tier 2: tight loops).
  bool write_through = false;
  // Tier-1 units count the runs of their blocks in *runs and call
  // promote(unit) when the count reaches promote_at; nullptr: no counter.
  uint64_t* runs = nullptr;
  uint64_t promote_at = 0;
  void (*promote)(void* unit) = nullptr;
  void* unit = nullptr;
};

// Adds function `name` implementing `r` to `m`. The region's DecodedInsn
// copies must outlive the code (fallback calls point at them).
void lower_region(const Region& r, const std::span<const InsnSpec> specs,
                  const LowerOptions& opts, llvm::Module& m, const std::string& name);

}  // namespace hs::jit
