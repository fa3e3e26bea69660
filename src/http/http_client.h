// A small HTTP GET for talking to a running `cdcpipe run` (used by `cdcpipe status --http`).
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

}  // namespace cdc::http
