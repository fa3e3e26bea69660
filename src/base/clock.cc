#include "base/clock.h"

#include <cstdlib>
#include <string>

namespace cdc {

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t MonoMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v < 0) {
    return Status::InvalidArgument("invalid duration '" + s + "': expected e.g. 500ms, 1s, 2m");
  }
  std::string unit(end);
  double ms;
  if (unit.empty() || unit == "s") ms = v * 1000;
  else if (unit == "ms") ms = v;
  else if (unit == "m" || unit == "min") ms = v * 60000;
  else if (unit == "h") ms = v * 3600000;
  else return Status::InvalidArgument("invalid duration unit in '" + s + "': use ms, s, m or h");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace cdc
