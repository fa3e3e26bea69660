#include "base/failpoint.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/shutdown.h"

namespace cdc {
namespace {

struct Point {
  bool crash = false;
  bool pause = false;
  long fire_at = 1;  // the hit number that fires
  long hits = 0;
};

std::mutex g_mu;
std::map<std::string, Point, std::less<>> g_points;
std::atomic<bool> g_any{false};
std::once_flag g_loaded;

void LoadLocked() {
  g_points.clear();
  const char* env = std::getenv("CDCPIPE_FAILPOINTS");
  std::string spec = env ? env : "";
  size_t i = 0;
  while (i < spec.size()) {
    size_t comma = spec.find(',', i);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = spec.substr(i, comma - i);
    i = comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    Point p;
    std::string action = item.substr(eq + 1);
    size_t colon = action.find(':');
    if (colon != std::string::npos) {
      p.fire_at = std::strtol(action.c_str() + colon + 1, nullptr, 10);
      if (p.fire_at < 1) p.fire_at = 1;
      action.resize(colon);
    }
    p.crash = (action == "crash");
    p.pause = (action == "pause");
    if (action != "crash" && action != "error" && action != "pause") continue;
    g_points[item.substr(0, eq)] = p;
  }
  g_any.store(!g_points.empty());
}

}  // namespace

void FailpointReload() {
  std::lock_guard<std::mutex> lock(g_mu);
  LoadLocked();
}

Status FailpointHit(std::string_view name) {
  std::call_once(g_loaded, [] { FailpointReload(); });
  if (!g_any.load(std::memory_order_relaxed)) return Status::OK();
  std::unique_lock<std::mutex> lock(g_mu);
  auto it = g_points.find(name);
  if (it == g_points.end()) return Status::OK();
  Point& p = it->second;
  if (++p.hits != p.fire_at) return Status::OK();
  if (p.pause) {
    // Not under the lock: other threads' failpoints keep working while this one waits.
    lock.unlock();
    std::fprintf(stderr, "failpoint %.*s: paused until shutdown\n", static_cast<int>(name.size()), name.data());
    std::fflush(stderr);
    while (!ShutdownRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return Status::OK();
  }
  if (p.crash) {
    std::fprintf(stderr, "failpoint %.*s: crashing on purpose\n", static_cast<int>(name.size()), name.data());
    std::fflush(stderr);
    _exit(kFailpointExitCode);
  }
  return Status::Internal("failpoint " + std::string(name) + " fired");
}

}  // namespace cdc
