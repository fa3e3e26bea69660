#include "http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "base/log.h"
#include "http/http_request.h"
#include "http/mhd_api.h"
#include "http/router.h"

namespace cdc::http {
namespace {

constexpr int kMaxRequestsPerConnection = 100;
constexpr int kListenBacklog = 128;

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
  // One client connection: MHD's socket_context (MHD_OPTION_NOTIFY_CONNECTION), created when MHD
  // accepts it and deleted when MHD closes it. Touched on the server thread only.
  struct Connection {
    HttpRequest req;          // the request under way: target from OnUri, the rest from the first OnAccess
    bool head_seen = false;   // OnAccess was called for `req` (its head is checked)
    int64_t body_bytes = 0;   // of `req`'s body, read and dropped
    int served = 0;           // requests answered on this connection
  };

  Routes routes;
  RequestLimits limits;
  MHD_Daemon* daemon = nullptr;
  std::atomic<bool> stopping{false};

  ~Impl() {
    if (daemon != nullptr) MHD_stop_daemon(daemon);
  }

  static void OnConnection(void*, MHD_Connection*, void** socket_context, MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      *socket_context = new Connection();
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      delete static_cast<Connection*>(*socket_context);
      *socket_context = nullptr;
    }
  }

  // MHD_OPTION_URI_LOG_CALLBACK: the request-target exactly as sent, before MHD decodes it (MHD's
  // query decoding turns '+' into ' '; ours keeps it, http_request.h). Starts a request on the
  // connection; the value returned is OnAccess's *con_cls.
  static void* OnUri(void*, const char* uri, MHD_Connection* connection) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    auto* c = info != nullptr ? static_cast<Connection*>(info->socket_context) : nullptr;
    if (c == nullptr) return nullptr;
    c->req = HttpRequest();
    c->req.target = uri;
    c->head_seen = false;
    c->body_bytes = 0;
    return c;
  }

  static MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
    static_cast<HttpRequest*>(cls)->headers.emplace_back(key, value != nullptr ? value : "");
    return MHD_YES;
  }

  static MHD_Result Queue(MHD_Connection* connection, const HttpResponse& r) {
    MHD_Response* response =
        MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    // RFC 9110 section 8.6: nothing to type in a 204 (MHD sends no Content-Length there).
    if (r.status != 204 && !r.content_type.empty()) MHD_add_response_header(response, "Content-Type", r.content_type.c_str());
    MHD_add_response_header(response, "Cache-Control", "no-store");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : r.headers) MHD_add_response_header(response, name.c_str(), value.c_str());
    // MHD closes the connection after an answer that carries Connection: close.
    if (r.close) MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned int>(r.status), response);
    MHD_destroy_response(response);
    return queued;
  }

  // MHD_AccessHandlerCallback: called once when a head has arrived, once per piece of body, and once
  // more at the end of the request. An answer queued on the first call ends the connection (MHD 0.9.75
  // cannot know where the unread body ends), so only refusals are; the routes answer on the last call.
  static MHD_Result OnAccess(void* cls, MHD_Connection* connection, const char*, const char* method,
                             const char* version, const char*, size_t* upload_data_size, void** con_cls) {
    Impl& s = *static_cast<Impl*>(cls);
    auto* c = static_cast<Connection*>(*con_cls);
    if (c == nullptr) return MHD_NO;  // no OnUri for this request: cannot happen, but never guess
    if (!c->head_seen) {
      c->head_seen = true;
      c->req.method = method;
      c->req.minor_version = std::strcmp(version, MHD_HTTP_VERSION_1_0) == 0 ? 0 : 1;
      MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &c->req);
      if (std::optional<HttpResponse> refused = AcceptRequestHead(&c->req, s.limits)) return Queue(connection, *refused);
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      c->body_bytes += static_cast<int64_t>(*upload_data_size);
      *upload_data_size = 0;
      // A chunked body past the limit (a declared one was refused with 413 above): MHD can only answer
      // before or after a body, so the connection is closed without one.
      return c->body_bytes > s.limits.max_body_bytes ? MHD_NO : MHD_YES;
    }
    HttpResponse r = Route(c->req, s.routes);
    r.close = r.close || ++c->served >= kMaxRequestsPerConnection || s.stopping.load();
    return Queue(connection, r);
  }

  // MHD's messages (a client's malformed request, a connection refused at a limit) are the clients'
  // business, not the operator's: debug level.
  static void OnMhdLog(void*, const char* format, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, format, ap);
    std::string_view text(buf);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    log::Debug("http", "libmicrohttpd: {}", text);
  }
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url() const {
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return "http://" + h + ":" + std::to_string(port_);
}

void HttpServer::Stop() {
  if (!impl_ || impl_->daemon == nullptr) return;
  impl_->stopping.store(true);
  // Closes the listening socket and every connection, then joins MHD's thread.
  MHD_stop_daemon(impl_->daemon);
  impl_->daemon = nullptr;
}

namespace {

// A listening socket on host:port, or why there is none (the last address's error). SO_REUSEADDR
// only: with SO_REUSEPORT a second `cdcpipe run` could bind the same port and silently take half the
// requests. Bound here rather than by MHD so that the error says which address and why.
Result<int> Listen(const std::string& address, const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return Status::Unavailable("http: cannot listen on " + address + ": " + ::gai_strerror(rc) +
                               "; pick another with --http HOST:PORT");
  }
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return Status::Unavailable("http: cannot listen on " + address + ": " + why +
                               " (another process on that port, or an address not local to this machine); pick "
                               "another with --http HOST:PORT");
  }
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
  bool loopback = IsLoopbackHost(hp.host);
  if (!loopback && options.token.empty()) {
    return Status::InvalidArgument("--http " + options.address +
                                   ": binding a non-loopback address exposes the pipeline's state; pass "
                                   "--http-token TOKEN (clients send Authorization: Bearer TOKEN) or bind 127.0.0.1");
  }
  if (options.max_connections < 1 || options.max_connections_per_ip < 1 || options.timeout_seconds < 1 ||
      options.max_header_fields < 1 || options.max_head_bytes < 4096 || options.max_body_bytes < 0) {
    return Status::InvalidArgument("http: max_connections, max_connections_per_ip, timeout_seconds and "
                                   "max_header_fields must be >= 1, max_head_bytes >= 4096, max_body_bytes >= 0");
  }
  CDC_RETURN_IF_ERROR(LoadLibmicrohttpd());
  std::unique_ptr<HttpServer> s(new HttpServer());
  HttpServer::Impl& impl = *s->impl_;
  impl.routes = Routes{hub, options.token, options.snapshots};
  impl.limits = RequestLimits{options.max_header_fields, options.max_body_bytes};
  CDC_ASSIGN_OR_RETURN(int fd, Listen(options.address, hp.host, hp.port));
  int port = BoundPort(fd);
  using Impl = HttpServer::Impl;
  // From here MHD owns `fd`: MHD_stop_daemon closes it.
  impl.daemon = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, nullptr, nullptr, &Impl::OnAccess, &impl,
      MHD_OPTION_EXTERNAL_LOGGER, &Impl::OnMhdLog, nullptr,
      MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(options.max_connections),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, loopback ? 0u : static_cast<unsigned int>(options.max_connections_per_ip),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(options.timeout_seconds),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.max_head_bytes,
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::OnConnection, nullptr,
      MHD_OPTION_URI_LOG_CALLBACK, &Impl::OnUri, nullptr,
      MHD_OPTION_END);
  if (impl.daemon == nullptr) {
    ::close(fd);
    return Status::Internal("http: libmicrohttpd did not start on " + options.address +
                            " (run with --log-level debug for its reason)");
  }
  s->host_ = hp.host;
  s->port_ = port;
  // The socket already listens: connections made from here on queue in the backlog until accepted.
  log::Info("http", "dashboard and API on {} ({})", s->Url(), options.token.empty() ? "no token" : "token required");
  return s;
}

}  // namespace cdc::http
