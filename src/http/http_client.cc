#include "http/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "http/http_request.h"
#include "http/http_server.h"

namespace cdc::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = 64 * 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// "" when ready; otherwise why not.
std::string WaitFor(int fd, short events, int timeout_ms) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left < 0 ? 0 : static_cast<int>(left));
    if (n > 0) return "";
    if (n == 0) return "timed out after " + std::to_string(timeout_ms) + " ms";
    if (errno != EINTR) return std::string("poll: ") + std::strerror(errno);
  }
}

// A connected non-blocking socket, or why there is none (the last address's error).
Result<int> Connect(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return Status::Unavailable(std::string("cannot resolve host: ") + ::gai_strerror(rc));
  std::string why = "no address";
  int result = -1;
  for (addrinfo* ai = found; ai != nullptr && result < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        why = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        continue;
      }
      std::string wait = WaitFor(fd, POLLOUT, timeout_ms);
      int err = 0;
      socklen_t len = sizeof err;
      if (wait.empty() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
        wait = std::strerror(err);
      }
      if (!wait.empty()) {
        why = "connect: " + wait;
        ::close(fd);
        continue;
      }
    }
    result = fd;
  }
  ::freeaddrinfo(found);
  if (result < 0) return Status::Unavailable(why);
  return result;
}

// Parses "HTTP/1.x NNN reason" and the header fields of `head` (without the empty line).
bool ParseResponseHead(std::string_view head, int* status, int64_t* content_length, bool* chunked) {
  *content_length = -1;
  *chunked = false;
  size_t nl = head.find('\n');
  std::string_view line = head.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return false;
  auto [p, ec] = std::from_chars(line.data() + 9, line.data() + 12, *status);
  if (ec != std::errc() || p != line.data() + 12 || *status < 100) return false;
  while (nl != std::string_view::npos) {
    head.remove_prefix(nl + 1);
    nl = head.find('\n');
    line = head.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (EqualsIgnoreCase(name, "Content-Length")) {
      int64_t n = -1;
      auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (e != std::errc() || q != value.data() + value.size() || n < 0) return false;
      *content_length = n;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      *chunked = ListHasToken(value, "chunked");
    }
  }
  return true;
}

// Decodes a complete chunked body (RFC 9112 section 7.1); false while incomplete or malformed.
bool Dechunk(std::string_view in, std::string* out) {
  out->clear();
  while (true) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) return false;
    size_t size = 0;
    auto [p, ec] = std::from_chars(in.data(), in.data() + nl, size, 16);
    if (ec != std::errc() || size > kMaxBody) return false;
    in.remove_prefix(nl + 1);
    if (size == 0) return true;  // trailer fields, if any, are ignored
    if (in.size() < size + 1) return false;
    out->append(in.substr(0, size));
    in.remove_prefix(size);
    if (in.substr(0, 2) == "\r\n") in.remove_prefix(2);
    else if (in.substr(0, 1) == "\n") in.remove_prefix(1);
    else return false;
  }
}

}  // namespace

Result<HttpGetReply> HttpGet(const std::string& address, const std::string& path, const std::string& token,
                             int timeout_ms) {
  return HttpCall("GET", address, path, token, timeout_ms);
}

Result<HttpGetReply> HttpCall(const std::string& method, const std::string& address, const std::string& path,
                              const std::string& token, int timeout_ms) {
  std::string a = address;
  if (a.rfind("https://", 0) == 0) {
    return Status::InvalidArgument("--http " + address + ": https is not supported; cdcpipe serves plain HTTP");
  }
  if (a.rfind("http://", 0) == 0) a = a.substr(7);
  while (!a.empty() && a.back() == '/') a.pop_back();
  CDC_ASSIGN_OR_RETURN(HostPort hp, ParseHttpAddress(a));
  auto fail = [&](const std::string& why) {
    return Status::Unavailable("http://" + a + path + ": " + why + " (is `cdcpipe run` running with --http " + a +
                               "?)");
  };
  Result<int> connected = Connect(hp.host, hp.port, timeout_ms);
  if (!connected.ok()) return fail(connected.status().message());
  Fd fd(*connected);

  std::string host = hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host;
  std::string request = method + " " + (path.empty() ? std::string("/") : path) + " HTTP/1.1\r\nHost: " + host + ":" +
                        std::to_string(hp.port) + "\r\nAccept: */*\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST") request += "Content-Length: 0\r\n";
  request += "\r\n";
  std::string_view pending = request;
  while (!pending.empty()) {
    ssize_t n = ::send(fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      pending.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::string wait = WaitFor(fd.get(), POLLOUT, timeout_ms);
      if (!wait.empty()) return fail("sending the request: " + wait);
    } else {
      return fail(std::string("sending the request: ") + std::strerror(errno));
    }
  }

  // Read until the connection closes (we asked for that) or the announced length has arrived.
  std::string data;
  size_t head_end = std::string::npos, body_start = 0;
  int status = 0;
  int64_t content_length = -1;
  bool chunked = false, eof = false;
  while (true) {
    if (head_end == std::string::npos) {
      size_t crlf = data.find("\r\n\r\n"), lf = data.find("\n\n");
      if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) {
        head_end = crlf;
        body_start = crlf + 4;
      } else if (lf != std::string::npos) {
        head_end = lf;
        body_start = lf + 2;
      }
      if (head_end != std::string::npos) {
        if (!ParseResponseHead(std::string_view(data).substr(0, head_end), &status, &content_length, &chunked)) {
          return fail("malformed response");
        }
        // 1xx answers precede the real one; drop them.
        if (status < 200) {
          data.erase(0, body_start);
          head_end = std::string::npos;
          continue;
        }
      } else if (data.size() > kMaxHead) {
        return fail("response header fields too large");
      }
    }
    if (head_end != std::string::npos) {
      std::string_view body = std::string_view(data).substr(body_start);
      if (status == 204 || status == 304) return HttpGetReply{status, ""};
      if (chunked) {
        std::string decoded;
        if (Dechunk(body, &decoded)) return HttpGetReply{status, std::move(decoded)};
        if (eof) return fail("response ended inside a chunked body");
      } else if (content_length >= 0) {
        if (body.size() >= static_cast<size_t>(content_length)) {
          return HttpGetReply{status, std::string(body.substr(0, static_cast<size_t>(content_length)))};
        }
        if (eof) return fail("response ended before its Content-Length");
      } else if (eof) {
        return HttpGetReply{status, std::string(body)};
      }
      if (body.size() > kMaxBody) return fail("response body too large");
    } else if (eof) {
      return fail(data.empty() ? "the server closed the connection without answering" : "response ended early");
    }
    char chunk[16384];
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      data.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      std::string wait = WaitFor(fd.get(), POLLIN, timeout_ms);
      if (!wait.empty()) return fail("reading the response: " + wait);
    } else {
      return fail(std::string("reading the response: ") + std::strerror(errno));
    }
  }
}

}  // namespace cdc::http
