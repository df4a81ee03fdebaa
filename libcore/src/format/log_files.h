// Finds the files of a log from what the user named: a base name, one of its slab files, or a
// single file (one slab, or slabs joined with cat).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/format.h"
#include "slablog/status.h"

namespace slablog {

struct LogFiles {
  std::vector<std::string> paths;          // in slab order
  std::optional<uint32_t> first_index;     // the slab index the log must start with, if known
  std::string base;                        // the base name, when the files are named slabs
  uint32_t next_index = 0;                 // with a base name: one past the last slab listed
};

Result<LogFiles> ResolveLogFiles(std::string_view path, bool single_file);

// ListSlabFiles and BaseOfSlabPath (slablog/format.h) are defined in log_files.cc too.

}  // namespace slablog
