// A small HTTP client for talking to a running `cdcpipe run` (`cdcpipe status --http`, `cdcpipe snapshot`).
#pragma once

#include <string>

#include "base/status.h"

namespace cdc::http {

struct HttpGetReply {
  int status = 0;
  std::string body;
};

// GET `path` from `address` ("host:port", "http://host:port" or "https://..." is refused), with
// Authorization: Bearer `token` when non-empty. Unavailable when the server cannot be reached;
// a reply with any status is returned as is.
Result<HttpGetReply> HttpGet(const std::string& address, const std::string& path, const std::string& token,
                             int timeout_ms = 5000);
// The same with another method ("POST": an empty body; `cdcpipe snapshot`).
Result<HttpGetReply> HttpCall(const std::string& method, const std::string& address, const std::string& path,
                              const std::string& token, int timeout_ms = 5000);

}  // namespace cdc::http
