// Names a log claims: a path named like a slab file (run_5.slog) is read by every command as
// slab 5 of the log run.slog once that log has slab files. One rule for the commands that create
// files (write, export -o), so that none of them makes a file a reader would take for a slab.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/status.h"

namespace slablog::cli {

struct SlabName {
  std::string base;                // run.slog
  uint32_t index = 0;              // 5
  std::vector<std::string> files;  // run_0.slog, ...: that log's slab files on disk, `path` too if it exists
};

// The log `path` would be a slab of, or nullopt when `path` is not named like a slab file. Fails
// when its directory cannot be listed through: the files not listed may be that log's.
Result<std::optional<SlabName>> SlabNameOf(const std::string& path);

// Whether the file at `path` begins with `bytes` (false when it cannot be read).
bool FileStartsWith(const std::string& path, std::string_view bytes);

// Whether the file at `path` begins as a slablog slab does (its magic).
bool StartsAsSlab(const std::string& path);

}  // namespace slablog::cli
