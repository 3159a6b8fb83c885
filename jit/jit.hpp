// The LLVM tier's public face (no LLVM here): turning it on for the process,
// and its statistics. See jit/README.md for how it works.
#pragma once

#include <cstdint>
#include <string>

namespace hs::jit {

enum class Mode {
  kOff,    // interpreter only
  kAsync,  // compile hot units on a background thread (the default)
  kSync,   // compile every unit on the guest thread before its first run (tests)
};

struct Options {
  Mode mode = Mode::kAsync;
  // Interpreted runs of a block before its region is compiled (kAsync).
  uint32_t threshold = 200;
  // Runs of a tier-1 unit's entry and loop blocks before it is compiled
  // again, optimised (tier 2).
  uint64_t promote_at = 50000;
  // kSync: compile every unit optimised (tier 2) at once, and a tier-1 unit
  // found in the cache again (the differential fuzzer tests both tiers).
  bool sync_optimised = false;
  // Bytes of object code kept before the code cache is emptied.
  uint64_t cache_bytes = 256ull << 20;
  // The persistent code cache (jit/disk_cache.hpp): a directory, or empty
  // for none; and the bytes it may hold (trimmed when the engine starts).
  std::string disk_cache;
  uint64_t disk_cache_bytes = 1ull << 30;
};

// The persistent code cache's default directory: $HINDSIGHT_JIT_CACHE if set
// ("off": none), else $XDG_CACHE_HOME/hindsight/jit, else
// $HOME/.cache/hindsight/jit (empty if neither is set).
std::string default_disk_cache();

// Parses "on", "off" or "sync" (the --jit option); throws UserError.
Mode parse_mode(const std::string& s);
// Reads HINDSIGHT_JIT (on|off|sync) if set, else `fallback`.
Mode mode_from_env(Mode fallback);

// Tuning knobs for experiments: HINDSIGHT_JIT_THRESHOLD and
// HINDSIGHT_JIT_PROMOTE override threshold and promote_at.
void tune_from_env(Options& o);

// Makes every Machine built from now on use the LLVM tier (or none, for
// kOff). Call before building machines; calling again replaces the options.
void enable(const Options& options);

// Stops the compile thread before the process exits: LLVM's own static
// objects are destroyed by exit(), so no compilation may still be running
// then. Returns false if a compilation is in progress (it is not waited
// for); the caller must then leave with std::_Exit after flushing its
// output. Without an engine, or with the thread idle, returns true.
bool shutdown();

struct Stats {
  uint64_t units = 0;           // units compiled (tier 1)
  uint64_t promoted = 0;        // units compiled again at tier 2
  uint64_t failed = 0;          // compilations that failed (interpreted instead)
  uint64_t reused = 0;          // units found in the code cache by content
  uint64_t loaded = 0;          // units loaded from the persistent cache
  uint64_t evictions = 0;       // times the code cache was emptied
  uint64_t code_bytes = 0;      // object code produced
  double compile_seconds = 0;   // time spent lowering, optimising, compiling
};
Stats stats();

}  // namespace hs::jit
