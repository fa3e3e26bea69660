// Named failpoints for fault-injection tests.
//
// A failpoint is a named place in the code where a test can make the process crash or fail on
// purpose, to prove that a protocol survives a crash at exactly that moment. They are armed from the
// environment, so tests can arm them in a child process:
//
//   CDCPIPE_FAILPOINTS="stream.after_files_written=crash,capture.before_flush=error:3"
//
// Actions: `crash` (the process dies at once with _exit(86), like kill -9: no flush, no destructors),
// `error` (CDC_FAILPOINT returns an Internal status), `pause` (the thread that reaches it waits there
// until shutdown is requested, then goes on: a test looks at the process in that state, then stops it
// with SIGINT/SIGTERM), each optionally with `:N` meaning "on the Nth time this point is reached"
// (1-based; default 1). Unknown names are ignored, so a test must
// also check the effect (the crash happened) to prove the failpoint fired.
//
// Thread-safety: Hit() may be called from any thread.
#pragma once

#include <string_view>

#include "base/status.h"

namespace cdc {

// The exit code of a `crash` failpoint, so tests can tell it from a real crash.
inline constexpr int kFailpointExitCode = 86;

// Reaches the named failpoint: returns OK when not armed (the common case costs one atomic load).
Status FailpointHit(std::string_view name);

// Re-reads CDCPIPE_FAILPOINTS (tests in the same process call this after setenv).
void FailpointReload();

}  // namespace cdc

#define CDC_FAILPOINT(name) CDC_RETURN_IF_ERROR(::cdc::FailpointHit(name))
