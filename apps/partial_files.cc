#include "partial_files.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace slablog::cli {

std::string PartialPrefix(std::string_view name) { return "." + std::string(name) + ".partial-"; }

void RemoveAbandonedPartials(const std::filesystem::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t digits_end = std::min(name.find_first_not_of("0123456789", prefix.size()), name.size());
    if (digits_end == prefix.size() || digits_end - prefix.size() > 9 ||
        (digits_end < name.size() && name[digits_end] != '_')) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(name.substr(prefix.size(), digits_end - prefix.size())));
    if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
    (void)unlink(entry.path().c_str());
  }
}

}  // namespace slablog::cli
