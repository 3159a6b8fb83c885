// Basic strong types shared by every layer: machine position, guest addresses,
// privilege levels, trap causes.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace hs {

// The machine's clock: instructions retired + trap entries + idle positions
// skipped by WFI. Totally ordered; everything time-like (mtime, deadlines,
// journal events, snapshots, breakpoints) is keyed by it.
struct Position {
  uint64_t v = 0;
  constexpr auto operator<=>(const Position&) const = default;
  constexpr Position operator+(uint64_t d) const { return Position{v + d}; }
  constexpr uint64_t operator-(Position o) const { return v - o.v; }
  static constexpr Position max() { return Position{std::numeric_limits<uint64_t>::max()}; }
};

// Guest physical address.
struct PAddr {
  uint64_t v = 0;
  constexpr auto operator<=>(const PAddr&) const = default;
  constexpr PAddr operator+(uint64_t d) const { return PAddr{v + d}; }
};

// Guest virtual address.
struct VAddr {
  uint64_t v = 0;
  constexpr auto operator<=>(const VAddr&) const = default;
};

enum class Priv : uint8_t { U = 0, S = 1, M = 3 };

constexpr uint64_t kPageShift = 12;
constexpr uint64_t kPageSize = 1ull << kPageShift;

// Synchronous exception causes (mcause values, interrupt bit clear).
namespace cause {
constexpr uint64_t kInsnMisaligned = 0;
constexpr uint64_t kInsnAccessFault = 1;
constexpr uint64_t kIllegalInsn = 2;
constexpr uint64_t kBreakpoint = 3;
constexpr uint64_t kLoadMisaligned = 4;
constexpr uint64_t kLoadAccessFault = 5;
constexpr uint64_t kStoreMisaligned = 6;  // also AMO
constexpr uint64_t kStoreAccessFault = 7;
constexpr uint64_t kEcallU = 8;
constexpr uint64_t kEcallS = 9;
constexpr uint64_t kEcallM = 11;
constexpr uint64_t kInsnPageFault = 12;
constexpr uint64_t kLoadPageFault = 13;
constexpr uint64_t kStorePageFault = 15;
constexpr uint64_t kInterruptBit = 1ull << 63;
// Not an exception: a debugger watchpoint stopped the access before it
// happened (Hart::watch_hit). The run loop stops with the instruction not
// executed and takes no trap.
constexpr uint64_t kWatchStop = ~0ull;
}  // namespace cause

// Interrupt numbers (bit positions in mip/mie).
namespace irq {
constexpr unsigned kSSI = 1, kMSI = 3, kSTI = 5, kMTI = 7, kSEI = 9, kMEI = 11;
}

}  // namespace hs
