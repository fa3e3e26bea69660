#include "http/http_request.h"

#include <gtest/gtest.h>

namespace cdc::http {
namespace {

constexpr size_t kMax = 16 * 1024;

ParseResult Parse(std::string_view text, HttpRequest* req) { return ParseRequestHead(text, kMax, req); }

TEST(ParseRequestHead, SimpleGet) {
  HttpRequest req;
  std::string text = "GET /api/status?x=1&token=abc HTTP/1.1\r\nHost: h\r\nAccept:  */*  \r\n\r\nNEXT";
  ParseResult r = Parse(text, &req);
  ASSERT_EQ(r.state, ParseState::kDone) << r.error;
  EXPECT_EQ(r.consumed, text.size() - 4);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/api/status?x=1&token=abc");
  EXPECT_EQ(req.path, "/api/status");
  EXPECT_EQ(req.query, "x=1&token=abc");
  EXPECT_EQ(req.minor_version, 1);
  ASSERT_NE(req.Header("accept"), nullptr);
  EXPECT_EQ(*req.Header("ACCEPT"), "*/*");
  EXPECT_EQ(req.Header("Authorization"), nullptr);
  EXPECT_TRUE(req.KeepAlive());
}

TEST(ParseRequestHead, IncompleteUntilTheEmptyLine) {
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n) {
    HttpRequest req;
    EXPECT_EQ(Parse(text.substr(0, n), &req).state, ParseState::kIncomplete) << n;
  }
  HttpRequest req;
  EXPECT_EQ(Parse(text, &req).state, ParseState::kDone);
}

TEST(ParseRequestHead, BareLfAndLeadingEmptyLines) {
  HttpRequest req;
  ParseResult r = Parse("\r\n\nGET /healthz HTTP/1.0\nX: y\n\n", &req);
  ASSERT_EQ(r.state, ParseState::kDone) << r.error;
  EXPECT_EQ(req.path, "/healthz");
  EXPECT_EQ(req.minor_version, 0);
  EXPECT_FALSE(req.KeepAlive());  // HTTP/1.0 without keep-alive
}

TEST(ParseRequestHead, ConnectionTokens) {
  HttpRequest req;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n", &req).state, ParseState::kDone);
  EXPECT_FALSE(req.KeepAlive());
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req).state, ParseState::kDone);
  EXPECT_TRUE(req.KeepAlive());
}

TEST(ParseRequestHead, AbsoluteFormTarget) {
  HttpRequest req;
  ASSERT_EQ(Parse("GET http://example:8080/metrics?token=t HTTP/1.1\r\nHost: example\r\n\r\n", &req).state,
            ParseState::kDone);
  EXPECT_EQ(req.path, "/metrics");
  EXPECT_EQ(req.query, "token=t");
  ASSERT_EQ(Parse("GET http://example HTTP/1.1\r\nHost: example\r\n\r\n", &req).state, ParseState::kDone);
  EXPECT_EQ(req.path, "/");
}

TEST(ParseRequestHead, ContentLength) {
  HttpRequest req;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n", &req).state, ParseState::kDone);
  EXPECT_EQ(req.content_length, 12);
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &req).state,
            ParseState::kDone);
  EXPECT_EQ(req.content_length, 3);
  for (const char* bad : {"Content-Length: 3\r\nContent-Length: 4", "Content-Length: -1", "Content-Length: 1x",
                          "Content-Length: ", "Content-Length: 99999999999999999999999",
                          "Content-Length: 1\r\nTransfer-Encoding: chunked"}) {
    ParseResult r = Parse("GET / HTTP/1.1\r\nHost: h\r\n" + std::string(bad) + "\r\n\r\n", &req);
    EXPECT_EQ(r.state, ParseState::kError) << bad;
    EXPECT_EQ(r.error_status, 400) << bad;
  }
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &req).state, ParseState::kDone);
  EXPECT_TRUE(req.has_transfer_encoding);
}

TEST(ParseRequestHead, RejectsMalformedHeads) {
  const char* bad[] = {
      "GET /\r\nHost: h\r\n\r\n",                            // no version
      "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",                  // two spaces
      "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",                  // trailing space
      "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",                   // method not a token
      "GET / HTTPS/1.1\r\nHost: h\r\n\r\n",                  // bad version
      "GET / HTTP/1.12\r\nHost: h\r\n\r\n",                  // bad version
      "GET nothing HTTP/1.1\r\nHost: h\r\n\r\n",             // not origin- or absolute-form
      "GET / HTTP/1.1\r\nHost : h\r\n\r\n",                  // space before the colon
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",        // obsolete line folding
      "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",        // no colon
      "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",             // bare CR
      "GET / HTTP/1.1\r\nX: a\x01z\r\nHost: h\r\n\r\n",      // control character
      "GET / HTTP/1.1\r\n\r\n",                              // HTTP/1.1 without Host
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",        // two Hosts
  };
  for (const char* text : bad) {
    HttpRequest req;
    ParseResult r = Parse(text, &req);
    EXPECT_EQ(r.state, ParseState::kError) << text;
    EXPECT_EQ(r.error_status, 400) << text;
  }
  HttpRequest req;
  ParseResult r = Parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n", &req);
  EXPECT_EQ(r.state, ParseState::kError);
  EXPECT_EQ(r.error_status, 505);
}

TEST(ParseRequestHead, OversizedHeadIs431) {
  HttpRequest req;
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(kMax, 'a');
  ParseResult partial = Parse(text, &req);  // no end yet, but already too long
  EXPECT_EQ(partial.state, ParseState::kError);
  EXPECT_EQ(partial.error_status, 431);
  ParseResult whole = Parse(text + "\r\n\r\n", &req);
  EXPECT_EQ(whole.state, ParseState::kError);
  EXPECT_EQ(whole.error_status, 431);
  // Just under the limit is fine.
  std::string fits = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  fits += std::string(kMax - fits.size() - 4, 'b') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), kMax);
  EXPECT_EQ(Parse(fits, &req).state, ParseState::kDone);
  EXPECT_EQ(Parse(fits.substr(0, fits.size() - 1) + "b\r\n\r\n", &req).error_status, 431);
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
