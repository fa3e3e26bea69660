// libFuzzer target for the HTTP/1.1 request head parser (src/http/http_request.h), the part of the
// network-facing server that reads attacker-controlled bytes: any bytes must give a request, "read
// more", or a clean error (400, 431, 505 with a reason) — never crash, read out of bounds, or disagree
// with itself. Beyond memory safety it checks what HttpServer relies on:
//   - a parsed request is well-formed: a token method, a path starting with '/' (or "*"), HTTP/1.0-1.9,
//     one Host for 1.1, token header names, values without CR, LF or NUL, a Content-Length >= 0, never
//     both Content-Length and Transfer-Encoding;
//   - bytes after the head change nothing (pipelined requests), and every prefix of a parsed head is
//     kIncomplete (the server parses as bytes arrive);
//   - smaller max_head and max_fields agree with the defaults on every head that fits them, and
//     kIncomplete is only possible within max_head bytes (beyond it: 431), so a client cannot make the
//     server buffer more.
// Seeds: fuzz/corpus/http_request/; dictionary: fuzz/http_request.dict.
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target http_request_fuzz
//   build-fuzz/fuzz/http_request_fuzz -max_len=20000 -dict=fuzz/http_request.dict fuzz/corpus/http_request
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_request.h"

namespace {

using cdc::http::HttpRequest;
using cdc::http::ParseRequestHead;
using cdc::http::ParseResult;
using cdc::http::ParseState;

constexpr size_t kMaxHead = 16 * 1024;  // HttpOptions::max_head_bytes' default

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsTokenChar(c)) return false;
  return true;
}

bool SameRequest(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
         a.minor_version == b.minor_version && a.headers == b.headers && a.content_length == b.content_length &&
         a.has_transfer_encoding == b.has_transfer_encoding;
}

bool SameResult(const ParseResult& a, const HttpRequest& ra, const ParseResult& b, const HttpRequest& rb) {
  if (a.state != b.state) return false;
  if (a.state == ParseState::kDone) return a.consumed == b.consumed && SameRequest(ra, rb);
  if (a.state == ParseState::kError) return a.error_status == b.error_status && a.error == b.error;
  return true;
}

void CheckWellFormed(std::string_view buf, size_t max_head, const ParseResult& r, const HttpRequest& req) {
  switch (r.state) {
    case ParseState::kIncomplete:
      Check(buf.size() <= max_head);
      return;
    case ParseState::kError:
      Check(r.error_status == 400 || r.error_status == 431 || r.error_status == 505);
      Check(!r.error.empty());
      return;
    case ParseState::kDone:
      break;
  }
  Check(r.consumed > 0 && r.consumed <= buf.size() && r.consumed <= max_head);
  Check(buf[r.consumed - 1] == '\n');
  Check(IsToken(req.method));
  Check(!req.target.empty());
  Check(req.path == "*" || (!req.path.empty() && req.path.front() == '/'));
  Check(req.minor_version >= 0 && req.minor_version <= 9);
  Check(req.content_length >= 0);
  int hosts = 0;
  bool has_length = false;
  for (const auto& [name, value] : req.headers) {
    Check(IsToken(name));
    Check(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    Check(value.empty() || (value.front() != ' ' && value.back() != ' '));
    if (cdc::http::EqualsIgnoreCase(name, "Host")) ++hosts;
    if (cdc::http::EqualsIgnoreCase(name, "Content-Length")) has_length = true;
  }
  Check(req.minor_version == 0 ? hosts <= 1 : hosts == 1);
  Check(!(has_length && req.has_transfer_encoding));
  // The helpers the server calls on a parsed request.
  (void)req.KeepAlive();
  (void)req.Header("Authorization");
  (void)cdc::http::QueryParam(req.query, "token");
  std::string decoded;
  if (cdc::http::PercentDecode(req.path, &decoded)) Check(decoded.size() <= req.path.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  HttpRequest req;
  ParseResult r = ParseRequestHead(buf, kMaxHead, &req);
  CheckWellFormed(buf, kMaxHead, r, req);

  if (r.state == ParseState::kDone) {
    // Pipelined bytes after the head change nothing.
    std::string more(buf);
    more += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    HttpRequest again;
    Check(SameResult(r, req, ParseRequestHead(more, kMaxHead, &again), again));
    // Every prefix of the head is incomplete: a few, not all (quadratic).
    for (size_t cut : {r.consumed - 1, r.consumed / 2, r.consumed / 3, size_t{1}}) {
      if (cut >= r.consumed) continue;
      HttpRequest part;
      Check(ParseRequestHead(buf.substr(0, cut), kMaxHead, &part).state == ParseState::kIncomplete);
    }
  }

  // Small limits (64-319 bytes, 1-7 fields, chosen by the input's length) agree wherever the head fits.
  size_t small = 64 + size % 256, small_fields = 1 + size % 7;
  HttpRequest small_req;
  ParseResult s = ParseRequestHead(buf, small, &small_req, small_fields);
  CheckWellFormed(buf, small, s, small_req);
  Check(s.state != ParseState::kDone || small_req.headers.size() <= small_fields);
  if (r.state == ParseState::kDone && r.consumed <= small && req.headers.size() <= small_fields) {
    Check(SameResult(r, req, s, small_req));
  }
  if (s.state == ParseState::kDone) Check(SameResult(s, small_req, r, req));
  if (s.state == ParseState::kIncomplete) Check(r.state == ParseState::kIncomplete);

  // The helpers on raw bytes too (the query string and Connection values come straight from clients).
  std::string decoded;
  (void)cdc::http::PercentDecode(buf.substr(0, 512), &decoded);
  (void)cdc::http::QueryParam(buf.substr(0, 512), "token");
  (void)cdc::http::ListHasToken(buf.substr(0, 512), "close");
  return 0;
}
