#include <fmt/format.h>

#include "cli/commands.hpp"
#include "jit/jit.hpp"

namespace hs {

void JitOption::add_to(CLI::App& cmd) {
  cmd.add_option("--jit", mode,
                 "LLVM tier: on (hot code compiled on a background thread), off (interpreter "
                 "only) or sync (every block compiled before it first runs; for tests) "
                 "[default: on, or $HINDSIGHT_JIT]");
}

void JitOption::apply() const {
  jit::Options o;
  o.mode = mode.empty() ? jit::mode_from_env(jit::Mode::kAsync) : jit::parse_mode(mode);
  jit::tune_from_env(o);
  jit::enable(o);
}

void print_jit_stats(uint64_t compiled_instructions, uint64_t instructions) {
  const jit::Stats s = jit::stats();
  const double share = instructions ? 100.0 * static_cast<double>(compiled_instructions) /
                                          static_cast<double>(instructions)
                                    : 0.0;
  fmt::print(stderr,
             "hindsight: jit: {} units compiled, {} optimised, {} reused, {} failed, {} evictions, "
             "{:.3f} s compiling, {:.1f} MiB code, {:.1f}% of instructions ran compiled\n",
             s.units, s.promoted, s.reused, s.failed, s.evictions, s.compile_seconds,
             static_cast<double>(s.code_bytes) / (1 << 20), share);
}

}  // namespace hs
