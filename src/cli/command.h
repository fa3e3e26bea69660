// The subcommands of `cdcpipe`. Each lives in its own <name>_cmd.cc and registers itself on the app
// with a Register* function called from main.cc. A subcommand's callback returns an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "base/status.h"

namespace cdc::cli {

// Exit codes, shared by every subcommand (documented in README.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,            // any failure not listed below
  kExitUsage = 2,            // bad flags (CLI11's own code)
  kExitBadInput = 3,         // invalid input data (CSV rows, corrupt files)
  kExitUnavailable = 4,      // a component cannot be reached (PostgreSQL, Kafka, S3)
  kExitAuth = 5,             // authentication failed or permission denied
  kExitPrecondition = 6,     // the environment is not as required (wal_level, missing bucket, a slot gone)
  kExitCheckFailed = 7,      // `cdcpipe status`: at least one check failed
  kExitInterrupted = 130,    // stopped by a second Ctrl-C
};

// Maps a failed Status to the exit code above.
int ExitCodeFor(const Status& status);

// Prints "cdcpipe <command>: <message>" on stderr and returns ExitCodeFor(status).
int Fail(std::string_view command, const Status& status);

// What a subcommand's Register function installs: the callback that runs after parsing.
using CommandMain = std::function<int()>;

// Registers `sub` so that main runs `fn` when it was chosen.
void SetCommandMain(CLI::App* sub, CommandMain fn);

}  // namespace cdc::cli
