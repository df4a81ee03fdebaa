// Finds the files of a log from what the user named: a base name, one of its slab files, or a
// single file (one slab, or slabs joined with cat).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/status.h"

namespace slablog {

struct LogFiles {
  std::vector<std::string> paths;          // in slab order
  std::optional<uint32_t> first_index;     // the slab index the log must start with, if known
  std::string base;                        // the base name, when the files are named slabs
  uint32_t next_index = 0;                 // with a base name: one past the last slab listed
};

Result<LogFiles> ResolveLogFiles(std::string_view path, bool single_file);

// The slab files of base name `base` present on disk, by index (gaps are left to the reader).
std::vector<std::pair<uint32_t, std::string>> ListSlabFiles(std::string_view base);

// If `path` is named like a slab ("dir/run_3.slog"), its base name ("dir/run.slog").
std::optional<std::string> BaseOfSlabPath(std::string_view path);

}  // namespace slablog
