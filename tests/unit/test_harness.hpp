// Shared fixture for unit tests: a bare machine (RAM at 0x80000000, no
// devices) whose hart starts in M-mode at the RAM base.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "core/machine.hpp"

namespace hs::test {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 16u << 20;

struct TestMachine {
  Machine m;

  TestMachine() {
    m.bus().add_memory("ram", PAddr{kRamBase}, kRamSize, true);
    m.hart().reset(kRamBase);
  }
  Hart& h() { return m.hart(); }

  // Writes 32-bit instruction words (or any data) at `at`.
  void load(std::initializer_list<uint32_t> words, uint64_t at = kRamBase) {
    std::vector<uint32_t> v(words);
    m.bus().write_bytes(PAddr{at}, {reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4});
  }
  void load16(std::initializer_list<uint16_t> halves, uint64_t at = kRamBase) {
    std::vector<uint16_t> v(halves);
    m.bus().write_bytes(PAddr{at}, {reinterpret_cast<const uint8_t*>(v.data()), v.size() * 2});
  }
  // Runs exactly `n` positions (instructions retired + trap entries).
  void step(uint64_t n) { m.run(m.position() + n); }

  // Decodes `raw` at the current pc and executes it directly through its
  // handler, bypassing the loop. Returns the handler's flow.
  Flow exec(uint32_t raw) {
    uint8_t flags;
    const DecodedInsn d[2] = {m.decoder().decode(raw, h().pc, flags), kEndOfBlock};
    return d[0].fn(h(), d[0]);
  }
  uint64_t read64(uint64_t pa) {
    uint64_t v = 0;
    m.bus().read(PAddr{pa}, 8, v);
    return v;
  }
};

// An instruction retired: kEndBlock is allowed too (a memory slow path may
// end the block after touching a code page; a CSR write that may make an
// interrupt takeable or changes translation ends it).
inline bool retired(Flow f) { return f == Flow::kNext || f == Flow::kEndBlock; }

}  // namespace hs::test
