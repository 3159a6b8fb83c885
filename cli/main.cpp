// hindsight: command-line entry point.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "cli/commands.hpp"
#include "core/user_error.hpp"
#include "devices/disk.hpp"
#include "jit/jit.hpp"
#include "replay/manifest.hpp"
#include "schemas/framing.hpp"

namespace hs {
namespace {

int run_cli(int argc, char** argv) {
  CLI::App app{"hindsight: a record/replay reverse-debugging RISC-V virtual machine", "hindsight"};
  app.set_version_flag("--version", "hindsight " HINDSIGHT_VERSION);
  app.require_subcommand(1);
  const Command commands[] = {
      add_run_command(app),
      add_record_command(app, join_command_line(argc, argv)),
      add_replay_command(app),
      add_info_command(app),
      add_dump_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "hindsight: {}\n", e.what());
    return kExitUsage;
  }
  for (const Command& c : commands)
    if (const int code = c(); code >= 0) return code;
  return kExitUsage;
}

}  // namespace
}  // namespace hs

namespace {
// The exit code, after stopping the LLVM tier's compile thread: exit()
// destroys LLVM's static objects, which a compilation still running would
// use. One that is mid-unit is not waited for: the process leaves without
// static destructors then (every file is closed by now; stdio is flushed).
int leave(int code) {
  if (!hs::jit::shutdown()) {
    std::fflush(nullptr);
    std::_Exit(code);
  }
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  // User mistakes and unusable files: one line on stderr, exit 2.
  auto fail = [](const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hindsight: {}\n", e.what());
    return hs::kExitUsage;
  };
  try {
    return leave(hs::run_cli(argc, argv));
  } catch (const hs::UserError& e) {
    return leave(fail(e));
  } catch (const hs::FormatError& e) {
    return leave(fail(e));
  } catch (const hs::DiskError& e) {
    return leave(fail(e));
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hindsight: internal error: {}\n", e.what());
    return leave(70);
  }
}
