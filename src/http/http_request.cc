#include "http/http_request.h"

#include <charconv>

namespace cdc::http {
namespace {

// tchar (RFC 9110 section 5.6.2).
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsTokenChar(c)) return false;
  return true;
}

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

ParseResult Error(int status, std::string why) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

// Splits the request-target into path and query. Origin-form "/p?q"; absolute-form
// "http://authority/p?q" (RFC 9112 section 3.2.2: a server must accept it); asterisk-form "*".
bool SplitTarget(std::string_view target, HttpRequest* out) {
  std::string_view t = target;
  size_t scheme_end = t.find("://");
  if (!t.empty() && t.front() != '/' && t != "*") {
    if (scheme_end == std::string_view::npos) return false;
    std::string_view scheme = t.substr(0, scheme_end);
    if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) return false;
    t.remove_prefix(scheme_end + 3);
    size_t slash = t.find_first_of("/?");
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
  }
  size_t q = t.find('?');
  std::string_view path = t.substr(0, q);
  out->path = std::string(path.empty() ? std::string_view("/") : path);
  out->query = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
  return true;
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

bool HttpRequest::KeepAlive() const {
  bool close = false, keep_alive = false;
  for (const auto& [k, v] : headers) {
    if (!EqualsIgnoreCase(k, "Connection")) continue;
    close = close || ListHasToken(v, "close");
    keep_alive = keep_alive || ListHasToken(v, "keep-alive");
  }
  if (close) return false;
  return minor_version >= 1 || keep_alive;
}

ParseResult ParseRequestHead(std::string_view buf, size_t max_head, HttpRequest* out, size_t max_fields) {
  *out = HttpRequest();
  size_t pos = 0;
  // RFC 9112 section 2.2: ignore empty lines received before the request line (a few; more is abuse).
  for (int skipped = 0; skipped < 4; ++skipped) {
    if (buf.substr(pos, 2) == "\r\n") pos += 2;
    else if (buf.substr(pos, 1) == "\n") pos += 1;
    else break;
  }
  bool have_request_line = false;
  bool host_seen = false, length_seen = false;
  while (true) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string_view::npos || nl + 1 > max_head) {
      if (buf.size() > max_head) return Error(431, "request line and header fields exceed " + std::to_string(max_head) + " bytes");
      return ParseResult{};
    }
    std::string_view line = buf.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    for (char c : line) {
      if (c == '\r' || c == '\0') return Error(400, "control character in the request head");
    }
    if (!have_request_line) {
      have_request_line = true;
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return Error(400, "malformed request line");
      }
      std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                       version = line.substr(sp2 + 1);
      if (!IsToken(method) || target.empty()) return Error(400, "malformed request line");
      for (char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Error(400, "malformed request target");
      }
      if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
          version[5] > '9' || version[7] < '0' || version[7] > '9') {
        return Error(400, "malformed HTTP version");
      }
      if (version[5] != '1') return Error(505, "only HTTP/1.x is served");
      out->method = std::string(method);
      out->target = std::string(target);
      out->minor_version = version[7] - '0';
      if (!SplitTarget(target, out)) return Error(400, "malformed request target");
      continue;
    }
    if (line.empty()) break;  // end of the head
    if (line.front() == ' ' || line.front() == '\t') return Error(400, "obsolete line folding");
    if (out->headers.size() >= max_fields) {
      return Error(431, "more than " + std::to_string(max_fields) + " header fields");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Error(400, "malformed header field");
    }
    std::string_view name = line.substr(0, colon), value = TrimOws(line.substr(colon + 1));
    for (char c : value) {
      unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Error(400, "control character in a header field");
    }
    if (EqualsIgnoreCase(name, "Host")) {
      if (host_seen) return Error(400, "more than one Host");
      host_seen = true;
    } else if (EqualsIgnoreCase(name, "Content-Length")) {
      // RFC 9112 section 6.3: a list of identical values may be treated as one; anything else is an error.
      int64_t n = -1;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() || n < 0 ||
          (length_seen && n != out->content_length)) {
        return Error(400, "bad Content-Length");
      }
      length_seen = true;
      out->content_length = n;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      out->has_transfer_encoding = true;
    }
    out->headers.emplace_back(std::string(name), std::string(value));
  }
  if (out->minor_version >= 1 && !host_seen) return Error(400, "HTTP/1.1 request without Host");
  if (out->has_transfer_encoding && length_seen) return Error(400, "both Transfer-Encoding and Content-Length");
  ParseResult r;
  r.state = ParseState::kDone;
  r.consumed = pos;
  return r;
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
