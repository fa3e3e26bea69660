// Logging: one line per event on stderr, with time, level and component.
//
//   text: 2026-11-25T10:00:00.123Z INFO  capture: slot "cdcpipe" created at 0/1A2B3C4
//   json: {"ts":"2026-11-25T10:00:00.123Z","level":"info","component":"capture","msg":"..."}
//
// Messages never contain secrets: pass connection strings through base/redact.h first.
// Thread-safety: all functions may be called from any thread; lines are never interleaved.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace cdc::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };
enum class Format { kText, kJson };

// Defaults: kInfo, kText. Safe to call at any time.
void SetLevel(Level level);
void SetFormat(Format format);
Level GetLevel();
// Parses "debug|info|warn|error|off"; false when unknown.
bool ParseLevel(std::string_view text, Level* out);

void Write(Level level, std::string_view component, std::string_view message);

template <typename... Args>
void Debug(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kDebug) Write(Level::kDebug, component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kInfo) Write(Level::kInfo, component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kWarn) Write(Level::kWarn, component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kError) Write(Level::kError, component, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace cdc::log
