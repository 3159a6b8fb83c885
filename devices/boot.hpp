// Places firmware, kernel, initrd and device tree in guest memory the way
// QEMU's virt machine does (hw/riscv/boot.c), and programs the boot ROM.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hs {

class Machine;
class VirtBoard;

struct BootOptions {
  uint64_t ram_size = 128ull << 20;
  std::string bios;  // path, "none", or empty for the default firmware
  std::string kernel;
  std::string initrd;
  std::string append;
  std::string dtb;  // use this device tree instead of the generated one
};

// Debian's OpenSBI fw_dynamic.bin if installed, else empty.
std::string default_firmware();

// Size option parser with QEMU's rules: plain numbers are MiB; K/M/G/T
// suffixes (either case). Throws UserError.
uint64_t parse_size(const std::string& text);

// One placed image, for error messages and logging.
struct Placement {
  std::string what;
  uint64_t lo = 0, hi = 0;  // physical [lo, hi)
};

struct BootInfo {
  uint64_t start = 0;        // where the boot ROM jumps (firmware or kernel entry)
  uint64_t kernel_entry = 0;  // fw_dynamic next_addr (0 without kernel)
  uint64_t fdt_addr = 0;
  std::vector<uint8_t> fdt;  // the device tree blob placed at fdt_addr
  std::vector<Placement> placed;
};

// Reads and loads all images into `board`'s memory, builds or patches the
// device tree, and writes the reset vector. The board must already exist.
// Throws UserError (missing/unreadable file, wrong architecture, overlap,
// image not fitting in RAM).
BootInfo load_boot_images(Machine& m, VirtBoard& board, const BootOptions& opt);

// The device tree the guest will see (generated or --dtb patched with
// bootargs/initrd), given the initrd range (0,0 for none).
std::vector<uint8_t> guest_fdt(VirtBoard& board, const BootOptions& opt, uint64_t initrd_lo,
                               uint64_t initrd_hi);

}  // namespace hs
