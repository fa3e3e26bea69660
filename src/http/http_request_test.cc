// What stays ours behind libmicrohttpd: the target split, the head checks, the query string and the
// routes, on values (http_server_test.cc drives the same through real sockets).
#include "http/http_request.h"

#include <gtest/gtest.h>

#include "http/router.h"

namespace cdc::http {
namespace {

HttpRequest Request(std::string method, std::string target, std::vector<std::pair<std::string, std::string>> headers,
                    int minor_version = 1) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  r.minor_version = minor_version;
  return r;
}

TEST(SplitTarget, OriginAbsoluteAndAsteriskForms) {
  std::string path, query;
  ASSERT_TRUE(SplitTarget("/api/status?x=1&token=abc", &path, &query));
  EXPECT_EQ(path, "/api/status");
  EXPECT_EQ(query, "x=1&token=abc");
  ASSERT_TRUE(SplitTarget("/a%20b?", &path, &query));
  EXPECT_EQ(path, "/a%20b");  // not decoded
  EXPECT_EQ(query, "");
  ASSERT_TRUE(SplitTarget("http://example:8080/metrics?token=t", &path, &query));
  EXPECT_EQ(path, "/metrics");
  EXPECT_EQ(query, "token=t");
  ASSERT_TRUE(SplitTarget("HTTPS://example", &path, &query));
  EXPECT_EQ(path, "/");
  ASSERT_TRUE(SplitTarget("http://example?q", &path, &query));
  EXPECT_EQ(path, "/");
  EXPECT_EQ(query, "q");
  ASSERT_TRUE(SplitTarget("*", &path, &query));
  EXPECT_EQ(path, "*");
  for (const char* bad : {"", "nothing", "ftp://x/y", "example.com:80"}) {
    EXPECT_FALSE(SplitTarget(bad, &path, &query)) << bad;
  }
}

TEST(AcceptRequestHead, FillsPathAndQuery) {
  HttpRequest r = Request("GET", "/healthz?a=b", {{"Host", "x"}});
  EXPECT_EQ(AcceptRequestHead(&r, RequestLimits{}), std::nullopt);
  EXPECT_EQ(r.path, "/healthz");
  EXPECT_EQ(r.query, "a=b");
}

TEST(AcceptRequestHead, Refusals) {
  struct Case {
    HttpRequest req;
    int status;
    const char* why;
  } cases[] = {
      {Request("GET", "/", {}), 400, "an HTTP/1.1 request needs exactly one Host\n"},
      {Request("GET", "/", {{"Host", "a"}, {"host", "b"}}), 400, "an HTTP/1.1 request needs exactly one Host\n"},
      {Request("GET", "/", {{"Host", "a"}, {"HOST", "b"}}, 0), 400, "more than one Host\n"},
      {Request("GET", "nothing", {{"Host", "a"}}), 400, "malformed request target\n"},
      {Request("POST", "/", {{"Host", "a"}, {"Content-Length", "1025"}}), 413,
       "request bodies beyond 1024 bytes are not accepted\n"},
      {Request("POST", "/", {{"Host", "a"}, {"Content-Length", "99999999999999999999999"}}), 413,
       "request bodies beyond 1024 bytes are not accepted\n"},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.why);
    std::optional<HttpResponse> r = AcceptRequestHead(&c.req, RequestLimits{});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, c.status);
    EXPECT_EQ(r->body, c.why);
    EXPECT_TRUE(r->close);
    EXPECT_EQ(r->content_type, "text/plain; charset=utf-8");
  }
  // HTTP/1.0 needs no Host; a body within the limit goes on.
  HttpRequest old = Request("GET", "/", {}, 0);
  EXPECT_EQ(AcceptRequestHead(&old, RequestLimits{}), std::nullopt);
  HttpRequest small = Request("POST", "/", {{"Host", "a"}, {"Content-Length", "1024"}});
  EXPECT_EQ(AcceptRequestHead(&small, RequestLimits{}), std::nullopt);
}

TEST(AcceptRequestHead, HeaderFieldLimit) {
  std::vector<std::pair<std::string, std::string>> fields = {{"Host", "x"}};
  for (int i = 1; i < 10; ++i) fields.emplace_back("X-" + std::to_string(i), "v");
  HttpRequest ten = Request("GET", "/", fields);
  EXPECT_EQ(AcceptRequestHead(&ten, RequestLimits{10, 0}), std::nullopt);
  fields.emplace_back("X-10", "v");
  HttpRequest eleven = Request("GET", "/", fields);
  std::optional<HttpResponse> r = AcceptRequestHead(&eleven, RequestLimits{10, 0});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->body, "more than 10 header fields\n");
}

class RouteTest : public ::testing::Test {
 protected:
  RouteTest() {
    hub_.Update([](jobs::PipelineState& s) {
      s.started_at_ms = 1;
      s.last_committed_lsn = "0/ABC";
    });
    routes_.hub = &hub_;
  }
  HttpResponse Get(std::string method, std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Host", "x");
    HttpRequest r = Request(std::move(method), std::move(target), std::move(headers));
    EXPECT_EQ(AcceptRequestHead(&r, RequestLimits{}), std::nullopt);
    return Route(r, routes_);
  }
  jobs::PipelineStateHub hub_;
  Routes routes_;
};

TEST_F(RouteTest, Paths) {
  EXPECT_EQ(Get("GET", "/").content_type, "text/html; charset=utf-8");
  HttpResponse status = Get("GET", "/api/status?x=1");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.content_type, "application/json");
  EXPECT_NE(status.body.find("0/ABC"), std::string::npos);
  EXPECT_NE(Get("HEAD", "/metrics").body.find("# TYPE"), std::string::npos);  // MHD leaves the body out of HEAD
  EXPECT_EQ(Get("GET", "/healthz").body, "ok\n");
  HttpResponse icon = Get("GET", "/favicon.ico");
  EXPECT_EQ(icon.status, 204);
  EXPECT_EQ(icon.content_type, "");
  EXPECT_EQ(Get("GET", "/healthz/").status, 404);
  EXPECT_EQ(Get("GET", "/api/snapshots").status, 404);  // no snapshots handler
  HttpResponse post = Get("POST", "/api/status");
  EXPECT_EQ(post.status, 405);
  ASSERT_EQ(post.headers.size(), 1u);
  EXPECT_EQ(post.headers[0], std::make_pair(std::string("Allow"), std::string("GET, HEAD")));
}

TEST_F(RouteTest, TokenOnEveryRequest) {
  routes_.token = "s3cret+/=";
  for (const char* path : {"/", "/api/status", "/metrics", "/healthz", "/favicon.ico", "/nope"}) {
    SCOPED_TRACE(path);
    HttpResponse none = Get("GET", path);
    EXPECT_EQ(none.status, 401);
    ASSERT_EQ(none.headers.size(), 1u);
    EXPECT_EQ(none.headers[0].second, "Bearer realm=\"cdcpipe\"");
    EXPECT_EQ(none.body.find("s3cret"), std::string::npos);
    EXPECT_EQ(Get("GET", path, {{"Authorization", "Bearer wrong"}}).status, 401);
    EXPECT_EQ(Get("GET", path, {{"Authorization", "Bearer s3cret+/"}}).status, 401);
    EXPECT_EQ(Get("GET", path, {{"Authorization", "Basic s3cret+/="}}).status, 401);
    EXPECT_EQ(Get("GET", std::string(path) + "?token=s3cret").status, 401);
    EXPECT_EQ(Get("GET", std::string(path) + "?token=s3cret+%2F%3D+").status, 401);
    int ok = std::string(path) == "/favicon.ico" ? 204 : std::string(path) == "/nope" ? 404 : 200;
    EXPECT_EQ(Get("GET", path, {{"Authorization", "Bearer s3cret+/="}}).status, ok);
    EXPECT_EQ(Get("GET", path, {{"authorization", "bearer   s3cret+/="}}).status, ok);
    EXPECT_EQ(Get("GET", std::string(path) + "?token=s3cret%2B%2F%3D").status, ok);
    EXPECT_EQ(Get("GET", std::string(path) + "?a=b&token=s3cret+/%3d").status, ok);  // '+' stays '+'
  }
  EXPECT_EQ(Get("POST", "/api/status").status, 401);  // every method
  EXPECT_EQ(Get("POST", "/api/status", {{"Authorization", "Bearer s3cret+/="}}).status, 405);
}

TEST_F(RouteTest, Snapshots) {
  std::vector<std::pair<std::string, std::string>> calls;
  routes_.snapshots = [&](std::string_view method, std::string_view query) {
    calls.emplace_back(method, query);
    return std::make_pair(202, std::string("{\"state\":\"queued\"}"));
  };
  HttpResponse post = Get("POST", "/api/snapshots?table=public.t&where=id%3E1");
  EXPECT_EQ(post.status, 202);
  EXPECT_EQ(post.content_type, "application/json");
  EXPECT_EQ(Get("GET", "/api/snapshots").status, 202);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], std::make_pair(std::string("POST"), std::string("table=public.t&where=id%3E1")));
  EXPECT_EQ(calls[1].first, "GET");
  // A browser's POST from another site never reaches the handler.
  EXPECT_EQ(Get("POST", "/api/snapshots?table=t", {{"Origin", "https://evil.example"}}).status, 403);
  EXPECT_EQ(Get("POST", "/api/snapshots?table=t", {{"Sec-Fetch-Site", "cross-site"}}).status, 403);
  HttpResponse del = Get("DELETE", "/api/snapshots");
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.headers[0].second, "GET, POST");
  EXPECT_EQ(calls.size(), 2u);
}

TEST(QueryParam, DecodesPercentEscapes) {
  EXPECT_EQ(QueryParam("token=a%2Bb%3d%20c", "token"), "a+b= c");
  EXPECT_EQ(QueryParam("x=1&token=t+1&token=second", "token"), "t+1");  // '+' stays, the first wins
  EXPECT_EQ(QueryParam("tokens=1&token=", "token"), "");
  EXPECT_EQ(QueryParam("token", "token"), "");
  EXPECT_EQ(QueryParam("a=1", "token"), std::nullopt);
  EXPECT_EQ(QueryParam("", "token"), std::nullopt);
  EXPECT_EQ(QueryParam("token=%zz", "token"), std::nullopt);
  EXPECT_EQ(QueryParam("token=%2", "token"), std::nullopt);
  std::string out;
  EXPECT_TRUE(PercentDecode("%41%62c", &out));
  EXPECT_EQ(out, "Abc");
  EXPECT_FALSE(PercentDecode("abc%", &out));
}

TEST(ListHasToken, CaseInsensitiveItems) {
  EXPECT_TRUE(ListHasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(ListHasToken(" close ", "close"));
  EXPECT_FALSE(ListHasToken("closed", "close"));
  EXPECT_FALSE(ListHasToken("", "close"));
}

}  // namespace
}  // namespace cdc::http
