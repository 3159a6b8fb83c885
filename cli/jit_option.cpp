#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/machine.hpp"
#include "jit/jit.hpp"

namespace hs {

void JitOption::add_to(CLI::App& cmd) {
  cmd.add_option("--jit", mode,
                 "LLVM tier: on (hot code compiled on a background thread), off (interpreter "
                 "only) or sync (every block compiled before it first runs; for tests) "
                 "[default: on, or $HINDSIGHT_JIT]");
  cmd.add_option("--jit-cache", cache,
                 "Directory of the persistent code cache, where compiled code is kept for the next "
                 "run or replay of the same guest code, or off [default: $HINDSIGHT_JIT_CACHE, else "
                 "~/.cache/hindsight/jit]");
}

void JitOption::apply() const {
  jit::Options o;
  o.mode = mode.empty() ? jit::mode_from_env(jit::Mode::kAsync) : jit::parse_mode(mode);
  o.disk_cache = cache.empty() ? jit::default_disk_cache() : cache == "off" ? "" : cache;
  jit::tune_from_env(o);
  jit::enable(o);
}

void print_jit_stats(const Machine& m) {
  const jit::Stats s = jit::stats();
  auto share = [&](uint64_t n) {
    const uint64_t all = m.hart().instret;
    return all ? 100.0 * static_cast<double>(n) / static_cast<double>(all) : 0.0;
  };
  fmt::print(stderr,
             "hindsight: jit: {} units compiled, {} optimised, {} reused, {} loaded from the code "
             "cache, {} failed, {} evictions, {:.3f} s compiling, {:.1f} MiB code, {:.1f}% of "
             "instructions ran compiled, {:.1f}% interpreted waiting for the compiler\n",
             s.units, s.promoted, s.reused, s.loaded, s.failed, s.evictions, s.compile_seconds,
             static_cast<double>(s.code_bytes) / (1 << 20), share(m.compiled_instructions()),
             share(m.waited_instructions()));
}

}  // namespace hs
