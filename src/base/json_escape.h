// Appending a JSON string literal (RFC 8259): quotes, backslash and control characters escaped.
// Bytes >= 0x80 pass through unchanged (the input is expected to be UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace cdc {

void AppendJsonString(std::string* out, std::string_view s);

}  // namespace cdc
