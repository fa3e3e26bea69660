// A TCP proxy for fault tests: it forwards connections to a target and can turn established ones into
// black holes, connections that stay open but carry nothing any more, as a dropped NAT entry or a
// paused VM does. Reusable by any test (fault harness, hung-connection tests).
//
//   TcpProxy proxy("127.0.0.1", pg_port);   // listens on 127.0.0.1:proxy.port() at once
//   ... point the client at proxy.port() ...
//   proxy.BlackHoleAll();       // every connection open now: no byte forwarded either way, none closed
//   proxy.set_black_hole_new(true);  // later connections: accepted, then black-holed at once
//   proxy.CloseAll();           // close every connection (both sides), as a reset would
//   proxy.accepted();           // connections accepted so far (a reconnect shows as one more)
//
// What it can and cannot model: a black-holed socket stays open in this process, so the client's
// kernel still gets ACKs for what it sends (until the proxy's receive buffer fills) and for TCP
// keepalive probes. It therefore tests application-level timeouts (no message from the peer within N
// s), not TCP keepalive or TCP_USER_TIMEOUT, which need packets to be dropped (iptables, not available
// to the tests).
//
// Thread-safety: every method may be called from any thread; one internal thread runs poll() over the
// listening socket and every pair. The destructor closes everything.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cdc::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 at `listen_port` (0 = a free port) and forwards to target_host:target_port.
  // Fails the test (ADD_FAILURE) and leaves port() 0 if it cannot listen.
  TcpProxy(std::string target_host, int target_port, int listen_port = 0);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }

  // Every connection open now stops forwarding in both directions; its sockets stay open (and unread)
  // until CloseAll() or the destructor. Returns how many were black-holed.
  int BlackHoleAll();
  // When true, connections accepted from now on are black-holed at once (the target is still
  // connected, so it sees a client that says nothing). Default false.
  void set_black_hole_new(bool on) { black_hole_new_ = on; }
  // Closes every connection, forwarding or black-holed.
  void CloseAll();
  // Closes the black-holed connections only (their client gave up on them long ago: frees the target's
  // side, e.g. a PostgreSQL backend). Returns how many.
  int CloseBlackHoled();

  uint64_t accepted() const { return accepted_; }
  // Connections open now that still forward.
  int forwarding() const;

 private:
  struct Pair {
    int client = -1, server = -1;
    bool black_hole = false;
    std::string to_server, to_client;  // bytes read, not yet written
  };
  void Loop();
  void Accept();
  // Reads what `from` has and writes what it can to `to`; false when either side is done.
  static bool Pump(int from, int to, std::string& pending, bool readable, bool writable);

  std::string host_;
  int target_port_ = 0;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: wakes the loop on stop
  std::atomic<bool> stop_{false};
  std::atomic<bool> black_hole_new_{false};
  std::atomic<uint64_t> accepted_{0};
  mutable std::mutex mu_;
  std::vector<Pair> pairs_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cdc::testing
