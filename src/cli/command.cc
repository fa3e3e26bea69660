#include "cli/command.h"

#include <cstdio>

#include "base/terminal_text.h"

namespace cdc::cli {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorruption: return kExitBadInput;
    case StatusCode::kUnavailable: return kExitUnavailable;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return kExitAuth;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kNotFound: return kExitPrecondition;
    case StatusCode::kCancelled: return kExitInterrupted;
    default: return kExitError;
  }
}

int Fail(std::string_view command, const Status& status) {
  // One line per error (libpq and curl messages carry "\n\tIs the server running ..." style hints), and
  // errors quote names from the database and the views file: no control sequence reaches the terminal.
  std::fprintf(stderr, "cdcpipe %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               TerminalLine(status.ToString()).c_str());
  return ExitCodeFor(status);
}

}  // namespace cdc::cli
