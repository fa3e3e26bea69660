#include "http/http_client.h"

#include <httplib.h>

#include "http/http_server.h"

namespace cdc::http {

Result<HttpGetReply> HttpGet(const std::string& address, const std::string& path, const std::string& token,
                             int timeout_ms) {
  std::string a = address;
  if (a.rfind("https://", 0) == 0) {
    return Status::InvalidArgument("--http " + address + ": https is not supported; cdcpipe serves plain HTTP");
  }
  if (a.rfind("http://", 0) == 0) a = a.substr(7);
  while (!a.empty() && a.back() == '/') a.pop_back();
  CDC_ASSIGN_OR_RETURN(HostPort hp, ParseHttpAddress(a));
  httplib::Client client(hp.host, hp.port);
  client.set_connection_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  client.set_read_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = client.Get(path, headers);
  if (!res) {
    return Status::Unavailable("http://" + a + path + ": " + httplib::to_string(res.error()) +
                               " (is `cdcpipe run` running with --http " + a + "?)");
  }
  return HttpGetReply{res->status, res->body};
}

}  // namespace cdc::http
