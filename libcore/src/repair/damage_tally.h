// What verify and compress share: problems counted by kind on their way to the caller's Reporter,
// and the bytes of a log's files.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "slablog/reporter.h"

namespace slablog {

// Counts events as torn tails (what a crash leaves) or damage, then passes them on. (On a live
// log the reader keeps the writer's work in progress out of the events: LogSummary::in_progress.)
class DamageTally : public Reporter {
 public:
  explicit DamageTally(Reporter* next) : next_(next) {}
  void OnCorruption(const Corruption& c) override {
    ++(c.kind == CorruptionKind::kTornTail ? torn : damage);
    if (next_ != nullptr) next_->OnCorruption(c);
  }
  uint64_t damage = 0, torn = 0;

 private:
  Reporter* next_;
};

inline uint64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

inline uint64_t FilesSize(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const std::string& p : paths) total += FileSize(p);
  return total;
}

}  // namespace slablog
