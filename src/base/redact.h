// Removing secrets from text that may reach a log or an error message.
#pragma once

#include <string>
#include <string_view>

namespace cdc {

// A libpq connection string (URI "postgresql://user:pw@host/db?password=pw" or key=value
// "host=h password='p w'") with every password replaced by "********".
std::string RedactConninfo(std::string_view conninfo);

// `text` with the password of every "scheme://user:password@" in it replaced by "********" (a URL
// quoted in an error message, whatever its scheme).
std::string RedactUriPasswords(std::string_view text);

// `text` with every occurrence of `secret` replaced by "********" (no-op for an empty secret).
std::string RedactSecret(std::string_view text, std::string_view secret);

}  // namespace cdc
