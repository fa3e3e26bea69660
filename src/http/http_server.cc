#include "http/http_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <httplib.h>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "http/dashboard.h"
#include "http/render.h"

namespace cdc::http {
namespace {

// Compares without an early exit, so response time does not reveal how much of a guess was right.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

bool RequestHasToken(const httplib::Request& req, const std::string& token) {
  std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0 &&
      ConstantTimeEquals(std::string_view(auth).substr(kBearer.size()), token)) {
    return true;
  }
  if (req.has_param("token") && ConstantTimeEquals(req.get_param_value("token"), token)) return true;
  return false;
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
  httplib::Server server;
  std::thread thread;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url() const {
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return "http://" + h + ":" + std::to_string(port_);
}

void HttpServer::Stop() {
  if (impl_ && impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

Result<std::unique_ptr<HttpServer>> StartHttpServer(const HttpOptions& options, const jobs::PipelineStateHub* hub) {
  CDC_ASSIGN_OR_RETURN(HostPort hp, ParseHttpAddress(options.address));
  if (!IsLoopbackHost(hp.host) && options.token.empty()) {
    return Status::InvalidArgument("--http " + options.address +
                                   ": binding a non-loopback address exposes the pipeline's state; pass "
                                   "--http-token TOKEN (clients send Authorization: Bearer TOKEN) or bind 127.0.0.1");
  }
  std::unique_ptr<HttpServer> s(new HttpServer());
  httplib::Server& srv = s->impl_->server;
  int threads = options.threads > 0 ? options.threads : 4;
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  srv.set_keep_alive_max_count(100);
  // httplib's default also sets SO_REUSEPORT, which would let a second `cdcpipe run` bind the same
  // port and silently take half the requests. Keep only SO_REUSEADDR (fast restart after TIME_WAIT).
  srv.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  std::string token = options.token;
  srv.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (token.empty() || RequestHasToken(req, token)) return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer realm=\"cdcpipe\"");
    res.set_content("unauthorized: send Authorization: Bearer <token> or ?token=<token> (the --http-token of cdcpipe run)\n",
                    "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
  srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
    std::string_view page = DashboardHtml();
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
  srv.Get("/api/status", [hub](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderStatusJson(hub->Snapshot(), WallMillis()), "application/json");
  });
  srv.Get("/metrics", [hub](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(hub->Snapshot(), WallMillis()), std::string(kMetricsContentType));
  });
  // Browsers ask for it on their own; answer "nothing here" rather than 404 noise in the console.
  srv.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });

  int port = hp.port;
  if (port == 0) {
    port = srv.bind_to_any_port(hp.host);
    if (port <= 0) port = -1;
  } else if (!srv.bind_to_port(hp.host, port)) {
    port = -1;
  }
  if (port < 0) {
    return Status::Unavailable("http: cannot listen on " + options.address +
                               " (address in use or not local to this machine); pick another with --http HOST:PORT");
  }
  s->host_ = hp.host;
  s->port_ = port;
  s->impl_->thread = std::thread([&srv] { srv.listen_after_bind(); });
  // httplib's stop() is a no-op until the listener thread has marked itself running; wait for that
  // so that Stop() right after Start cannot leave the thread blocked in accept().
  while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log::Info("http", "dashboard and API on {} ({})", s->Url(), token.empty() ? "no token" : "token required");
  return s;
}

}  // namespace cdc::http
