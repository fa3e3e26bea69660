// Checks shared by the fuzz targets (fuzz/*_fuzz.cc), which are also compiled into their replay tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cdc::fuzz {

// Whether `message` starts "<file>:LINE:COLUMN: " with LINE and COLUMN 1-based decimal numbers, and a
// reason follows: the form every error about a position in a user's file takes.
inline bool NamesFileLineColumn(std::string_view message, std::string_view file) {
  if (message.substr(0, file.size()) != file || message.substr(file.size(), 1) != ":") return false;
  size_t i = file.size() + 1;
  for (int part = 0; part < 2; ++part) {
    uint64_t value = 0;
    size_t digits = 0;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9' && digits < 12) {
      value = value * 10 + static_cast<uint64_t>(message[i++] - '0');
      ++digits;
    }
    if (digits == 0 || value == 0 || message.substr(i, 1) != ":") return false;
    ++i;
  }
  return message.substr(i, 1) == " " && message.size() > i + 1;
}

}  // namespace cdc::fuzz
