// HttpServer: the operator's window into a running pipeline: the routes of http/router.h (dashboard,
// /api/status, /metrics, /healthz, /api/snapshots) over GNU libmicrohttpd (Debian libmicrohttpd12,
// opened on first use: http/mhd_api.h). MHD reads the sockets and parses HTTP/1.0 and 1.1 (keep-alive,
// pipelining, chunked request bodies, HEAD, 100-continue); what stays ours is in http/http_request.h.
//
// Access: binds 127.0.0.1:8080 by default. Binding any non-loopback address requires a token; when a
// token is set it is checked on EVERY request (http/router.h); a missing or wrong token gets 401.
//
// Slow and idle clients: one MHD thread serves every connection through epoll
// (MHD_USE_EPOLL_INTERNAL_THREAD) with non-blocking sockets, so a client that sends half a request head
// and stops holds nothing but its socket and its memory pool (at most max_head_bytes), and /healthz is
// answered while any number of them wait, up to max_connections. Thread-per-connection with a cap was
// the alternative: there every stalled client holds a thread, and the cap, once stalled clients fill
// it, refuses the health probe itself. Answers are rendered on that thread from a hub snapshot
// (microseconds to a millisecond), so one thread is enough. Limits (HttpOptions, with their defaults):
//   - timeout_seconds: a connection on which nothing arrives or leaves for this long is closed without
//     an answer (MHD_OPTION_CONNECTION_TIMEOUT, an inactivity timeout: it covers idle keep-alive
//     connections, a stalled head or body and a client that stops reading). MHD has no deadline for a
//     whole head, so a client dripping one byte within each timeout keeps its connection until its head
//     reaches max_head_bytes (431): the connection limits below bound what such clients hold.
//   - max_connections (MHD_OPTION_CONNECTION_LIMIT): past it a new connection is closed at once.
//   - max_connections_per_ip (MHD_OPTION_PER_IP_CONNECTION_LIMIT) when bound to a non-loopback
//     address, so that one host cannot take every connection; not on loopback, where every client has
//     the same address (and the local health probe would share the limit with the clients it checks).
//   - max_head_bytes: the request line and header fields live in the connection's memory pool
//     (MHD_OPTION_CONNECTION_MEMORY_LIMIT); a head that does not fit gets 431 (414 for a request line
//     alone too long) and the connection is closed.
//   - max_header_fields: more get 431 and the connection closed (checked by us: MHD has no such option).
//   - max_body_bytes: the routes take no body (POST /api/snapshots reads its query); a declared
//     Content-Length beyond it gets 413 and the connection closed; a chunked body that grows beyond it
//     is cut off (the connection closed: MHD cannot answer in the middle of a body). A smaller body is
//     read and dropped.
//   - 100 requests per keep-alive connection, then Connection: close.
//
// Thread-safety: the server answers on its own thread and only calls hub->Snapshot() and
// options.snapshots. Start and Stop from one thread. The hub must outlive the server.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/router.h"
#include "jobs/pipeline_state.h"

namespace cdc::http {

struct HttpOptions {
  // "host:port", "port", ":port" or "[v6]:port". Default "127.0.0.1:8080". Port 0 picks a free port.
  std::string address = "127.0.0.1:8080";
  // Required when the host is not a loopback address; when set, enforced on every request.
  // Default empty. Never logged.
  std::string token;
  // Connections open at once (reading, answering or idle); past it new ones are closed. Default 256.
  int max_connections = 256;
  // Connections one client address may hold, on a non-loopback bind only (see above). Default 32.
  int max_connections_per_ip = 32;
  // Seconds without a byte received or sent after which a connection is closed. Default 5 (the
  // dashboard polls every second).
  int timeout_seconds = 5;
  // Request line + header fields, in bytes (the connection's MHD memory pool); 431 beyond. Default 16 KiB.
  size_t max_head_bytes = 16 * 1024;
  // Header fields in one request head; 431 beyond. Default 100 (browsers send about 20).
  size_t max_header_fields = 100;
  // Request body, in bytes; 413 (or the connection cut) beyond. Default 1024.
  int64_t max_body_bytes = 1024;
  // GET and POST /api/snapshots (incremental snapshots, `cdcpipe snapshot`): called on the server's
  // thread with the method and the raw query; returns the status and the JSON body. Unset: 404.
  SnapshotsHandler snapshots;
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
  // Stops accepting, closes every connection (an answer being written is cut off) and joins the
  // server's thread (MHD_stop_daemon); returns promptly even while clients hold idle or half-sent
  // connections. Idempotent.
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
// InvalidArgument: bad address, a non-loopback address without a token, or a limit out of range.
// Unavailable: the address cannot be bound (the message names it and the system's reason, e.g.
// "Address already in use"). FailedPrecondition: libmicrohttpd.so.12 cannot be loaded.
Result<std::unique_ptr<HttpServer>> StartHttpServer(const HttpOptions& options, const jobs::PipelineStateHub* hub);

}  // namespace cdc::http
