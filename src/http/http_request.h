// The part of HTTP request handling that stays ours once libmicrohttpd (http_server.cc) has read the
// bytes off the socket and parsed the request line and header fields: the request as the routes see
// it, the split of the raw request-target into path and query, the query-string decoding (MHD's would
// turn '+' into ' ', and tokens are compared byte for byte), and the checks MHD leaves to the
// application (header field count, Host, declared body size). Routing is http/router.h.
// Pure functions over values: no sockets, no MHD; fuzz/http_request_fuzz.cc fuzzes them with the router.
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
  std::string target;  // the request-target as sent, not decoded
  std::string path;    // target up to '?' (the authority of an absolute-form target dropped); not decoded
  std::string query;   // after '?', not decoded; empty when none
  int minor_version = 1;  // HTTP/1.<minor_version>
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as MHD parsed them

  // The first field named `name` (compared case-insensitively), or nullptr.
  const std::string* Header(std::string_view name) const;
  // How many fields are named `name` (case-insensitively).
  size_t CountHeader(std::string_view name) const;
};

// An answer, before MHD adds Date, Content-Length and Connection. `close` ends the connection after it.
struct HttpResponse {
  int status = 200;
  std::string content_type;  // none when empty (a 204)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type and the ones every answer gets
  bool close = false;
};

// A text/plain answer.
HttpResponse TextResponse(int status, std::string body);

// Splits a request-target into path and query: origin-form "/p?q", absolute-form "http://authority/p?q"
// (RFC 9112 section 3.2.2: a server must accept it; the path is "/" when it has none) and asterisk-form
// "*". False for anything else (the request gets 400).
bool SplitTarget(std::string_view target, std::string* path, std::string* query);

// The limits AcceptRequestHead checks (HttpOptions holds the operator's values).
struct RequestLimits {
  size_t max_header_fields = 100;  // 431 beyond
  int64_t max_body_bytes = 1024;   // declared Content-Length beyond it: 413
};

// Once MHD has parsed a request head into `req` (method, target, minor_version, headers): fills
// req->path and req->query (SplitTarget) and does what MHD leaves to the application: 431 for more
// than max_header_fields fields, 400 for a target SplitTarget refuses, for an HTTP/1.1 request without
// exactly one Host or an HTTP/1.0 one with several (MHD's own check, MHD_OPTION_STRICT_FOR_CLIENT,
// sends its response head twice in 0.9.75), 413 for a Content-Length above max_body_bytes. Every such
// answer ends the connection. nullopt: the request may go on to its body and the routes.
std::optional<HttpResponse> AcceptRequestHead(HttpRequest* req, const RequestLimits& limits);

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
