#include "support/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace cdc::testing {
namespace {

constexpr size_t kMaxPending = 1 << 20;  // per direction: stop reading past it

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// A blocking connect to host:port (the targets are local); -1 on failure.
int ConnectTo(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    CloseFd(fd);
  }
  freeaddrinfo(res);
  return fd;
}

}  // namespace

TcpProxy::TcpProxy(std::string target_host, int target_port, int listen_port)
    : host_(std::move(target_host)), target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(listen_port));
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0 || getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "TcpProxy: cannot listen on 127.0.0.1:" << listen_port << ": " << std::strerror(errno);
    CloseFd(listen_fd_);
    return;
  }
  port_ = ntohs(addr.sin_port);
  SetNonBlocking(listen_fd_);
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ADD_FAILURE() << "TcpProxy: pipe: " << std::strerror(errno);
    return;
  }
  thread_ = std::thread([this] { Loop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  CloseAll();
  CloseFd(listen_fd_);
  CloseFd(wake_[0]);
  CloseFd(wake_[1]);
}

int TcpProxy::BlackHoleAll() {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (auto& p : pairs_) {
    if (!p.black_hole) ++n;
    p.black_hole = true;
  }
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  return n;
}

void TcpProxy::CloseAll() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& p : pairs_) {
    CloseFd(p.client);
    CloseFd(p.server);
  }
  pairs_.clear();
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
}

int TcpProxy::CloseBlackHoled() {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (auto& p : pairs_) {
    if (!p.black_hole) continue;
    CloseFd(p.client);
    CloseFd(p.server);
    ++n;
  }
  std::erase_if(pairs_, [](const Pair& p) { return p.client < 0; });
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  return n;
}

int TcpProxy::forwarding() const {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (const auto& p : pairs_) n += p.black_hole ? 0 : 1;
  return n;
}

void TcpProxy::Accept() {
  for (;;) {
    int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;  // EAGAIN: none left
    int s = ConnectTo(host_, target_port_);
    if (s < 0) {
      close(c);  // the target is down: the client sees the connection closed, as without the proxy
      continue;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SetNonBlocking(c);
    SetNonBlocking(s);
    ++accepted_;
    std::lock_guard<std::mutex> l(mu_);
    Pair p;
    p.client = c;
    p.server = s;
    p.black_hole = black_hole_new_;
    pairs_.push_back(std::move(p));
  }
}

bool TcpProxy::Pump(int from, int to, std::string& pending, bool readable, bool writable) {
  if (readable && pending.size() < kMaxPending) {
    char buf[65536];
    ssize_t n = read(from, buf, sizeof buf);
    if (n == 0) {  // EOF: forward what is left (best effort), then close both sides
      if (!pending.empty()) (void)send(to, pending.data(), pending.size(), MSG_NOSIGNAL);
      return false;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) pending.append(buf, static_cast<size_t>(n));
    writable = true;  // try at once
  }
  if (writable && !pending.empty()) {
    ssize_t n = send(to, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) pending.erase(0, static_cast<size_t>(n));
  }
  return true;
}

void TcpProxy::Loop() {
  std::vector<pollfd> fds;
  std::vector<size_t> owner;  // index into pairs_ of fds[i] (from 2 on), or SIZE_MAX
  while (!stop_) {
    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({wake_[0], POLLIN, 0});
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& p : pairs_) {
        if (p.black_hole) continue;  // never read, never written, never closed
        short ce = static_cast<short>((p.to_server.size() < kMaxPending ? POLLIN : 0) | (p.to_client.empty() ? 0 : POLLOUT));
        short se = static_cast<short>((p.to_client.size() < kMaxPending ? POLLIN : 0) | (p.to_server.empty() ? 0 : POLLOUT));
        fds.push_back({p.client, ce, 0});
        fds.push_back({p.server, se, 0});
      }
    }
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
    if (fds[1].revents) {
      char drain[64];
      while (read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    if (fds[0].revents & POLLIN) Accept();
    std::lock_guard<std::mutex> l(mu_);
    // Match the polled fds back to their pairs (pairs_ may have changed: match by fd).
    for (size_t i = 2; i + 1 < fds.size(); i += 2) {
      for (auto& p : pairs_) {
        if (p.client != fds[i].fd || p.server != fds[i + 1].fd || p.black_hole) continue;
        short cr = fds[i].revents, sr = fds[i + 1].revents;
        bool ok = Pump(p.client, p.server, p.to_server, cr & (POLLIN | POLLHUP | POLLERR), sr & POLLOUT) &&
                  Pump(p.server, p.client, p.to_client, sr & (POLLIN | POLLHUP | POLLERR), cr & POLLOUT);
        if (!ok) {
          CloseFd(p.client);
          CloseFd(p.server);
        }
        break;
      }
    }
    std::erase_if(pairs_, [](const Pair& p) { return p.client < 0; });
  }
}

}  // namespace cdc::testing
