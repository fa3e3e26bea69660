// HttpServer: the operator's window into a running pipeline. Serves, from a PipelineStateHub snapshot:
//   GET /             the dashboard (HTML/JS/CSS embedded in the binary; polls /api/status)
//   GET /api/status   the snapshot as JSON (http/render.h)
//   GET /metrics      Prometheus text exposition 0.0.4 (http/render.h)
//   GET /healthz      200 "ok" while the server runs (readiness probe for scripts and compose)
//   GET /api/snapshots, POST /api/snapshots?table=T[&where=W]   incremental snapshots (HttpOptions::snapshots);
//                     a POST that a browser sends from another site (an Origin or Sec-Fetch-Site: cross-site
//                     header) is refused (403), so a web page cannot start one
//
// Access: binds 127.0.0.1:8080 by default. Binding any non-loopback address requires a token; when a
// token is set it is checked on EVERY request (Authorization: Bearer <token>, or ?token=<token> so a
// browser can open the dashboard); a missing or wrong token gets 401.
//
// Protocol: HTTP/1.1 and 1.0 (RFC 9110/9112) of our own, src/http/http_request.h: keep-alive up to 100
// requests a connection, no request bodies (413; a small one, <= 1 KiB, is read and dropped), GET and
// HEAD only (405). Limits (HttpOptions, with their defaults): heads up to 16 KiB and 100 header fields
// (431 beyond).
//
// Slow and idle clients: one thread serves every connection with non-blocking sockets and poll(), so no
// connection waits for another (a client that sends half a request head and stops holds nothing but its
// socket). Every connection has a deadline: the whole request head within head_timeout_ms of its first
// byte (408 and closed after), the first byte of a request within idle_timeout_ms of connecting or of
// the previous response (closed silently after), the whole response within write_timeout_ms. At most
// max_connections are open; at the limit a new connection takes the place of the idle or unfinished one
// closest to its deadline, so a flood of stalled connections delays /healthz by no more than the time to
// accept it. Responses are rendered on that thread from a hub snapshot (microseconds to a millisecond).
//
// Thread-safety: the server answers on its own thread and only calls hub->Snapshot(). Start and
// Stop from one thread. The hub must outlive the server.
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/http_request.h"
#include "jobs/pipeline_state.h"

namespace cdc::http {

struct HttpOptions {
  // "host:port", "port", ":port" or "[v6]:port". Default "127.0.0.1:8080". Port 0 picks a free port.
  std::string address = "127.0.0.1:8080";
  // Required when the host is not a loopback address; when set, enforced on every request.
  // Default empty. Never logged.
  std::string token;
  // Connections open at once (reading, answering or idle); at the limit a new connection evicts the
  // idle or unfinished one closest to its deadline (503 when every one is being answered). Default 256.
  int max_connections = 256;
  // A request head (request line and header fields, and a small body) must arrive whole within this
  // many milliseconds of its first byte; 408 and the connection closed after. Default 5000.
  int head_timeout_ms = 5000;
  // A connection with no request under way (new, or kept alive after a response) is closed after this
  // many milliseconds without a byte. Default 5000 (the dashboard polls every second).
  int idle_timeout_ms = 5000;
  // A response must be handed to the client (the kernel) within this many milliseconds. Default 10000.
  int write_timeout_ms = 10000;
  // Request line + header fields, in bytes; 431 beyond. Default 16 KiB.
  size_t max_head_bytes = 16 * 1024;
  // Header fields in one request head; 431 beyond. Default kDefaultMaxHeaderFields (100).
  size_t max_header_fields = kDefaultMaxHeaderFields;
  // GET and POST /api/snapshots (incremental snapshots, `cdcpipe snapshot`): called on the server's
  // thread with the method and the raw query; returns the status and the JSON body. Unset: 404.
  std::function<std::pair<int, std::string>(std::string_view method, std::string_view query)> snapshots;
};

struct HostPort {
  std::string host;
  int port = 0;
};

// Parses an HttpOptions::address. InvalidArgument naming the text on a bad host or port.
Result<HostPort> ParseHttpAddress(std::string_view address);

// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

class HttpServer {
 public:
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound host and port (the real port when 0 was asked for).
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  // "http://host:port" (IPv6 hosts in brackets).
  std::string Url() const;
  // Stops accepting, ends open connections (an answer being written is cut off) and joins the
  // server's thread; returns promptly even while clients hold idle or half-sent connections. Idempotent.
  void Stop();

 private:
  friend Result<std::unique_ptr<HttpServer>> StartHttpServer(const HttpOptions&, const jobs::PipelineStateHub*);
  HttpServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  int port_ = 0;
};

// Binds and starts serving `hub` on a background thread; returns once the socket listens.
// InvalidArgument: bad address, a non-loopback address without a token, or a limit or timeout < 1.
// Unavailable: the address cannot be bound (in use, not local).
Result<std::unique_ptr<HttpServer>> StartHttpServer(const HttpOptions& options, const jobs::PipelineStateHub* hub);

}  // namespace cdc::http
