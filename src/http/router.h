// The routes of the dashboard server, as a pure function from a parsed request to an answer (the
// transport is libmicrohttpd, http_server.cc):
//   GET /             the dashboard (HTML/JS/CSS embedded in the binary; polls /api/status)
//   GET /api/status   the hub's snapshot as JSON (http/render.h)
//   GET /metrics      Prometheus text exposition 0.0.4 (http/render.h)
//   GET /healthz      200 "ok"
//   GET /favicon.ico  204
//   GET /api/snapshots, POST /api/snapshots?table=T[&where=W]   incremental snapshots (Routes::snapshots);
//                     a POST that a browser sends from another site (an Origin or Sec-Fetch-Site:
//                     cross-site header) is refused (403), so a web page cannot start one
// HEAD is answered like GET (MHD leaves the body out); other methods get 405 with Allow.
// When Routes::token is set it is checked first, on every request: Authorization: Bearer <token> (the
// scheme case-insensitive) or ?token=<token> (percent-decoded, '+' kept); otherwise 401 with
// WWW-Authenticate, and the token never appears in an answer.
//
// Thread-safety: Route only reads `routes` and calls hub->Snapshot() and routes.snapshots.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "http/http_request.h"
#include "jobs/pipeline_state.h"

namespace cdc::http {

// GET and POST /api/snapshots: given the method and the raw query; returns the status and the JSON body.
using SnapshotsHandler = std::function<std::pair<int, std::string>(std::string_view method, std::string_view query)>;

struct Routes {
  const jobs::PipelineStateHub* hub = nullptr;  // REQUIRED; must outlive every Route call
  std::string token;                            // empty: no token required
  SnapshotsHandler snapshots;                   // unset: /api/snapshots is 404
};

// The answer to `req` (whose path and query AcceptRequestHead filled).
HttpResponse Route(const HttpRequest& req, const Routes& routes);

}  // namespace cdc::http
