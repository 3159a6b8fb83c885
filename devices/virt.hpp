// The QEMU `virt`-compatible board: memory map, devices, interrupt wiring,
// reset vector and device tree, so that firmware and kernels built for
// `qemu-system-riscv64 -M virt` run unchanged.
//
//   0x0000_1000  boot ROM (reset vector, fw_dynamic_info)
//   0x0010_0000  test finisher (sifive,test0)
//   0x0200_0000  CLINT
//   0x0c00_0000  PLIC (context 0 = hart 0 M, context 1 = hart 0 S)
//   0x1000_0000  UART 16550A, PLIC source 10
//   0x8000_0000  RAM
//
// The board owns its devices and must outlive every use of the machine's bus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/machine.hpp"
#include "devices/boot_rom.hpp"
#include "devices/clint.hpp"
#include "devices/plic.hpp"
#include "devices/test_finisher.hpp"
#include "devices/uart16550.hpp"

namespace hs {

struct VirtConfig {
  uint64_t ram_size = 128ull << 20;
  std::string bootargs;  // /chosen/bootargs; omitted when empty
  // Initrd range [start, end) for /chosen; 0,0 = no initrd.
  uint64_t initrd_start = 0, initrd_end = 0;
};

class VirtBoard {
 public:
  static constexpr uint64_t kMromBase = BootRom::kBase;
  static constexpr uint64_t kMromSize = BootRom::kSize;
  static constexpr uint64_t kTestBase = 0x100000;
  static constexpr uint64_t kClintBase = 0x2000000;
  static constexpr uint64_t kPlicBase = 0xc000000;
  static constexpr uint64_t kUartBase = 0x10000000;
  static constexpr uint64_t kRamBase = 0x80000000;
  static constexpr unsigned kUartIrq = 10;
  // QEMU virt's UART input clock (the driver derives baud divisors from it).
  static constexpr uint32_t kUartClockHz = 3686400;

  // Maps RAM, boot ROM and devices on m's bus, wires interrupts, registers
  // the CLINT as a timed device and resets the hart to the boot ROM. The
  // finisher's power-off stops the machine through m.request_exit(code).
  // Throws std::invalid_argument for a zero or unmappable ram_size.
  VirtBoard(Machine& m, const VirtConfig& cfg);
  VirtBoard(const VirtBoard&) = delete;
  VirtBoard& operator=(const VirtBoard&) = delete;

  // The configuration build_fdt() describes; bootargs/initrd may be changed
  // after construction (RAM size may not: RAM is already mapped).
  VirtConfig& config() { return cfg_; }
  const VirtConfig& config() const { return cfg_; }

  // The device tree for this board, as QEMU 7.2 virt builds it for one hart
  // (without the devices we do not model: fw-cfg, flash, PCI, virtio, RTC,
  // PMU, platform bus; and without /chosen/rng-seed, which would be an
  // unrecorded host input). Throws std::runtime_error on a libfdt failure.
  std::vector<uint8_t> build_fdt() const;

  // Writes the reset vector: jump to `start_addr` with a1 = `fdt_addr`, and
  // fw_dynamic_info.next_addr = `next_addr` (S-mode kernel entry, 0 if none).
  void setup_reset_vector(uint64_t start_addr, uint64_t fdt_addr, uint64_t next_addr);

  // Where QEMU 7.2 (riscv_load_fdt) puts a device tree of `fdt_size` bytes:
  // just below the end of RAM, or below 3 GiB if RAM extends past it (so
  // 32-bit code can reach it), aligned down to 2 MiB.
  static uint64_t fdt_load_address(uint64_t ram_size, size_t fdt_size);

  Uart16550& uart() { return uart_; }
  Clint& clint() { return clint_; }
  Plic& plic() { return plic_; }
  BootRom& rom() { return rom_; }

  // Guest reset request (finisher 0x7777, hence SBI system reset). Without a
  // handler a reset powers off with code 0, like QEMU's -no-reboot.
  std::function<void()> on_reset;

 private:
  void request_reset();

  Machine& m_;
  VirtConfig cfg_;
  BootRom rom_;
  TestFinisher finisher_;
  Clint clint_;
  Plic plic_;
  Uart16550 uart_;
};

}  // namespace hs
