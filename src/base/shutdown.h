// Process-wide stop request: SIGINT/SIGTERM set a flag that long-running jobs poll, so they can
// flush, confirm what is durable and exit 0. A second signal exits at once with code 130.
#pragma once

namespace cdc {

// Installs the SIGINT/SIGTERM handlers. Call once from main.
void InstallShutdownHandlers();
// True once a stop was requested (signal or RequestShutdown).
bool ShutdownRequested();
// Requests a stop from inside the process (tests, fatal errors in another thread).
void RequestShutdown();
// Clears the request (tests that run several jobs in one process).
void ResetShutdown();

}  // namespace cdc
