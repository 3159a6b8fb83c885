// hindsight: command-line entry point.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>
#include <exception>
#include <fstream>

#include "devices/boot.hpp"
#include "cli/console.hpp"
#include "core/user_error.hpp"
#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "devices/disk.hpp"
#include "devices/virt.hpp"

namespace hs {
namespace {

constexpr int kExitUsage = 2;

struct RunOptions {
  BootOptions boot;
  std::string memory = "128M";
  std::vector<std::string> drives;
  std::string dump_dtb;
  bool stats = false;
  bool no_pace = false;
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
  cmd.add_option("--drive", o.drives,
                 "virtio-blk disk: file=IMG[,format=raw][,readonly=on][,overlay=FILE]. Guest "
                 "writes go to a copy-on-write overlay (temporary unless overlay=FILE); the image "
                 "itself is never modified. Repeatable.");
}

void print_stats(const Machine& m, std::chrono::steady_clock::duration elapsed) {
  const double secs = std::chrono::duration<double>(elapsed).count();
  const Hart& h = const_cast<Machine&>(m).hart();
  fmt::print(stderr,
             "hindsight: position {} (instructions {}, idle {}), {:.3f} s, {:.0f} MIPS\n",
             m.position().v, h.instret, m.idle_positions(), secs,
             secs > 0 ? static_cast<double>(h.instret) / secs / 1e6 : 0.0);
}

int cmd_run(RunOptions& o) {
  o.boot.ram_size = parse_size(o.memory);
  if (o.boot.ram_size < (1ull << 20) || o.boot.ram_size > (64ull << 30))
    throw UserError(fmt::format("-m {}: RAM size must be between 1M and 64G", o.memory));

  VirtConfig cfg;
  cfg.ram_size = o.boot.ram_size;
  for (const std::string& d : o.drives) {
    try {
      cfg.drives.push_back(parse_drive_spec(d));
    } catch (const std::invalid_argument& e) {
      throw UserError(fmt::format("--drive {}: {}", d, e.what()));
    }
  }

  Console console;
  LiveHostInput input([&console](std::span<uint8_t> out) { return console.read(out); });
  Machine m;
  std::unique_ptr<VirtBoard> board_ptr;
  try {
    board_ptr = std::make_unique<VirtBoard>(m, cfg, input);
  } catch (const DiskError& e) {
    throw UserError(e.what());
  }
  VirtBoard& board = *board_ptr;

  if (!o.dump_dtb.empty()) {
    // Like QEMU's dumpdtb: write the tree the guest would get, then exit.
    const BootInfo info = load_boot_images(m, board, o.boot);
    std::ofstream out(o.dump_dtb, std::ios::binary);
    out.write(reinterpret_cast<const char*>(info.fdt.data()), static_cast<std::streamsize>(info.fdt.size()));
    if (!out) throw UserError(fmt::format("{}: cannot write", o.dump_dtb));
    return 0;
  }

  load_boot_images(m, board, o.boot);

  board.uart().on_tx = [&console](uint8_t c) { console.output(c); };
  board.on_reset = [&m] { m.request_exit(0); };
  m.on_poll = [&] {
    board.poll_input();
    if (console.quit_requested()) m.request_stop();
  };
  m.idle_wait = [&console] { return console.wait(); };
  if (!o.no_pace) {
    // A sleeping guest sleeps in real time, as on QEMU: `sleep 5` takes 5 s
    // and an idle shell costs no CPU. Busy guests still run flat out.
    m.pace_idle = [&console](Position, uint64_t positions) -> uint64_t {
      const uint64_t ns = positions * (1'000'000'000 / (Clock::kTimebaseHz * Clock::kPositionsPerTick));
      const auto start = std::chrono::steady_clock::now();
      if (!console.wait_for(ns)) return positions;
      const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - start);
      return static_cast<uint64_t>(waited.count()) * positions / std::max<uint64_t>(ns, 1);
    };
  }

  const auto started = std::chrono::steady_clock::now();
  const StopReason why = m.run();
  console.flush();
  if (o.stats) print_stats(m, std::chrono::steady_clock::now() - started);
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
  run_cmd->add_flag("--no-pace", run.no_pace,
                    "Let guest time jump through idle periods instead of sleeping in real time");
  run_cmd->add_flag("--stats", run.stats,
                    "At exit, print position, retired instructions, idle time and speed on stderr");
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
