// The small machine the CPU-core fuzzers run random guest code on: 64 KiB of
// RAM and a CLINT, the hart in M-mode at the RAM base with mtvec pointing into
// the same bytes (or in S-mode under Sv39 with its page tables in them), so
// traps, timer interrupts, CSR writes, paging, PMP, FP and AMOs all get
// exercised by random encodings. Shared by fuzz_guest.cpp and fuzz_jit.cpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/machine.hpp"
#include "devices/clint.hpp"

namespace hs::fuzz {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kClintBase = 0x2000000;
constexpr uint64_t kRamSize = 64 * 1024;
constexpr uint64_t kRunPositions = 10000;
constexpr uint64_t kRootOffset = 0x1000;  // root page table of paged runs

inline void require(bool ok) {
  if (!ok) std::abort();
}

struct Guest {
  Machine m;
  Clint clint{m.hart().clock(), &m.hart()};
  Guest(const uint8_t* data, size_t size, uint8_t seed, bool paged) {
    m.bus().add_memory("ram", PAddr{kRamBase}, kRamSize, true);
    m.bus().add_device(PAddr{kClintBase}, Clint::kSize, &clint);
    m.add_timed_device(&clint);
    // A timer interrupt every few hundred positions once the guest sets mie.MTIE
    // and mstatus.MIE (or at once, if random code never touches mtimecmp).
    clint.restore(Clint::State{0, seed % 64u, false});
    m.bus().write_bytes(PAddr{kRamBase}, {data, std::min<size_t>(size, kRamSize)});
    m.hart().reset(kRamBase);
    m.hart().mtvec = kRamBase + 0x40;  // traps land in the fuzzed bytes too
    // Registers point into RAM, so random loads, stores and AMOs hit it.
    Hart& h = m.hart();
    for (unsigned r = 1; r < 32; ++r) h.x[r] = kRamBase + r * (kRamSize / 32);
    if (paged) {
      // S-mode under Sv39 with the root page table in the fuzzed bytes, PMP
      // open: walks read random PTEs, stores rewrite them (TLB coherence).
      h.pmpaddr[0] = (1ull << 54) - 1;
      h.pmpcfg[0] = 0x1f;  // NAPOT, R W X
      h.satp = 8ull << 60 | (kRamBase + kRootOffset) >> 12;
      h.priv = Priv::S;
      h.dmode = Priv::S;
      h.dtlb = static_cast<uint8_t>(Priv::S);
      h.tlb_flush();
    }
  }
};

// Architectural state plus RAM; scratch fields (cur_idx, exit_idx, TLBs) excluded.
inline std::vector<uint8_t> state_of(Guest& g) {
  const Hart& h = g.m.hart();
  std::vector<uint8_t> out;
  auto put = [&out](const auto& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof v);
  };
  for (unsigned r = 0; r < 32; ++r) put(h.x[r]);  // not x[32], the sink of writes to x0
  put(h.f);
  for (uint64_t v : {h.pc, h.position, h.instret, h.mstatus, h.mie, h.mip, h.mtvec, h.mscratch,
                     h.mepc, h.mcause, h.mtval, h.medeleg, h.mideleg, h.stvec, h.sscratch, h.sepc,
                     h.scause, h.stval, h.satp, h.reservation, h.mcycle_offset,
                     h.minstret_offset})
    put(v);
  put(h.pmpcfg);
  put(h.pmpaddr);
  for (uint8_t v : {static_cast<uint8_t>(h.priv), static_cast<uint8_t>(h.dmode), h.frm, h.fflags,
                    static_cast<uint8_t>(h.reservation_valid), static_cast<uint8_t>(h.wfi)})
    put(v);
  const size_t at = out.size();
  out.resize(at + kRamSize);
  g.m.bus().read_bytes(PAddr{kRamBase}, {out.data() + at, kRamSize});
  return out;
}

// Runs to `until` in one go, or in slices derived from `seed`; between two
// slices the machine forgets what a snapshot restore forgets (decoded blocks,
// code and table marks, the whole TLB).
inline StopReason run(Guest& g, uint64_t until, uint8_t seed, bool sliced) {
  if (!sliced) return g.m.run(Position{until});
  uint32_t x = seed | 0x100u;
  for (;;) {
    x = x * 1103515245u + 12345u;
    const uint64_t step = (x >> 16) % 97 + 1;  // 1..97 positions
    const uint64_t to = std::min(until, g.m.position().v + step);
    const StopReason why = g.m.run(Position{to});
    if (why != StopReason::kTarget || to == until) return why;
    g.m.state_replaced();
  }
}

}  // namespace hs::fuzz
