// HttpServer: the operator's window into a running pipeline. Serves, from a PipelineStateHub snapshot:
//   GET /             the dashboard (HTML/JS/CSS embedded in the binary; polls /api/status)
//   GET /api/status   the snapshot as JSON (http/render.h)
//   GET /metrics      Prometheus text exposition 0.0.4 (http/render.h)
//   GET /healthz      200 "ok" while the server runs (readiness probe for scripts and compose)
//
// Access: binds 127.0.0.1:8080 by default. Binding any non-loopback address requires a token; when a
// token is set it is checked on EVERY request (Authorization: Bearer <token>, or ?token=<token> so a
// browser can open the dashboard); a missing or wrong token gets 401.
//
// Protocol: HTTP/1.1 and 1.0 (RFC 9110/9112) of our own, src/http/http_request.h: keep-alive up to 100
// requests a connection, 5 s to send a request, heads up to 16 KiB (431 beyond), no request bodies
// (413), GET and HEAD only (405), at most 64 accepted connections waiting for a thread (503 beyond).
//
// Thread-safety: the server answers on its own threads and only calls hub->Snapshot(). Start and
// Stop from one thread. The hub must outlive the server.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "jobs/pipeline_state.h"

namespace cdc::http {

struct HttpOptions {
  // "host:port", "port", ":port" or "[v6]:port". Default "127.0.0.1:8080". Port 0 picks a free port.
  std::string address = "127.0.0.1:8080";
  // Required when the host is not a loopback address; when set, enforced on every request.
  // Default empty. Never logged.
  std::string token;
  // Threads answering requests. Default 4.
  int threads = 4;
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
  // Stops accepting, ends open connections (an answer being written is cut off) and joins every
  // thread; returns promptly even while clients hold idle keep-alive connections. Idempotent.
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
// InvalidArgument: bad address, or a non-loopback address without a token.
// Unavailable: the address cannot be bound (in use, not local).
Result<std::unique_ptr<HttpServer>> StartHttpServer(const HttpOptions& options, const jobs::PipelineStateHub* hub);

}  // namespace cdc::http
