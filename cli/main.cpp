// hindsight: command-line entry point.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>

#include "cli/boot.hpp"
#include "cli/console.hpp"
#include "cli/user_error.hpp"
#include "core/machine.hpp"
#include "devices/virt.hpp"

namespace hs {
namespace {

constexpr int kExitUsage = 2;

struct RunOptions {
  BootOptions boot;
  std::string memory = "128M";
  std::string dump_dtb;
};

void add_machine_options(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("-m,--memory", o.memory, "RAM size (QEMU syntax: 512M, 2G; a plain number is MiB)")
      ->capture_default_str();
  cmd.add_option("--bios", o.boot.bios,
                 "Firmware image (ELF or raw, loaded at 0x80000000), or 'none' to start the kernel "
                 "in M-mode [default: Debian's OpenSBI fw_dynamic.bin]");
  cmd.add_option("--kernel", o.boot.kernel, "Kernel: RISC-V ELF or raw Image");
  cmd.add_option("--initrd", o.boot.initrd, "Initial ramdisk");
  cmd.add_option("--append", o.boot.append, "Kernel command line (/chosen/bootargs)");
  cmd.add_option("--dtb", o.boot.dtb, "Use this device tree blob instead of the generated one");
}

int cmd_run(RunOptions& o) {
  o.boot.ram_size = parse_size(o.memory);
  if (o.boot.ram_size < (1ull << 20) || o.boot.ram_size > (64ull << 30))
    throw UserError(fmt::format("-m {}: RAM size must be between 1M and 64G", o.memory));

  Machine m;
  VirtConfig cfg;
  cfg.ram_size = o.boot.ram_size;
  VirtBoard board(m, cfg);

  if (!o.dump_dtb.empty()) {
    // Like QEMU's dumpdtb: write the tree the guest would get, then exit.
    const BootInfo info = load_boot_images(m, board, o.boot);
    std::ofstream out(o.dump_dtb, std::ios::binary);
    out.write(reinterpret_cast<const char*>(info.fdt.data()), static_cast<std::streamsize>(info.fdt.size()));
    if (!out) throw UserError(fmt::format("{}: cannot write", o.dump_dtb));
    return 0;
  }

  load_boot_images(m, board, o.boot);

  Console console;
  board.uart().on_tx = [&console](uint8_t c) { console.output(c); };
  board.on_reset = [&m] { m.request_exit(0); };
  m.on_poll = [&] {
    uint8_t buf[64];
    const size_t n = console.read({buf, std::min(sizeof buf, board.uart().rx_space())});
    for (size_t i = 0; i < n; ++i) board.uart().push_rx(buf[i]);
    if (console.quit_requested()) m.request_stop();
  };
  m.idle_wait = [&console] { return console.wait(); };

  const StopReason why = m.run();
  console.flush();
  switch (why) {
    case StopReason::kExit:
      return *m.exit_code();
    case StopReason::kRequest:
      return 0;
    case StopReason::kIdle:
      fmt::print(stderr,
                 "hindsight: the guest waits for an interrupt that cannot arrive "
                 "(WFI with no timer armed and no console input) at position {}\n",
                 m.position().v);
      return 1;
    case StopReason::kTarget:
      break;
  }
  return 0;
}

int run_cli(int argc, char** argv) {
  CLI::App app{"hindsight: a record/replay reverse-debugging RISC-V virtual machine", "hindsight"};
  app.set_version_flag("--version", "hindsight 0.1.0");
  app.require_subcommand(1);

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Run a guest on the QEMU-virt-compatible board (console on stdin/stdout)");
  add_machine_options(*run_cmd, run);
  run_cmd->add_option("--dump-dtb", run.dump_dtb,
                      "Write the generated device tree blob to FILE and exit");
  run_cmd->footer(
      "Console: Ctrl-A x quits, Ctrl-A h shows help. The exit code is the guest's "
      "(test finisher / SBI shutdown).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "hindsight: {}\n", e.what());
    return kExitUsage;
  }
  if (run_cmd->parsed()) return cmd_run(run);
  return kExitUsage;
}

}  // namespace
}  // namespace hs

int main(int argc, char** argv) {
  try {
    return hs::run_cli(argc, argv);
  } catch (const hs::UserError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hindsight: {}\n", e.what());
    return hs::kExitUsage;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hindsight: internal error: {}\n", e.what());
    return 70;
  }
}
