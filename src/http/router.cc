#include "http/router.h"

#include "base/clock.h"
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

HttpResponse MethodNotAllowed(std::string_view path, std::string allow) {
  HttpResponse r = TextResponse(405, "method not allowed: " + std::string(path) + " answers " + allow + "\n");
  r.headers.emplace_back("Allow", std::move(allow));
  return r;
}

}  // namespace

HttpResponse Route(const HttpRequest& req, const Routes& routes) {
  // The token first: every request, any method or path, is refused without it.
  if (!routes.token.empty() && !RequestHasToken(req, routes.token)) {
    HttpResponse r = TextResponse(
        401, "unauthorized: send Authorization: Bearer <token> or ?token=<token> (the --http-token of cdcpipe run)\n");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cdcpipe\"");
    return r;
  }
  const std::string& path = req.path;
  if (path == "/api/snapshots" && routes.snapshots) {
    if (req.method != "GET" && req.method != "POST") return MethodNotAllowed(path, "GET, POST");
    const std::string* site = req.Header("Sec-Fetch-Site");
    if (req.method == "POST" && (req.Header("Origin") || (site && *site == "cross-site"))) {
      return TextResponse(403, "forbidden: a snapshot is started by `cdcpipe snapshot`, not from a web page\n");
    }
    auto [status, body] = routes.snapshots(req.method, req.query);
    return HttpResponse{status, "application/json", std::move(body), {}, false};
  }
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("this server", "GET, HEAD");
  if (path == "/") return HttpResponse{200, "text/html; charset=utf-8", std::string(DashboardHtml()), {}, false};
  if (path == "/api/status") {
    return HttpResponse{200, "application/json", RenderStatusJson(routes.hub->Snapshot(), WallMillis()), {}, false};
  }
  if (path == "/metrics") {
    return HttpResponse{200, std::string(kMetricsContentType), RenderMetrics(routes.hub->Snapshot(), WallMillis()), {}, false};
  }
  if (path == "/healthz") return TextResponse(200, "ok\n");
  // Browsers ask for it on their own; answer "nothing here" rather than 404 noise in the console.
  if (path == "/favicon.ico") return HttpResponse{204, "", "", {}, false};
  return TextResponse(404, "not found\n");
}

}  // namespace cdc::http
