// PLIC (platform-level interrupt controller, "sifive,plic-1.0.0"), laid out
// as on QEMU's virt board for one hart: 96 sources (source 0 is reserved and
// never pending), 3-bit priorities, two contexts: 0 = hart 0 M-mode (drives
// MEIP), 1 = hart 0 S-mode (drives SEIP).
//
// Register map (32-bit accesses only; anything else is an access fault):
//   0x000000 + 4*src             priority of source src (0 = never interrupts)
//   0x001000 + 4*word            pending bits (read-only; stores ignored)
//   0x002000 + 0x80*ctx + 4*word enable bits of context ctx
//   0x200000 + 0x1000*ctx        priority threshold of context ctx
//   0x200004 + 0x1000*ctx        claim (read) / complete (write)
// The priority, pending and enable arrays have room for the architectural
// 1024 sources; entries past our 96 read as zero and ignore stores (WARL),
// as on a PLIC built with fewer sources. That matters: QEMU 7.2's own tree
// says riscv,ndev = 96, and OpenSBI and Linux initialise every source up to
// ndev, so a guest booted with that tree (--dtb) touches source 96.
//
// Device lines arrive through IrqSink::set_irq(source, level) and are level
// triggered: while a source is not claimed its pending bit follows the line;
// a claim clears the pending bit and marks the source in service until the
// matching complete, after which a still-high line makes it pending again.
// A context's output is high when some enabled, pending, unclaimed source
// has a priority above the context's threshold.
#pragma once

#include <array>
#include <cstdint>

#include "core/device.hpp"

namespace hs {

class Plic : public Device, public IrqSink {
 public:
  static constexpr uint64_t kSize = 0x600000;
  static constexpr unsigned kNumSources = 96;
  static constexpr unsigned kNumContexts = 2;
  static constexpr unsigned kWords = kNumSources / 32;  // bitmap words per bitmap
  static constexpr uint32_t kPriorityMask = 0x7;        // 3 priority bits (QEMU virt)

  static constexpr unsigned kMaxSources = 1024;  // architectural register space
  static constexpr uint64_t kPriorityBase = 0x0;
  static constexpr uint64_t kPendingBase = 0x1000;
  static constexpr uint64_t kEnableBase = 0x2000;
  static constexpr uint64_t kEnableStride = 0x80;
  static constexpr uint64_t kContextBase = 0x200000;
  static constexpr uint64_t kContextStride = 0x1000;
  static constexpr uint64_t kThresholdOffset = 0x0;
  static constexpr uint64_t kClaimOffset = 0x4;

  struct State {
    std::array<uint32_t, kNumSources> priority{};
    std::array<uint32_t, kWords> level{};  // input line levels
    std::array<uint32_t, kWords> pending{};
    std::array<uint32_t, kWords> claimed{};  // in service: claimed, not yet completed
    std::array<std::array<uint32_t, kWords>, kNumContexts> enable{};
    std::array<uint32_t, kNumContexts> threshold{};
    std::array<bool, kNumContexts> output{};  // level driven on each context's line
  };

  // outputs[ctx] is context ctx's interrupt line (hart kMEI, hart kSEI).
  explicit Plic(std::array<IrqLine, kNumContexts> outputs);

  const char* name() const override { return "plic"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;

  // IrqSink: device line `line` (1..95) changed level. Source 0 and
  // out-of-range lines are ignored.
  void set_irq(unsigned line, bool level) override;

  const State& state() const { return s_; }
  // Restores a snapshot and re-drives the context outputs from it.
  void restore(const State& s);

 private:
  static bool bit(const std::array<uint32_t, kWords>& bm, unsigned src) {
    return (bm[src / 32] >> (src % 32)) & 1;
  }
  static void set_bit(std::array<uint32_t, kWords>& bm, unsigned src, bool on);

  // Highest-priority enabled, pending, unclaimed source of `ctx` (lowest id
  // wins ties); 0 if none. The threshold is not applied here: claims ignore it.
  unsigned best_source(unsigned ctx) const;
  uint32_t claim(unsigned ctx);
  void complete(unsigned ctx, uint32_t src);
  void update();

  std::array<IrqLine, kNumContexts> outputs_;
  State s_;
};

}  // namespace hs
