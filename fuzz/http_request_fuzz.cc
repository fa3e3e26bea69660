// libFuzzer target for the HTTP request handling that stays ours behind libmicrohttpd
// (src/http/http_request.h, src/http/router.h): MHD reads the bytes and parses the request line and
// header fields; what it hands over (method, raw request-target, version, fields) then goes through
// AcceptRequestHead (target split, header count, Host, declared body size) and Route (token, methods,
// paths, /api/snapshots). The input is a request head as text; this harness cuts it into those parts
// the simplest way (request line at its first and last space, fields at their first colon), since
// MHD, not the harness, is what parses bytes in production. Beyond memory safety it checks:
//   - a refusal is 400, 413 or 431, ends the connection and says why; 431 exactly when there are more
//     fields than the limit; an accepted request has a path starting with '/' (or "*"), one Host for
//     HTTP/1.1, and for an origin-form target path + '?' + query gives back the target;
//   - with a token, every answer but 401 had the token (exact Bearer credentials or ?token=), the exact
//     Bearer field is never refused, 401 carries WWW-Authenticate, no answer contains the token;
//     without a token nothing is 401;
//   - the snapshots handler is only reached by GET or POST /api/snapshots, never by a POST a browser
//     sends from another site (Origin, Sec-Fetch-Site: cross-site);
//   - a 204 has no body nor type, every other answer has a type;
//   - the query-string helpers on raw bytes.
// Seeds: fuzz/corpus/http_request/; dictionary: fuzz/http_request.dict.
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target http_request_fuzz
//   build-fuzz/fuzz/http_request_fuzz -max_len=20000 -dict=fuzz/http_request.dict fuzz/corpus/http_request
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_request.h"
#include "http/router.h"

namespace {

using cdc::http::EqualsIgnoreCase;
using cdc::http::HttpRequest;
using cdc::http::HttpResponse;

constexpr std::string_view kToken = "s3cret+/=";

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The request line and fields of `text`, roughly as MHD would hand them over.
HttpRequest Cut(std::string_view text) {
  HttpRequest req;
  bool first = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      first = false;
      size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
      req.method = std::string(line.substr(0, sp1));
      if (sp1 != std::string_view::npos && sp2 > sp1) {
        req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
        req.minor_version = line.substr(sp2 + 1) == "HTTP/1.0" ? 0 : 1;
      } else if (sp1 != std::string_view::npos) {
        req.target = std::string(line.substr(sp1 + 1));
      }
      continue;
    }
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
  }
  return req;
}

const cdc::jobs::PipelineStateHub& Hub() {
  static cdc::jobs::PipelineStateHub* hub = [] {
    auto* h = new cdc::jobs::PipelineStateHub();
    h->Update([](cdc::jobs::PipelineState& s) {
      s.started_at_ms = 1;
      s.last_committed_lsn = "0/16B3748";
      s.tables["<img src=x onerror=alert(1)>"] = {3, 2};
    });
    return h;
  }();
  return *hub;
}

bool HasToken(const HttpRequest& req) {
  if (const std::string* auth = req.Header("Authorization")) {
    std::string_view a = *auth;
    if (a.size() > 7 && EqualsIgnoreCase(a.substr(0, 7), "Bearer ")) {
      a.remove_prefix(7);
      while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
      if (a == kToken) return true;
    }
  }
  return cdc::http::QueryParam(req.query, "token") == std::string(kToken);
}

void CheckAnswer(const HttpResponse& r) {
  Check(r.status >= 200 && r.status <= 599);
  if (r.status == 204) {
    Check(r.body.empty() && r.content_type.empty());
  } else {
    Check(!r.content_type.empty());
  }
  Check(r.body.find(kToken) == std::string::npos);
  for (const auto& [name, value] : r.headers) Check(value.find(kToken) == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  HttpRequest req = Cut(text);

  // Limits chosen by the input's length: 1-8 fields, 0-1023 body bytes.
  cdc::http::RequestLimits limits{1 + size % 8, static_cast<int64_t>(size % 1024)};
  std::optional<HttpResponse> refused = cdc::http::AcceptRequestHead(&req, limits);
  if (refused) {
    Check(refused->status == 400 || refused->status == 413 || refused->status == 431);
    Check(refused->close && !refused->body.empty() && refused->body.back() == '\n');
    Check((refused->status == 431) == (req.headers.size() > limits.max_header_fields));
    CheckAnswer(*refused);
  } else {
    Check(req.headers.size() <= limits.max_header_fields);
    Check(req.path == "*" || (!req.path.empty() && req.path.front() == '/'));
    size_t hosts = req.CountHeader("Host");
    Check(req.minor_version == 0 ? hosts <= 1 : hosts == 1);
    if (!req.target.empty() && req.target.front() == '/') {
      bool has_query = req.target.find('?') != std::string::npos;
      Check(req.path + (has_query ? "?" + req.query : "") == req.target);
    }
  }
  if (!refused) {
    bool snapshots_called = false;
    cdc::http::Routes routes{&Hub(), std::string(kToken), [&](std::string_view method, std::string_view query) {
                               snapshots_called = true;
                               (void)cdc::http::QueryParam(query, "table");
                               (void)cdc::http::QueryParam(query, "where");
                               return std::make_pair(202, std::string(method == "POST" ? "{\"state\":\"queued\"}" : "{}"));
                             }};
    HttpResponse with_token = cdc::http::Route(req, routes);
    CheckAnswer(with_token);
    Check((with_token.status == 401) == !HasToken(req));
    if (with_token.status == 401) {
      bool challenged = false;
      for (const auto& [name, value] : with_token.headers) challenged = challenged || name == "WWW-Authenticate";
      Check(challenged);
    }
    if (snapshots_called) {
      Check(req.path == "/api/snapshots" && (req.method == "GET" || req.method == "POST"));
      const std::string* site = req.Header("Sec-Fetch-Site");
      Check(!(req.method == "POST" && (req.Header("Origin") || (site && *site == "cross-site"))));
    }
    routes.token.clear();
    HttpResponse open = cdc::http::Route(req, routes);
    CheckAnswer(open);
    Check(open.status != 401);
  }

  // The helpers on raw bytes too (the query string and Connection values come straight from clients).
  std::string decoded;
  if (cdc::http::PercentDecode(text.substr(0, 512), &decoded)) Check(decoded.size() <= std::min<size_t>(size, 512));
  (void)cdc::http::QueryParam(text.substr(0, 512), "token");
  (void)cdc::http::ListHasToken(text.substr(0, 512), "close");
  return 0;
}
