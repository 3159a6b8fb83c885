// The hindsight subcommands. Each registers its options on a CLI11 app and
// returns the process exit code when run. User mistakes throw UserError
// (one line on stderr, exit 2).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "replay/session.hpp"

namespace hs {

constexpr int kExitUsage = 2;

// QEMU-like machine options shared by run and record.
struct MachineOptions {
  BootOptions boot;
  std::string memory = "128M";
  std::vector<std::string> drives;
  bool no_rng = false;
  void add_to(CLI::App& cmd);
  MachineConfig config() const;  // validates; throws UserError
};

// --jit on|off|sync (run, record, replay). The default is on, or the
// HINDSIGHT_JIT environment variable (the test suite runs guests with it set
// to sync as well).
struct JitOption {
  std::string mode;
  std::string cache;  // --jit-cache
  void add_to(CLI::App& cmd);
  void apply() const;  // before any machine is built; throws UserError
};
// --stats's line about the LLVM tier (after the run's line).
void print_jit_stats(const Machine& m);

// Registers a subcommand; the returned function runs it after parsing.
using Command = std::function<int()>;
Command add_run_command(CLI::App& app);
Command add_record_command(CLI::App& app, const std::string& command_line);
Command add_replay_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_dump_command(CLI::App& app);

}  // namespace hs
