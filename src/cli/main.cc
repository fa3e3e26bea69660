// cdcpipe: one binary, one subcommand per pipeline stage. Exceptions are caught here, once.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <map>

#include "base/log.h"
#include "base/shutdown.h"
#include "cli/command.h"
#include "cli/commands.h"

namespace cdc::cli {
namespace {
std::map<CLI::App*, CommandMain>& Mains() {
  static std::map<CLI::App*, CommandMain> m;
  return m;
}
}  // namespace

void SetCommandMain(CLI::App* sub, CommandMain fn) { Mains()[sub] = std::move(fn); }

}  // namespace cdc::cli

int main(int argc, char** argv) {
  using namespace cdc;
  CLI::App app{"cdcpipe: real-time change data capture from PostgreSQL to Kafka and Parquet"};
  app.set_version_flag("--version", "cdcpipe 0.1.0");
  app.require_subcommand(1);
  std::string log_level = "info", log_format = "text";
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")->default_val("info");
  app.add_option("--log-format", log_format, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  cli::RegisterFor(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error, exit 2 as the README says
    // (CLI11's own codes, e.g. 105 for a value a validator rejects, mean nothing to a user).
    return app.exit(e) == 0 ? cli::kExitOk : cli::kExitUsage;
  }
  log::Level level;
  if (!log::ParseLevel(log_level, &level)) {
    std::fprintf(stderr, "cdcpipe: unknown --log-level '%s' (use debug, info, warn, error, off)\n", log_level.c_str());
    return cli::kExitUsage;
  }
  log::SetLevel(level);
  log::SetFormat(log_format == "json" ? log::Format::kJson : log::Format::kText);
  InstallShutdownHandlers();
  try {
    for (CLI::App* sub : app.get_subcommands()) {
      auto it = cli::Mains().find(sub);
      if (it != cli::Mains().end()) return it->second();
    }
    std::fprintf(stderr, "cdcpipe: no subcommand ran\n");
    return cli::kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cdcpipe: internal error: %s\n", e.what());
    return cli::kExitError;
  }
}
