// The boot ROM of QEMU's virt board ("mrom" at 0x1000, 0xf000 bytes): the
// reset vector every hart starts at, as written by QEMU's
// riscv_setup_rom_reset_vec() for RV64, followed by struct fw_dynamic_info
// for OpenSBI's fw_dynamic firmware.
//
// Layout (offsets from the ROM base):
//   0x00  auipc t0, 0            t0 = ROM base
//   0x04  addi  a2, t0, 40       a2 = &fw_dynamic_info
//   0x08  csrr  a0, mhartid      a0 = hart id
//   0x0c  ld    a1, 32(t0)       a1 = device tree address
//   0x10  ld    t0, 24(t0)       t0 = start address
//   0x14  jr    t0
//   0x18  .dword start address   (firmware, or kernel with --bios none)
//   0x20  .dword fdt address
//   0x28  struct fw_dynamic_info (6 x unsigned long)
// The ROM is guest read-only memory on the bus (stores fault); its contents
// live in the bus memory region, so RAM-style snapshots cover it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bus.hpp"

namespace hs {

// OpenSBI's include/sbi/fw_dynamic.h, version 2 (adds boot_hart).
struct FwDynamicInfo {
  uint64_t magic;
  uint64_t version;
  uint64_t next_addr;
  uint64_t next_mode;
  uint64_t options;
  uint64_t boot_hart;
};
static_assert(sizeof(FwDynamicInfo) == 48);

class BootRom {
 public:
  static constexpr uint64_t kBase = 0x1000;
  static constexpr uint64_t kSize = 0xf000;

  static constexpr uint64_t kStartAddrOffset = 0x18;
  static constexpr uint64_t kFdtAddrOffset = 0x20;
  static constexpr uint64_t kFwDynamicOffset = 0x28;

  static constexpr uint64_t kFwDynamicMagic = 0x4942534f;  // "OSBI"
  static constexpr uint64_t kFwDynamicVersion = 2;
  static constexpr uint64_t kNextModeS = 1;

  // Adds the ROM region to `bus` (throws std::invalid_argument on overlap).
  explicit BootRom(Bus& bus);

  // The reset vector blob (code, addresses, fw_dynamic_info) for a hart that
  // jumps to `start_addr` with a1 = `fdt_addr`; `next_addr` is where the
  // firmware continues in S-mode (the kernel entry; 0 if none).
  static std::vector<uint8_t> reset_vector(uint64_t start_addr, uint64_t fdt_addr,
                                           uint64_t next_addr);

  // Writes reset_vector(...) at the ROM base (host-side; the guest cannot).
  void install(uint64_t start_addr, uint64_t fdt_addr, uint64_t next_addr);

  Bus::Memory& memory() { return mem_; }

 private:
  Bus& bus_;
  Bus::Memory& mem_;
};

}  // namespace hs
