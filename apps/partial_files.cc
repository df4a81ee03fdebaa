#include "partial_files.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace slablog::cli {

std::string PartialPrefix(std::string_view name) { return "." + std::string(name) + ".partial-"; }

void RemoveAbandonedPartials(const std::filesystem::path& dir, const std::string& prefix) {
  std::error_code ec;
  // increment(ec), not a range-for: its ++ throws when reading the directory fails part-way.
  std::filesystem::directory_iterator it(dir.empty() ? "." : dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t digits_end = std::min(name.find_first_not_of("0123456789", prefix.size()), name.size());
    if (digits_end == prefix.size() || digits_end - prefix.size() > 9 ||
        (digits_end < name.size() && name[digits_end] != '_')) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(name.substr(prefix.size(), digits_end - prefix.size())));
    if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
    (void)unlink(it->path().c_str());
  }
}

}  // namespace slablog::cli
