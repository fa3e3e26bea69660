#include "http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "http/dashboard.h"
#include "http/http_request.h"
#include "http/render.h"

namespace cdc::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Limits that keep one client from holding the server (it may face a network with a token).
constexpr size_t kMaxHead = 16 * 1024;       // request line + header fields -> 431 beyond
constexpr int64_t kMaxBody = 1024;           // a GET has no body; a small one is read and dropped -> 413 beyond
constexpr int kMaxRequestsPerConnection = 100;
constexpr auto kReadTimeout = std::chrono::seconds(5);   // to receive a whole request head (and body)
constexpr auto kWriteTimeout = std::chrono::seconds(10); // to hand a whole response to the kernel
constexpr auto kIdleCheck = std::chrono::milliseconds(100);  // how often an idle connection looks for waiters
constexpr size_t kMaxPendingConnections = 64;            // accepted, waiting for a worker -> 503 beyond
constexpr int kListenBacklog = 64;

// Compares without an early exit, so response time does not reveal how much of a guess was right.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

// Authorization: Bearer <token> (the scheme is case-insensitive, RFC 9110 section 11.1), or ?token=.
bool RequestHasToken(const HttpRequest& req, const std::string& token) {
  if (const std::string* auth = req.Header("Authorization")) {
    std::string_view a = *auth;
    size_t sp = a.find(' ');
    if (sp != std::string_view::npos && EqualsIgnoreCase(a.substr(0, sp), "Bearer")) {
      std::string_view credentials = a.substr(sp + 1);
      while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);
      if (ConstantTimeEquals(credentials, token)) return true;
    }
  }
  std::optional<std::string> param = QueryParam(req.query, "token");
  return param && ConstantTimeEquals(*param, token);
}

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the ones every response gets
};

Response Text(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
}

std::string_view Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// IMF-fixdate (RFC 9110 section 5.6.7), independent of the locale.
std::string HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// The response as bytes. `head_only`: HEAD, the same fields without the body. `keep_alive` false adds
// Connection: close; `http10_keep_alive` announces a persistent HTTP/1.0 connection.
std::string Serialize(const Response& r, bool head_only, bool keep_alive, bool http10) {
  std::string out;
  out.reserve(256 + (head_only ? 0 : r.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += Reason(r.status);
  out += "\r\nDate: " + HttpDate() + "\r\n";
  // RFC 9110 section 8.6: no Content-Length (and nothing to type) in a 204.
  if (r.status != 204) {
    if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  out += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  else if (http10) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  if (!head_only && r.status != 204) out += r.body;
  return out;
}

// Whether `buf` may hold an empty line (LF, optional CR, LF) that starts at or after `from` - 2.
bool MayHoldEndOfHead(std::string_view buf, size_t from) {
  for (size_t i = buf.find('\n', from >= 2 ? from - 2 : 0); i != std::string_view::npos; i = buf.find('\n', i + 1)) {
    if (buf.substr(i + 1, 1) == "\n" || buf.substr(i + 1, 2) == "\r\n") return true;
  }
  return false;
}

int MillisUntil(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

enum class Io { kOk, kEof, kTimeout, kStopped, kError };

}  // namespace

Result<HostPort> ParseHttpAddress(std::string_view address) {
  std::string_view host, port_text;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status::InvalidArgument("--http '" + std::string(address) + "': expected [IPv6]:PORT");
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      host = "127.0.0.1";
      port_text = address;
    } else {
      if (address.find(':') != colon) {
        return Status::InvalidArgument("--http '" + std::string(address) + "': write IPv6 hosts as [addr]:PORT");
      }
      host = colon == 0 ? std::string_view("127.0.0.1") : address.substr(0, colon);
      port_text = address.substr(colon + 1);
    }
  }
  int port = -1;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return Status::InvalidArgument("--http '" + std::string(address) +
                                   "': bad port (expected HOST:PORT with PORT 0-65535, e.g. 127.0.0.1:8080)");
  }
  if (host.empty()) return Status::InvalidArgument("--http '" + std::string(address) + "': empty host");
  return HostPort{std::string(host), port};
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  std::string h(host);
  if (::inet_pton(AF_INET, h.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

struct HttpServer::Impl {
  const jobs::PipelineStateHub* hub = nullptr;
  std::string token;
  int listen_fd = -1;
  // Written once by Stop() and never read: stays readable, so every poll() below wakes up.
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> pending;  // accepted connections waiting for a worker
  std::thread acceptor;
  std::vector<std::thread> workers;

  ~Impl() {
    for (int fd : pending) ::close(fd);
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake)
      if (fd >= 0) ::close(fd);
  }

  // Waits until `fd` is ready for `events`, the deadline passes, or Stop() is called.
  Io Wait(int fd, short events, SteadyClock::time_point deadline) {
    while (true) {
      if (stopping.load()) return Io::kStopped;
      pollfd p[2] = {{fd, events, 0}, {wake[0], POLLIN, 0}};
      int n = ::poll(p, 2, MillisUntil(deadline));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Io::kError;
      }
      if (p[1].revents) return Io::kStopped;
      if (n == 0) return Io::kTimeout;
      return Io::kOk;  // ready, or an error/hang-up the next read or write reports
    }
  }

  // Appends what `fd` has (up to 4 KiB) to `*buf`.
  Io ReadSome(int fd, std::string* buf, SteadyClock::time_point deadline) {
    while (true) {
      char chunk[4096];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf->append(chunk, static_cast<size_t>(n));
        return Io::kOk;
      }
      if (n == 0) return Io::kEof;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Io::kError;
      Io w = Wait(fd, POLLIN, deadline);
      if (w != Io::kOk) return w;
    }
  }

  Io WriteAll(int fd, std::string_view data) {
    auto deadline = SteadyClock::now() + kWriteTimeout;
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return Io::kError;
      Io w = Wait(fd, POLLOUT, deadline);
      if (w != Io::kOk) return w;
    }
    return Io::kOk;
  }

  // After an answer that ends the connection early (the client may still be sending): stop writing,
  // read and drop what arrives for a moment, so that closing does not reset the connection before
  // the client has read the answer (RFC 9112 section 9.6).
  void LingeringClose(int fd) {
    ::shutdown(fd, SHUT_WR);
    auto deadline = SteadyClock::now() + std::chrono::milliseconds(500);
    std::string sink;
    for (size_t total = 0; total < 256 * 1024;) {
      sink.clear();
      if (ReadSome(fd, &sink, deadline) != Io::kOk) break;
      total += sink.size();
    }
  }

  Response Handle(const HttpRequest& req) const {
    // The token first: every request, any method or path, is refused without it.
    if (!token.empty() && !RequestHasToken(req, token)) {
      Response r = Text(401,
                        "unauthorized: send Authorization: Bearer <token> or ?token=<token> (the --http-token of "
                        "cdcpipe run)\n");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cdcpipe\"");
      return r;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      Response r = Text(405, "method not allowed: this server answers GET and HEAD\n");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    const std::string& path = req.path;
    if (path == "/") {
      std::string_view page = DashboardHtml();
      return Response{200, "text/html; charset=utf-8", std::string(page), {}};
    }
    if (path == "/api/status") return Response{200, "application/json", RenderStatusJson(hub->Snapshot(), WallMillis()), {}};
    if (path == "/metrics") {
      return Response{200, std::string(kMetricsContentType), RenderMetrics(hub->Snapshot(), WallMillis()), {}};
    }
    if (path == "/healthz") return Text(200, "ok\n");
    // Browsers ask for it on their own; answer "nothing here" rather than 404 noise in the console.
    if (path == "/favicon.ico") return Response{204, "", "", {}};
    return Text(404, "not found\n");
  }

  bool OthersWaiting() {
    std::lock_guard<std::mutex> lock(mu);
    return !pending.empty();
  }

  // Answers requests on one connection until it closes, errs, idles past kReadTimeout, reaches
  // kMaxRequestsPerConnection, or Stop() is called.
  void Serve(int fd) {
    std::string buf;
    for (int served = 0; served < kMaxRequestsPerConnection;) {
      auto deadline = SteadyClock::now() + kReadTimeout;
      HttpRequest req;
      ParseResult parsed;
      size_t scanned = 0;  // bytes of buf known to hold no end of the head: parse only when one may be there
      while (true) {
        if (buf.size() > kMaxHead || MayHoldEndOfHead(buf, scanned)) {
          parsed = ParseRequestHead(buf, kMaxHead, &req);
          if (parsed.state != ParseState::kIncomplete) break;
        }
        scanned = buf.size();
        // An idle connection (kept alive, or opened ahead by a browser) gives its thread up as soon
        // as another connection waits for one; the client opens a new one when it needs it.
        bool idle = buf.empty();
        auto until = idle ? std::min(deadline, SteadyClock::now() + kIdleCheck) : deadline;
        Io io = ReadSome(fd, &buf, until);
        if (idle && io == Io::kTimeout && SteadyClock::now() < deadline) {
          if (OthersWaiting()) return;
          continue;
        }
        if (io == Io::kTimeout && buf.find_first_not_of("\r\n") != std::string::npos) {
          WriteAll(fd, Serialize(Text(408, "request timeout\n"), false, false, false));
        }
        if (io != Io::kOk) return;
      }
      if (parsed.state == ParseState::kError) {
        WriteAll(fd, Serialize(Text(parsed.error_status, parsed.error + "\n"), false, false, false));
        LingeringClose(fd);
        return;
      }
      buf.erase(0, parsed.consumed);
      if (req.has_transfer_encoding) {
        WriteAll(fd, Serialize(Text(501, "request bodies are not accepted\n"), false, false, false));
        LingeringClose(fd);
        return;
      }
      if (req.content_length > kMaxBody) {
        WriteAll(fd, Serialize(Text(413, "request bodies are not accepted\n"), false, false, false));
        LingeringClose(fd);
        return;
      }
      // A small body (a GET should have none) is read and dropped.
      while (buf.size() < static_cast<size_t>(req.content_length)) {
        if (ReadSome(fd, &buf, deadline) != Io::kOk) return;
      }
      buf.erase(0, static_cast<size_t>(req.content_length));
      ++served;
      // Hand the thread to a waiting connection rather than keep this one open.
      bool keep_alive = req.KeepAlive() && served < kMaxRequestsPerConnection && !stopping.load() && !OthersWaiting();
      Response res = Handle(req);
      if (WriteAll(fd, Serialize(res, req.method == "HEAD", keep_alive, req.minor_version == 0)) != Io::kOk) return;
      if (!keep_alive) {
        LingeringClose(fd);
        return;
      }
    }
  }

  void WorkerLoop() {
    while (true) {
      int fd;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return stopping.load() || !pending.empty(); });
        if (stopping.load()) return;
        fd = pending.front();
        pending.pop_front();
      }
      Serve(fd);
      ::close(fd);
    }
  }

  void AcceptLoop() {
    while (true) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      int n = ::poll(p, 2, -1);
      if (n < 0 && errno != EINTR) return;
      if (stopping.load() || p[1].revents) return;
      if (n <= 0 || !(p[0].revents & POLLIN)) continue;
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: back off instead of spinning on a listener that stays readable.
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (pending.size() < kMaxPendingConnections) {
          pending.push_back(fd);
          cv.notify_one();
          continue;
        }
      }
      // Every worker busy and the queue full: say so at once rather than hold the connection.
      std::string busy = Serialize(Text(503, "busy, try again\n"), false, false, false);
      (void)!::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
    }
  }
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url() const {
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return "http://" + h + ":" + std::to_string(port_);
}

void HttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping.store(true);
  if (impl_->wake[1] >= 0) (void)!::write(impl_->wake[1], "x", 1);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);  // no worker between its check and its wait
  }
  impl_->cv.notify_all();
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  for (auto& t : impl_->workers)
    if (t.joinable()) t.join();
  impl_->workers.clear();
  if (impl_->listen_fd >= 0) {
    ::close(impl_->listen_fd);
    impl_->listen_fd = -1;
  }
}

namespace {

// A listening socket on host:port (SO_REUSEADDR only: with SO_REUSEPORT a second `cdcpipe run`
// could bind the same port and silently take half the requests). -1 when nothing binds.
int Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return -1;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> StartHttpServer(const HttpOptions& options, const jobs::PipelineStateHub* hub) {
  CDC_ASSIGN_OR_RETURN(HostPort hp, ParseHttpAddress(options.address));
  if (!IsLoopbackHost(hp.host) && options.token.empty()) {
    return Status::InvalidArgument("--http " + options.address +
                                   ": binding a non-loopback address exposes the pipeline's state; pass "
                                   "--http-token TOKEN (clients send Authorization: Bearer TOKEN) or bind 127.0.0.1");
  }
  std::unique_ptr<HttpServer> s(new HttpServer());
  HttpServer::Impl& impl = *s->impl_;
  impl.hub = hub;
  impl.token = options.token;
  impl.listen_fd = Listen(hp.host, hp.port);
  int port = impl.listen_fd >= 0 ? BoundPort(impl.listen_fd) : -1;
  if (port <= 0) {
    return Status::Unavailable("http: cannot listen on " + options.address +
                               " (address in use or not local to this machine); pick another with --http HOST:PORT");
  }
  if (::pipe2(impl.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status::Internal("http: pipe: " + std::string(std::strerror(errno)));
  }
  s->host_ = hp.host;
  s->port_ = port;
  int threads = options.threads > 0 ? std::min(options.threads, 64) : 4;
  for (int i = 0; i < threads; ++i) impl.workers.emplace_back([&impl] { impl.WorkerLoop(); });
  impl.acceptor = std::thread([&impl] { impl.AcceptLoop(); });
  // The socket already listens: connections made from here on queue in the backlog until accepted.
  log::Info("http", "dashboard and API on {} ({})", s->Url(), impl.token.empty() ? "no token" : "token required");
  return s;
}

}  // namespace cdc::http
