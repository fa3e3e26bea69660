#include "http/http_request.h"

#include <charconv>

namespace cdc::http {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

HttpResponse Refuse(int status, std::string why) {
  HttpResponse r = TextResponse(status, std::move(why) + "\n");
  r.close = true;
  return r;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

bool ListHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = TrimOws(value.substr(0, comma));
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (EqualsIgnoreCase(k, name)) return &v;
  return nullptr;
}

size_t HttpRequest::CountHeader(std::string_view name) const {
  size_t n = 0;
  for (const auto& field : headers) n += EqualsIgnoreCase(field.first, name) ? 1 : 0;
  return n;
}

HttpResponse TextResponse(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}, false};
}

bool SplitTarget(std::string_view target, std::string* path, std::string* query) {
  std::string_view t = target;
  if (t.empty()) return false;
  if (t.front() != '/' && t != "*") {
    size_t scheme_end = t.find("://");
    if (scheme_end == std::string_view::npos) return false;
    std::string_view scheme = t.substr(0, scheme_end);
    if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) return false;
    t.remove_prefix(scheme_end + 3);
    size_t slash = t.find_first_of("/?");
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
  }
  size_t q = t.find('?');
  std::string_view p = t.substr(0, q);
  *path = std::string(p.empty() ? std::string_view("/") : p);
  *query = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
  return true;
}

std::optional<HttpResponse> AcceptRequestHead(HttpRequest* r, const RequestLimits& limits) {
  const HttpRequest& req = *r;
  if (req.headers.size() > limits.max_header_fields) {
    return Refuse(431, "more than " + std::to_string(limits.max_header_fields) + " header fields");
  }
  if (!SplitTarget(req.target, &r->path, &r->query)) return Refuse(400, "malformed request target");
  size_t hosts = req.CountHeader("Host");
  if (req.minor_version >= 1 && hosts != 1) return Refuse(400, "an HTTP/1.1 request needs exactly one Host");
  if (hosts > 1) return Refuse(400, "more than one Host");
  if (const std::string* length = req.Header("Content-Length")) {
    // MHD refused a malformed one already; a value too large for int64 is still too large.
    int64_t n = 0;
    auto [p, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && n > limits.max_body_bytes)) {
      return Refuse(413, "request bodies beyond " + std::to_string(limits.max_body_bytes) + " bytes are not accepted");
    }
  }
  return std::nullopt;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      std::string value;
      if (!PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), &value)) {
        return std::nullopt;
      }
      return value;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace cdc::http
