// Finds the files of a log from what the user named: a base name, one of its slab files, or a
// single file (one slab, or slabs joined with cat).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slablog/format.h"
#include "slablog/status.h"

namespace slablog {

struct LogFiles {
  std::vector<std::string> paths;          // in slab order
  std::optional<uint32_t> first_index;     // the slab index the log must start with, if known
  std::string base;                        // the base name, when the files are named slabs
  uint32_t next_index = 0;                 // with a base name: one past the last slab listed
  std::vector<uint32_t> indexes;           // with a base name: the slab index of each path
};

Result<LogFiles> ResolveLogFiles(std::string_view path, bool single_file);

// Leaves out the slabs before `first` (ReaderOptions::first_slab), keeping at least the last one
// listed; the log then starts at the first slab kept. Only for a log named by its base name.
void StartAtSlab(LogFiles* files, uint32_t first);

// `listed`, slab files of `base` a directory listing found (in index order), with the slabs it
// missed: those that exist in its gaps and past its end (a writer may be adding slabs).
std::vector<std::pair<uint32_t, std::string>> FillListingGaps(std::string_view base,
                                                              std::vector<std::pair<uint32_t, std::string>> listed);

// A slab file of another log whose base name is one of `base`'s slab names from slab `from` on
// (run_1_0.slog, of the log run_1.slog, for run.slog), or nothing: `base` growing to that slab
// would give the name two logs. Fails (kIo) when the directory cannot be listed through, as
// ListSlabFilesOrFail: such a log may be in what was not read. No directory there gives none.
Result<std::optional<std::string>> FindLogNamedLikeASlab(std::string_view base, uint32_t from);

// ListSlabFiles and BaseOfSlabPath (slablog/format.h) are defined in log_files.cc too.

}  // namespace slablog
