// libFuzzer target for the CPU core against hostile guest code: the input is
// the first bytes of RAM (code and data alike) of a small machine (64 KiB of
// RAM and a CLINT) whose hart starts in M-mode at the RAM base with mtvec
// pointing into the same bytes, so traps, timer interrupts, CSR writes,
// paging, PMP, FP and AMOs all get exercised by random encodings.
//
// Input layout: byte 0 seeds the slice sizes and the first timer deadline,
// byte 1 picks the watchpoint, bit 0 of byte 2 starts the hart in S-mode
// under Sv39 with its page tables in the input; the rest is RAM from its
// base. Checked
// properties, beyond "no crash and no UB" (ASan/UBSan abort on those):
//   - determinism under slicing and restores (determinism rules 3 and 4): a
//     machine run to position N in one go and one run there in irregular
//     slices (down to one instruction, so blocks are cut short), dropping its
//     caches between slices as a snapshot restore does, reach the same
//     architectural state and memory;
//   - watchpoint stops change nothing: resuming past each one
//     (Hart::watch_skip) reaches the same state as a machine without
//     watchpoints (a stop that executed the access, or part of it, twice or
//     not at all would differ).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_machine.hpp"

using namespace hs;

using namespace hs::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t seed = data[0], watch = data[1];
  const bool paged = data[2] & 1;
  data += 3;
  size -= 3;

  Guest whole(data, size, seed, paged), sliced(data, size, seed, paged);
  const StopReason a = run(whole, kRunPositions, seed, false);
  const StopReason b = run(sliced, kRunPositions, seed, true);
  require(a == b);
  require(state_of(whole) == state_of(sliced));

  // A watchpoint on 512 bytes to all of RAM, on writes and maybe reads:
  // every stop is before the access; skipping it and going on ends where the
  // unwatched run ended.
  Guest watched(data, size, seed, paged);
  const uint64_t len = std::min<uint64_t>(kRamSize, 512u << (watch & 7));
  const uint64_t addr = kRamBase + ((watch >> 3) * len) % kRamSize;
  watched.m.hart().set_watchpoints({Watchpoint{addr, len, (watch & 0x80) != 0, true}});
  for (unsigned stops = 0;; ++stops) {
    const StopReason why = watched.m.run(Position{kRunPositions});
    if (why != StopReason::kWatchpoint) {
      require(why == a);
      break;
    }
    require(stops < kRunPositions);
    require(watched.m.hart().watch_hit.hit);
    watched.m.hart().watch_skip = watched.m.position().v;
  }
  require(state_of(watched) == state_of(whole));
  return 0;
}
