// What making a new log under a name needs besides CheckNewLogName (slablog/writer.h).
#pragma once

#include <optional>
#include <string>

#include "slablog/log_lock.h"
#include "slablog/status.h"

namespace slablog {

// For a new log named like a slab of another (run_1.slog, a slab name of run.slog): that log's
// lock, to be held while the new log is checked and its slab 0 made, so that a writer making
// run.slog at the same instant cannot pass its own check too (each holds only its own lock
// otherwise). Empty for other names. Fails if a writer of that log holds it: the name is then
// taken, or about to be.
Result<std::optional<LogLock>> LockLogNamedAbove(const std::string& base);

}  // namespace slablog
