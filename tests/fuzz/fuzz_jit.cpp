// Differential libFuzzer target for the LLVM tier: the same random guest code
// (tests/fuzz/fuzz_machine.hpp: traps, interrupts, paging, self-modifying
// stores, page crossings) runs on the interpreter and compiled (the JIT in
// synchronous mode, every block compiled at tier 1 before its first run), and
// the architectural state and RAM must come out bit for bit equal (docs/
// determinism.md, rule 5). A third machine runs units (optimised, tier 2,
// for odd seeds) in irregular slices down to one position, forgetting decoded blocks between
// slices as a snapshot restore does: budgets cut units short, and units are
// found again in the code cache by content and recompiled optimised.
//
// Input layout (fuzz_guest's, whose seeds it shares): byte 0 seeds the
// slices and the first timer deadline, byte 1 is unused, bit 0 of byte 2
// starts the hart in S-mode under Sv39; the rest is RAM.
#include <cstddef>
#include <cstdint>

#include "jit/jit.hpp"
#include "tests/fuzz/fuzz_machine.hpp"

using namespace hs;
using namespace hs::fuzz;

namespace {
constexpr uint64_t kPositions = 4000;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t seed = data[0];
  const bool paged = data[2] & 1;
  data += 3;
  size -= 3;

  set_tier_factory(nullptr);
  Guest interpreted(data, size, seed, paged);
  jit::Options o;
  o.mode = jit::Mode::kSync;
  o.cache_bytes = 64ull << 20;  // evictions happen within a fuzzing run
  jit::enable(o);
  Guest compiled(data, size, seed, paged), sliced(data, size, seed, paged);
  require(compiled.m.has_compiled_tier());

  const StopReason a = run(interpreted, kPositions, seed, false);
  const StopReason b = run(compiled, kPositions, seed, false);
  o.sync_optimised = seed & 1;  // tier 2 compiles are slow: every other input
  jit::enable(o);
  const StopReason c = run(sliced, kPositions, seed, true);
  require(a == b && a == c);
  const std::vector<uint8_t> expected = state_of(interpreted);
  require(state_of(compiled) == expected);
  require(state_of(sliced) == expected);
  return 0;
}
