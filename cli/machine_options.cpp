#include <fmt/format.h>

#include <stdexcept>

#include "cli/commands.hpp"
#include "core/user_error.hpp"

namespace hs {

void MachineOptions::add_to(CLI::App& cmd) {
  cmd.add_option("-m,--memory", memory, "RAM size (QEMU syntax: 512M, 2G; a plain number is MiB)")
      ->capture_default_str();
  cmd.add_option("--bios", boot.bios,
                 "Firmware image (ELF or raw, loaded at 0x80000000), or 'none' to start the kernel "
                 "in M-mode [default: Debian's OpenSBI fw_dynamic.bin]");
  cmd.add_option("--kernel", boot.kernel, "Kernel: RISC-V ELF or raw Image");
  cmd.add_option("--initrd", boot.initrd, "Initial ramdisk");
  cmd.add_option("--append", boot.append, "Kernel command line (/chosen/bootargs)");
  cmd.add_option("--dtb", boot.dtb, "Use this device tree blob instead of the generated one");
  cmd.add_option("--drive", drives,
                 "virtio-blk disk: file=IMG[,format=raw][,readonly=on][,overlay=FILE]. Guest "
                 "writes go to a copy-on-write overlay (temporary unless overlay=FILE); the image "
                 "itself is never modified. Repeatable.");
  cmd.add_flag("--no-rng", no_rng, "Leave out the virtio-rng entropy device");
}

MachineConfig MachineOptions::config() const {
  MachineConfig cfg;
  cfg.boot = boot;
  cfg.boot.ram_size = parse_size(memory);
  if (cfg.boot.ram_size < (1ull << 20) || cfg.boot.ram_size > (64ull << 30))
    throw UserError(fmt::format("-m {}: RAM size must be between 1M and 64G", memory));
  for (const std::string& d : drives) {
    try {
      cfg.drives.push_back(parse_drive_spec(d));
    } catch (const std::invalid_argument& e) {
      throw UserError(fmt::format("--drive {}: {}", d, e.what()));
    }
  }
  cfg.rng = !no_rng;
  return cfg;
}

}  // namespace hs
