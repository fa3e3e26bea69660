#include "base/redact.h"

#include <cctype>

namespace cdc {
namespace {
constexpr std::string_view kMask = "********";

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

std::string RedactUri(std::string_view uri) {
  std::string out;
  size_t scheme_end = uri.find("://");
  size_t auth_start = scheme_end + 3;
  size_t auth_end = uri.find_first_of("/?", auth_start);
  if (auth_end == std::string_view::npos) auth_end = uri.size();
  std::string_view authority = uri.substr(auth_start, auth_end - auth_start);
  size_t at = authority.rfind('@');
  out.append(uri.substr(0, auth_start));
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1));
      out.append(kMask);
    } else {
      out.append(userinfo);
    }
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  // Query parameters: password=...
  std::string_view rest = uri.substr(auth_end);
  size_t i = 0;
  while (i < rest.size()) {
    char c = rest[i];
    out.push_back(c);
    ++i;
    if ((c == '?' || c == '&') && StartsWithNoCase(rest.substr(i), "password=")) {
      out.append("password=");
      out.append(kMask);
      i += 9;
      while (i < rest.size() && rest[i] != '&') ++i;
    }
  }
  return out;
}

std::string RedactKeyValue(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    bool at_key_start = (i == 0 || std::isspace(static_cast<unsigned char>(s[i - 1])));
    if (at_key_start && StartsWithNoCase(s.substr(i), "password")) {
      size_t j = i + 8;
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && s[j] == '=') {
        ++j;
        while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        // Skip the value: quoted with '...' (backslash escapes) or up to whitespace.
        if (j < s.size() && s[j] == '\'') {
          ++j;
          while (j < s.size() && s[j] != '\'') j += (s[j] == '\\' && j + 1 < s.size()) ? 2 : 1;
          if (j < s.size()) ++j;
        } else {
          while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        }
        out.append("password=");
        out.append(kMask);
        i = j;
        continue;
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

}  // namespace

std::string RedactUriPasswords(std::string_view text) {
  std::string s(text);
  for (size_t p = s.find("://"); p != std::string::npos; p = s.find("://", p + 3)) {
    size_t start = p + 3;
    size_t end = s.find_first_of("/?# \t\r\n'", start);
    if (end == std::string::npos) end = s.size();
    size_t at = s.rfind('@', end == 0 ? 0 : end - 1);
    if (at == std::string::npos || at < start) continue;
    size_t colon = s.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    s.replace(colon + 1, at - colon - 1, kMask);
  }
  return s;
}

std::string RedactConninfo(std::string_view conninfo) {
  // A URI is anything of the form <scheme>://...: not only postgresql:// and postgres:// (what libpq
  // accepts), so that a mistyped scheme ("postgress://u:pw@h") does not print its password either.
  size_t scheme_end = conninfo.find("://");
  if (scheme_end != std::string_view::npos && scheme_end > 0 &&
      conninfo.substr(0, scheme_end).find_first_of(" \t\r\n=") == std::string_view::npos) {
    return RedactUri(conninfo);
  }
  return RedactUriPasswords(RedactKeyValue(conninfo));
}

std::string RedactSecret(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (secret.empty()) return out;
  size_t pos = 0;
  while ((pos = out.find(secret, pos)) != std::string::npos) {
    out.replace(pos, secret.size(), kMask);
    pos += kMask.size();
  }
  return out;
}

}  // namespace cdc
