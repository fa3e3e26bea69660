// Time helpers: wall-clock for timestamps written to data, monotonic for measuring intervals,
// and parsing of durations given on the command line ("500ms", "1s", "2m").
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace cdc {

// Microseconds since the Unix epoch (wall clock).
int64_t WallMicros();
// Milliseconds since the Unix epoch (wall clock).
inline int64_t WallMillis() { return WallMicros() / 1000; }
// Microseconds on a monotonic clock with an arbitrary origin.
int64_t MonoMicros();

// Parses "250ms", "1s", "1.5s", "2m", "1h" (a bare number is seconds).
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace cdc
