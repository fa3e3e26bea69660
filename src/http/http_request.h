// The HTTP/1.1 request head parser behind HttpServer (RFC 9112 sections 2-6, RFC 9110 section 5).
// Pure functions over bytes: no sockets, so the edge cases are unit-tested directly.
//
// What it accepts: a request line `METHOD SP request-target SP HTTP/1.x` and header field lines,
// each ended by CRLF (a bare LF is accepted too, RFC 9112 section 2.2), up to an empty line. Leading
// empty lines before the request line are skipped. Rejected with 400: whitespace before a field's
// colon, obsolete line folding, control characters (a bare CR, NUL) in a line, a malformed request
// line, an HTTP/1.1 request without exactly one Host, a bad or conflicting Content-Length. HTTP/2+
// gets 505. A head longer than `max_head` bytes, or with more than `max_fields` header fields, gets 431.
// fuzz/http_request_fuzz.cc fuzzes it (and checks the properties the server relies on).
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdc::http {

struct HttpRequest {
  std::string method;  // case-sensitive (RFC 9110 section 9.1): "GET", "HEAD", ...
  std::string target;  // as sent
  std::string path;    // target up to '?' (the authority of an absolute-form target dropped); not decoded
  std::string query;   // after '?', not decoded; empty when none
  int minor_version = 1;  // HTTP/1.<minor_version>
  std::vector<std::pair<std::string, std::string>> headers;  // in order; values without surrounding OWS
  int64_t content_length = 0;   // 0 when absent
  bool has_transfer_encoding = false;

  // The first field named `name` (compared case-insensitively), or nullptr.
  const std::string* Header(std::string_view name) const;
  // Whether the connection may stay open after this request: HTTP/1.1 unless "Connection: close",
  // HTTP/1.0 only with "Connection: keep-alive".
  bool KeepAlive() const;
};

enum class ParseState { kIncomplete, kDone, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  size_t consumed = 0;    // kDone: bytes of the head, including the empty line
  int error_status = 0;   // kError: the status to answer with (400, 431, 505)
  std::string error;      // kError: why, for the response body
};

// Header fields a request head may carry by default (browsers send about 20).
inline constexpr size_t kDefaultMaxHeaderFields = 100;

// Parses the request head at the start of `buf` into `*out`. kIncomplete while no empty line has
// been seen within `max_head` bytes (read more and call again with the longer buffer); never once
// `buf` holds more than `max_head` bytes (431), so a caller buffers at most that much of a head.
ParseResult ParseRequestHead(std::string_view buf, size_t max_head, HttpRequest* out,
                             size_t max_fields = kDefaultMaxHeaderFields);

// Decodes %XX escapes; '+' stays '+'. False on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out);

// The percent-decoded value of the first `name=` parameter of a query string ("a=1&token=x"), or
// nullopt when absent or undecodable.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

// Whether the comma-separated list `value` (a Connection or Transfer-Encoding field) contains
// `token`, compared case-insensitively.
bool ListHasToken(std::string_view value, std::string_view token);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace cdc::http
