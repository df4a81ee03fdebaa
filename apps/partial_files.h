// The hidden names that files are built under until they are complete (split, merge, and MCAP
// export): ".NAME.partial-PID..." next to the final name, PID being the builder's. A builder
// killed outright (SIGKILL, power loss) leaves its partial behind; the next one removes it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace slablog::cli {

// ".NAME.partial-": what the hidden names for `name` (a file name, no directory) start with; the
// builder's PID follows.
std::string PartialPrefix(std::string_view name);

// Removes the files in `dir` named PREFIX, a PID, then nothing or "_..." (a log's slab,
// ".run.partial-PID_0.slog") whose PID no longer runs. This process's own and a live process's
// (a split running now) are left alone.
void RemoveAbandonedPartials(const std::filesystem::path& dir, const std::string& prefix);

}  // namespace slablog::cli
