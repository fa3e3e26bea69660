// Registration of every subcommand (one Register* per <name>_cmd.cc).
#pragma once

#include <CLI/CLI.hpp>

#include <string_view>
#include <utility>

namespace cdc::cli {

void RegisterSchema(CLI::App& app);  // schema_cmd.cc
void RegisterImport(CLI::App& app);  // import_cmd.cc
void RegisterCapture(CLI::App& app);  // capture_cmd.cc
void RegisterBatch(CLI::App& app);   // batch_cmd.cc
void RegisterStream(CLI::App& app);   // stream_cmd.cc
void RegisterRun(CLI::App& app);      // run_cmd.cc
void RegisterStatus(CLI::App& app);   // status_cmd.cc
void RegisterConfig(CLI::App& app);   // config_cmd.cc
void RegisterSnapshot(CLI::App& app); // snapshot_cmd.cc

// Every subcommand, in `--help` order, with the name it is invoked by.
inline constexpr std::pair<std::string_view, void (*)(CLI::App&)> kCommands[] = {
    {"schema", RegisterSchema}, {"import", RegisterImport}, {"capture", RegisterCapture},
    {"batch", RegisterBatch},   {"stream", RegisterStream}, {"run", RegisterRun},
    {"status", RegisterStatus}, {"snapshot", RegisterSnapshot}, {"config", RegisterConfig}};

inline void RegisterAll(CLI::App& app) {
  for (const auto& [name, reg] : kCommands) reg(app);
}

// Registers only the subcommand that `argv` names (after the global options, which take a value each:
// `--log-level X`, `--log-format X`, or their `--opt=X` forms), so that a run does not build the
// options of every subcommand to use one (about a millisecond of every command's start); anything
// else (no subcommand, an unknown one, --help, --version) registers them all, for help and errors.
inline void RegisterFor(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--log-level" || a == "--log-format") {
      ++i;
      continue;
    }
    if (a.starts_with("--log-level=") || a.starts_with("--log-format=")) continue;
    for (const auto& [name, reg] : kCommands) {
      if (a == name) {
        reg(app);
        return;
      }
    }
    break;
  }
  RegisterAll(app);
}

}  // namespace cdc::cli
