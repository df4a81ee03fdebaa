// Whether a name is free for a new log: one name never leads readers to two logs, and a new log
// never hides a file, or is hidden by one.
#include <sys/stat.h>

#include "log_files.h"
#include "slablog/writer.h"

namespace slablog {

Status CheckNewLogName(const std::string& base, bool replacing) {
  auto refuse = [&](const std::string& message) { return Error{Errc::kInvalidArgument, base, 0, message}; };
  struct stat st {};
  if (::stat(base.c_str(), &st) == 0) {
    // Readers open a file of the base name itself, never the slab files beside it; replacing
    // the log replaces its slab files, never this file, which would still hide the new log.
    return refuse(std::string(S_ISDIR(st.st_mode) ? "a directory" : "a file") +
                  " of this name exists, which every reader would open instead of the new log; "
                  "choose another name");
  }
  // A listing that failed part-way may have missed the slabs that make the name taken.
  if (!replacing) {
    const auto slabs = ListSlabFilesOrFail(base);
    if (!slabs) return slabs.error();
    // Any slab, not only slab 0: a ring that reused its slab 0 has none.
    if (!slabs->empty()) return refuse("a log of that name already exists (" + slabs->front().second + ")");
  }
  if (const auto larger = BaseOfSlabPath(base)) {
    // run_1.slog beside run.slog: readers take it as run.slog's slab 1, now or once it grows.
    const auto listed = ListSlabFilesOrFail(*larger);
    if (!listed) return listed.error();
    if (const auto& slabs = listed.value(); !slabs.empty()) {
      return refuse("this is the name of slab " + std::to_string(SlabIndexOfPath(base).value_or(0)) +
                    " of the log " + *larger + " (" + slabs.front().second +
                    ", ...), which is how readers take it; write to " + *larger + ", or choose another name");
    }
  }
  const auto other = FindLogNamedLikeASlab(base, 0);
  if (!other) return other.error();
  if (other.value()) {
    const std::string& slab = *other.value();
    return refuse("the log " + BaseOfSlabPath(slab).value_or("") + " (" + slab +
                  ") has the name of one of this log's slabs, which would hide it from its readers; "
                  "choose another name");
  }
  return Status();
}

}  // namespace slablog
