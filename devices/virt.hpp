// The QEMU `virt`-compatible board: memory map, devices, interrupt wiring,
// reset vector and device tree, so that firmware and kernels built for
// `qemu-system-riscv64 -M virt` run unchanged.
//
//   0x0000_1000  boot ROM (reset vector, fw_dynamic_info)
//   0x0010_0000  test finisher (sifive,test0)
//   0x0010_1000  goldfish RTC, PLIC source 11
//   0x0200_0000  CLINT
//   0x0c00_0000  PLIC (context 0 = hart 0 M, context 1 = hart 0 S)
//   0x1000_0000  UART 16550A, PLIC source 10
//   0x1000_1000  8 virtio-mmio slots of 0x1000, slot n on PLIC source 1 + n
//   0x8000_0000  RAM
//
// Virtio devices fill the slots as QEMU's `-device virtio-*-device` options
// do: QEMU's bus search hands the first device the last transport, so the
// first device sits in slot 7 (0x10008000), the next in slot 6, and so on.
// QEMU also lists the slots highest address first in the device tree, so
// Linux probes them in that order and the first drive becomes /dev/vda.
// Here: the drives in VirtConfig order, then virtio-rng.
//
// Inputs from outside the VM (console bytes, RTC wall clock, entropy) come
// only through the HostInput given to the constructor.
//
// The board owns its devices and must outlive every use of the machine's bus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "devices/boot_rom.hpp"
#include "devices/clint.hpp"
#include "devices/disk.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/test_finisher.hpp"
#include "devices/uart16550.hpp"
#include "devices/virtio_mmio.hpp"

namespace hs {

struct VirtConfig {
  uint64_t ram_size = 128ull << 20;
  std::string bootargs;  // /chosen/bootargs; omitted when empty
  // Initrd range [start, end) for /chosen; 0,0 = no initrd.
  uint64_t initrd_start = 0, initrd_end = 0;
  // virtio-blk disks, in slot order (the first is /dev/vda).
  std::vector<DriveSpec> drives;
  // A virtio-rng entropy device after the drives.
  bool rng = true;
};

class VirtBoard {
 public:
  static constexpr uint64_t kMromBase = BootRom::kBase;
  static constexpr uint64_t kMromSize = BootRom::kSize;
  static constexpr uint64_t kTestBase = 0x100000;
  static constexpr uint64_t kRtcBase = 0x101000;
  static constexpr uint64_t kClintBase = 0x2000000;
  static constexpr uint64_t kPlicBase = 0xc000000;
  static constexpr uint64_t kUartBase = 0x10000000;
  static constexpr uint64_t kRamBase = 0x80000000;
  static constexpr unsigned kUartIrq = 10;
  static constexpr unsigned kRtcIrq = 11;
  static constexpr uint64_t kVirtioBase = 0x10001000;
  static constexpr uint64_t kVirtioStride = VirtioMmio::kSize;
  static constexpr unsigned kVirtioSlots = 8;
  static constexpr unsigned kVirtioIrqBase = 1;  // slot n -> PLIC source 1 + n
  // QEMU virt's UART input clock (the driver derives baud divisors from it).
  static constexpr uint32_t kUartClockHz = 3686400;

  // Maps RAM, boot ROM and devices on m's bus, wires interrupts, registers
  // the CLINT and RTC as timed devices and resets the hart to the boot ROM.
  // The finisher's power-off stops the machine through m.request_exit(code).
  // `input` must outlive the board. Throws std::invalid_argument for a zero
  // or unmappable ram_size or more virtio devices than slots, and DiskError
  // (naming the file) when a drive's image or overlay cannot be used.
  VirtBoard(Machine& m, const VirtConfig& cfg, HostInput& input);
  VirtBoard(const VirtBoard&) = delete;
  VirtBoard& operator=(const VirtBoard&) = delete;

  // The configuration build_fdt() describes; bootargs/initrd may be changed
  // after construction (RAM size may not: RAM is already mapped).
  VirtConfig& config() { return cfg_; }
  const VirtConfig& config() const { return cfg_; }

  // The device tree for this board, as QEMU 7.2 virt builds it for one hart,
  // nodes in QEMU's order (without the devices we do not model: fw-cfg,
  // flash, PCI, PMU, platform bus; and without /chosen/rng-seed, which would
  // be an unrecorded host input). All 8 virtio-mmio slots are listed, empty
  // or not, as QEMU does. Throws std::runtime_error on a libfdt failure.
  std::vector<uint8_t> build_fdt() const;

  // Writes the reset vector: jump to `start_addr` with a1 = `fdt_addr`, and
  // fw_dynamic_info.next_addr = `next_addr` (S-mode kernel entry, 0 if none).
  void setup_reset_vector(uint64_t start_addr, uint64_t fdt_addr, uint64_t next_addr);

  // Where QEMU 7.2 (riscv_load_fdt) puts a device tree of `fdt_size` bytes:
  // just below the end of RAM, or below 3 GiB if RAM extends past it (so
  // 32-bit code can reach it), aligned down to 2 MiB.
  static uint64_t fdt_load_address(uint64_t ram_size, size_t fdt_size);

  // Moves pending console bytes from HostInput::console() into the UART,
  // at most as many as it can take now. Call it from the machine's poll
  // hook (an exact position); never blocks.
  void poll_input();

  Uart16550& uart() { return uart_; }
  Clint& clint() { return clint_; }
  Plic& plic() { return plic_; }
  BootRom& rom() { return rom_; }
  GoldfishRtc& rtc() { return rtc_; }
  // Transport of virtio slot n (0..7), empty or not.
  VirtioMmio& virtio(unsigned slot) { return *virtio_[slot]; }
  // Slot of the i-th virtio device (drives first, then rng): 7 - i.
  static constexpr unsigned virtio_slot(unsigned i) { return kVirtioSlots - 1 - i; }

  // Guest reset request (finisher 0x7777, hence SBI system reset). Without a
  // handler a reset powers off with code 0, like QEMU's -no-reboot.
  std::function<void()> on_reset;

 private:
  void request_reset();
  void add_virtio_devices();

  Machine& m_;
  VirtConfig cfg_;
  HostInput& input_;
  BootRom rom_;
  TestFinisher finisher_;
  Clint clint_;
  Plic plic_;
  Uart16550 uart_;
  GoldfishRtc rtc_;
  // Backends, in device order; the transports point into them.
  std::vector<std::unique_ptr<VirtioDevice>> virtio_devices_;
  std::vector<std::unique_ptr<VirtioMmio>> virtio_;
};

}  // namespace hs
