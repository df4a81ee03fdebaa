// SIGINT and SIGTERM as a request to stop: commands that must finish something (close a log
// cleanly, remove half-written output) check the flag instead of dying in the middle.
#pragma once

#include <atomic>

namespace slablog::cli {

// Installs the handlers, without SA_RESTART: a blocking read() returns EINTR and the loop
// around it sees the request.
void CatchStopSignals();
// The flag the handlers set.
std::atomic<bool>& StopRequested();

}  // namespace slablog::cli
