#include "base/shutdown.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace cdc {
namespace {
std::atomic<bool> g_requested{false};
std::atomic<int> g_signals{0};

void OnSignal(int) {
  // The first signal asks for a clean stop; a second one means "now".
  if (g_signals.fetch_add(1) >= 1) _exit(130);
  g_requested.store(true);
}
}  // namespace

void InstallShutdownHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

bool ShutdownRequested() { return g_requested.load(std::memory_order_relaxed); }
void RequestShutdown() { g_requested.store(true); }
void ResetShutdown() {
  g_requested.store(false);
  g_signals.store(0);
}

}  // namespace cdc
