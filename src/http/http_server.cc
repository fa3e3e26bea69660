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
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
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

// Limits that keep one client from holding the server (it may face a network with a token); the
// ones an operator may need to change are HttpOptions.
constexpr int64_t kMaxBody = 1024;           // a GET has no body; a small one is read and dropped -> 413 beyond
constexpr int kMaxRequestsPerConnection = 100;
constexpr size_t kReadChunk = 16 * 1024;     // read per connection per turn: a fast client cannot starve the rest
constexpr auto kLingerTime = std::chrono::milliseconds(500);  // draining after an answer that ends a connection
constexpr size_t kMaxLingerBytes = 256 * 1024;
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);  // out of descriptors, nothing to evict
constexpr int kListenBacklog = 128;

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
  // Rounded up: poll() waking a millisecond early would spin until the deadline.
  return left < 0 ? 0 : static_cast<int>(std::min<int64_t>(left + 1, 60'000));
}

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
  // One client connection. Owned by the server thread (Loop); nothing else touches it.
  struct Conn {
    enum class State {
      kReading,    // waiting for (the rest of) a request head, or its small body
      kWriting,    // handing `out` to the kernel
      kLingering,  // answered and shut down for writing; dropping what the client still sends
    };
    int fd = -1;
    State state = State::kReading;
    // kReading: idle_timeout after connecting or answering while `in` is empty, head_timeout after the
    // first byte of a request; kWriting: write_timeout after the answer was ready; kLingering: kLingerTime.
    SteadyClock::time_point deadline;
    std::string in;           // received, not yet consumed (pipelined requests stay here)
    size_t scanned = 0;       // bytes of `in` known to hold no end of the head
    size_t head_bytes = 0;    // > 0: `req` parsed from in[0, head_bytes), waiting for its body
    HttpRequest req;
    std::string out;          // the answer being written
    size_t out_done = 0;
    bool close_after = false; // end the connection once `out` is written
    int served = 0;
    size_t lingered = 0;      // bytes dropped while lingering
    bool eof = false;         // the client shut down its side: answer what arrived whole, then close
  };

  const jobs::PipelineStateHub* hub = nullptr;
  HttpOptions options;
  int listen_fd = -1;
  // Written once by Stop() and never read: stays readable, so the loop's poll() wakes up and it ends.
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  bool stopped = false;
  std::thread thread;
  std::vector<std::unique_ptr<Conn>> conns;  // server thread only
  SteadyClock::time_point accept_paused_until{};

  ~Impl() {
    for (auto& c : conns) ::close(c->fd);
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake)
      if (fd >= 0) ::close(fd);
  }

  std::chrono::milliseconds Ms(int ms) const { return std::chrono::milliseconds(ms); }

  Response Handle(const HttpRequest& req) const {
    // The token first: every request, any method or path, is refused without it.
    if (!options.token.empty() && !RequestHasToken(req, options.token)) {
      Response r = Text(401,
                        "unauthorized: send Authorization: Bearer <token> or ?token=<token> (the --http-token of "
                        "cdcpipe run)\n");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cdcpipe\"");
      return r;
    }
    if (req.path == "/api/snapshots" && options.snapshots) {
      if (req.method != "GET" && req.method != "POST") {
        Response r = Text(405, "method not allowed: /api/snapshots answers GET and POST\n");
        r.headers.emplace_back("Allow", "GET, POST");
        return r;
      }
      const std::string* site = req.Header("Sec-Fetch-Site");
      if (req.method == "POST" && (req.Header("Origin") || (site && *site == "cross-site"))) {
        return Text(403, "forbidden: a snapshot is started by `cdcpipe snapshot`, not from a web page\n");
      }
      auto [status, body] = options.snapshots(req.method, req.query);
      return Response{status, "application/json", std::move(body), {}};
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

  // Queues `bytes` as the connection's answer; `close_after` ends the connection once it is written.
  void Answer(Conn& c, std::string bytes, bool close_after) {
    c.out = std::move(bytes);
    c.out_done = 0;
    c.close_after = close_after;
    c.state = Conn::State::kWriting;
    c.deadline = SteadyClock::now() + Ms(options.write_timeout_ms);
  }

  void AnswerError(Conn& c, int status, const std::string& why) {
    Answer(c, Serialize(Text(status, why + "\n"), false, false, false), true);
  }

  // kReading: answers the request at the start of `in` if it has arrived whole. False when more bytes
  // are needed (or the connection ended).
  bool ParseAndAnswer(Conn& c) {
    if (c.head_bytes == 0) {
      // Parse only when an empty line may have arrived (or the head is already too long): a client
      // sending a byte at a time must not make every read re-parse up to max_head_bytes.
      if (c.in.size() <= options.max_head_bytes && !MayHoldEndOfHead(c.in, c.scanned)) {
        c.scanned = c.in.size();
        return false;
      }
      ParseResult parsed = ParseRequestHead(c.in, options.max_head_bytes, &c.req, options.max_header_fields);
      if (parsed.state == ParseState::kIncomplete) {
        c.scanned = c.in.size();
        return false;
      }
      if (parsed.state == ParseState::kError) {
        AnswerError(c, parsed.error_status, parsed.error);
        return true;
      }
      if (c.req.has_transfer_encoding) {
        AnswerError(c, 501, "request bodies are not accepted");
        return true;
      }
      if (c.req.content_length > kMaxBody) {
        AnswerError(c, 413, "request bodies are not accepted");
        return true;
      }
      c.head_bytes = parsed.consumed;
    }
    // A small body (a GET should have none) is read and dropped.
    size_t whole = c.head_bytes + static_cast<size_t>(c.req.content_length);
    if (c.in.size() < whole) return false;
    c.in.erase(0, whole);
    c.head_bytes = 0;
    c.scanned = 0;
    ++c.served;
    bool keep_alive = c.req.KeepAlive() && c.served < kMaxRequestsPerConnection && !stopping.load();
    Response res = Handle(c.req);
    Answer(c, Serialize(res, c.req.method == "HEAD", keep_alive, c.req.minor_version == 0), !keep_alive);
    return true;
  }

  // After an answer that ends the connection early (the client may still be sending): stop writing,
  // read and drop what arrives for a moment, so that closing does not reset the connection before
  // the client has read the answer (RFC 9112 section 9.6).
  void StartLingering(Conn& c) {
    ::shutdown(c.fd, SHUT_WR);
    c.state = Conn::State::kLingering;
    c.deadline = SteadyClock::now() + kLingerTime;
    c.in.clear();
    c.in.shrink_to_fit();
  }

  // Writes what the kernel takes. False when the connection must end now.
  bool Flush(Conn& c) {
    while (c.out_done < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // wait for POLLOUT
    }
    c.out.clear();
    c.out.shrink_to_fit();
    if (c.close_after) {
      StartLingering(c);
      return true;
    }
    c.state = Conn::State::kReading;
    // Pipelined bytes already here start the next head's clock; otherwise the connection idles.
    c.deadline = SteadyClock::now() + Ms(c.in.empty() ? options.idle_timeout_ms : options.head_timeout_ms);
    return true;
  }

  // Moves the connection on as far as it goes without waiting: answers every whole request it holds,
  // writes what the kernel takes. False when the connection must be closed.
  bool Drive(Conn& c) {
    while (true) {
      switch (c.state) {
        case Conn::State::kReading:
          if (!ParseAndAnswer(c)) return !c.eof;  // nothing more will come after an EOF
          break;
        case Conn::State::kWriting:
          if (!Flush(c)) return false;
          if (c.state == Conn::State::kWriting) return true;  // the kernel's buffer is full
          break;
        case Conn::State::kLingering:
          return !c.eof;
      }
    }
  }

  // The connection is readable (or hung up / failed: recv says which). False when it must be closed.
  bool OnReadable(Conn& c) {
    char chunk[4096];
    for (size_t got = 0; got < kReadChunk;) {
      ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
        if (c.state == Conn::State::kLingering) {
          c.lingered += static_cast<size_t>(n);
          if (c.lingered > kMaxLingerBytes) return false;
          continue;
        }
        // The first byte of a request starts the head's clock.
        if (c.in.empty() && c.state == Conn::State::kReading) {
          c.deadline = SteadyClock::now() + Ms(options.head_timeout_ms);
        }
        c.in.append(chunk, static_cast<size_t>(n));
        // Never buffer more than a head and a small body: past that the parse below answers 431.
        if (c.in.size() > options.max_head_bytes + static_cast<size_t>(kMaxBody)) break;
        continue;
      }
      if (n == 0) {  // the client is done sending: a request that came whole is still answered
        c.eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    return Drive(c);
  }

  // The deadline of `c` passed. False when it must be closed now.
  bool OnDeadline(Conn& c) {
    if (c.state != Conn::State::kReading) return false;  // a write that stalled, or lingering done
    if (c.in.find_first_not_of("\r\n") == std::string::npos) return false;  // idle: close silently
    AnswerError(c, 408, "request timeout: the request head did not arrive in " +
                            std::to_string(options.head_timeout_ms) + " ms");
    return Drive(c);
  }

  // At max_connections: closes the reading connection (idle or with an unfinished head) closest to its
  // deadline. False when every connection is being answered or lingering.
  bool EvictOne() {
    size_t victim = conns.size();
    for (size_t i = 0; i < conns.size(); ++i) {
      const Conn& c = *conns[i];
      if (c.state != Conn::State::kReading) continue;
      if (victim == conns.size() || c.deadline < conns[victim]->deadline) victim = i;
    }
    if (victim == conns.size()) return false;
    ::close(conns[victim]->fd);
    conns.erase(conns.begin() + static_cast<long>(victim));
    return true;
  }

  void AcceptAll() {
    for (int i = 0; i < 64; ++i) {  // a burst at a time; the loop comes back while more wait
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        // Out of descriptors: free one if a connection may go, else stop accepting for a moment
        // instead of spinning on a listener that stays readable.
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          if (EvictOne()) continue;
          accept_paused_until = SteadyClock::now() + kAcceptBackoff;
        }
        return;
      }
      if (conns.size() >= static_cast<size_t>(options.max_connections) && !EvictOne()) {
        // Every connection is being answered: say so at once rather than hold this one.
        std::string busy = Serialize(Text(503, "busy, try again\n"), false, false, false);
        (void)!::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->deadline = SteadyClock::now() + Ms(options.idle_timeout_ms);
      conns.push_back(std::move(c));
    }
  }

  // The server thread: one poll() over the wake pipe, the listener and every connection.
  void Loop() {
    std::vector<pollfd> fds;
    std::vector<Conn*> polled;  // polled[i] is fds[i + 2]
    while (!stopping.load()) {
      auto now = SteadyClock::now();
      fds.clear();
      polled.clear();
      fds.push_back({wake[0], POLLIN, 0});
      bool accepting = now >= accept_paused_until;
      fds.push_back({accepting ? listen_fd : -1, POLLIN, 0});
      auto next = accepting ? now + std::chrono::hours(1) : accept_paused_until;
      for (auto& c : conns) {
        // After an EOF only the answer being written is waited for (a closed side stays readable).
        short events = c->state == Conn::State::kWriting ? POLLOUT : c->eof ? 0 : POLLIN;
        fds.push_back({c->fd, events, 0});
        polled.push_back(c.get());
        next = std::min(next, c->deadline);
      }
      int n = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), MillisUntil(next));
      if (n < 0 && errno != EINTR) {
        log::Error("http", "poll failed: {}; the dashboard stops", std::strerror(errno));
        return;
      }
      if (stopping.load() || fds[0].revents) return;
      now = SteadyClock::now();
      std::vector<Conn*> closing;
      for (size_t i = 0; i < polled.size(); ++i) {
        Conn& c = *polled[i];
        short ev = fds[i + 2].revents;
        bool keep = true;
        if (ev & (POLLIN | POLLHUP | POLLERR)) keep = OnReadable(c);
        if (keep && (ev & POLLOUT) && c.state == Conn::State::kWriting) keep = Drive(c);
        if (keep && SteadyClock::now() >= c.deadline) keep = OnDeadline(c);
        if (!keep) closing.push_back(&c);
      }
      if (!closing.empty()) {
        std::erase_if(conns, [&](const std::unique_ptr<Conn>& c) {
          if (std::find(closing.begin(), closing.end(), c.get()) == closing.end()) return false;
          ::close(c->fd);
          return true;
        });
      }
      // After the connections: an accept that evicts must not pull a Conn from under `polled`.
      if (n > 0 && (fds[1].revents & POLLIN)) AcceptAll();
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
  if (impl_->thread.joinable()) impl_->thread.join();
  for (auto& c : impl_->conns) ::close(c->fd);
  impl_->conns.clear();
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
  if (options.max_connections < 1 || options.head_timeout_ms < 1 || options.idle_timeout_ms < 1 ||
      options.write_timeout_ms < 1 || options.max_head_bytes < 64 || options.max_header_fields < 1) {
    return Status::InvalidArgument("http: max_connections, the timeouts and max_header_fields must be >= 1 and "
                                   "max_head_bytes >= 64");
  }
  std::unique_ptr<HttpServer> s(new HttpServer());
  HttpServer::Impl& impl = *s->impl_;
  impl.hub = hub;
  impl.options = options;
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
  impl.thread = std::thread([&impl] { impl.Loop(); });
  // The socket already listens: connections made from here on queue in the backlog until accepted.
  log::Info("http", "dashboard and API on {} ({})", s->Url(), impl.options.token.empty() ? "no token" : "token required");
  return s;
}

}  // namespace cdc::http
