// hindsight: command-line entry point.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "core/user_error.hpp"
#include "devices/disk.hpp"
#include "jit/jit.hpp"
#include "replay/manifest.hpp"
#include "schemas/framing.hpp"

namespace hs {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate nearest to `word`, if it is near enough to be a typo.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates)
    if (const size_t d = edit_distance(word, c); d < best_distance) {
      best = c;
      best_distance = d;
    }
  return best;
}

// A clearer line than CLI11's for a misspelt command or long option (git's
// and QEMU's habit: name what was probably meant); empty if there is none.
std::string suggestion(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  const std::string word = argv[1];
  std::vector<std::string> commands;
  CLI::App* command = nullptr;
  for (CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(c->get_name());
    if (c->get_name() == word) command = c;
  }
  if (!command) {
    const std::string near = nearest(word, commands);
    return fmt::format("unknown command '{}'{} (commands: {}; hindsight COMMAND --help)", word,
                       near.empty() ? "" : fmt::format(", did you mean '{}'?", near),
                       fmt::join(commands, ", "));
  }
  std::vector<std::string> options;
  for (const CLI::Option* o : command->get_options())
    for (const std::string& name : o->get_lnames()) options.push_back("--" + name);
  for (int k = 2; k < argc; ++k) {
    const std::string_view arg = argv[k];
    if (!arg.starts_with("--") || arg == "--") continue;
    const std::string name(arg.substr(0, arg.find('=')));
    if (std::find(options.begin(), options.end(), name) != options.end()) continue;
    const std::string near = nearest(name, options);
    return fmt::format("{}: unknown option '{}'{} (hindsight {} --help)", word, name,
                       near.empty() ? "" : fmt::format(", did you mean '{}'?", near), word);
  }
  return {};
}

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
  if (argc == 2 && std::string_view(argv[1]) == "help") {
    fmt::print("{}", app.help());
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    const std::string better = suggestion(app, argc, argv);
    fmt::print(stderr, "hindsight: {}\n", better.empty() ? std::string(e.what()) : better);
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
