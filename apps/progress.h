// A one-line progress bar on stderr for long work ("verify [######........] 42% 1.2 GiB / 3.0 GiB"),
// shared by verify, export, split, merge and recover. Drawn only when stderr is a terminal and
// the work has gone on for a while; erased before anything else is printed (output.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace slablog {
struct SectionInfo;
}

namespace slablog::cli {

enum class ProgressShown : uint8_t {
  kIfStderrIsTerminal,  // the usual case
  kNever,               // --quiet, or output that goes to the same terminal (export)
};

// Not thread-safe: one per command, updated from the thread that prints.
class ProgressLine {
 public:
  explicit ProgressLine(std::string command, ProgressShown shown = ProgressShown::kIfStderrIsTerminal);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` of `total` units (bytes) of the work. Cheap when nothing is to be drawn.
  void Update(uint64_t done, uint64_t total);
  // For libcore calls that take a progress callback; null when nothing will be drawn.
  std::function<void(uint64_t, uint64_t)> Callback();

 private:
  void Draw(uint64_t done, uint64_t total);
  std::string command_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool ever_drawn_ = false;
};

// True when standard output is a terminal, a pipe or a socket: a bar on stderr could share a
// terminal with what is printed from it.
bool StdoutIsTerminalOrPipe();

// Erases the progress line on the terminal, if one is shown: called before any other output, so
// that no text is left after the bar on its line. Cheap when there is none.
void EraseProgressLine();

// Where a reader is in a log as a whole, in bytes: the files' sizes and a section's place in them.
class LogPosition {
 public:
  explicit LogPosition(const std::vector<std::string>& files);
  uint64_t At(const SectionInfo& section) const;
  uint64_t total() const { return total_; }

 private:
  std::map<std::string, uint64_t> file_start_;
  uint64_t total_ = 0;
};

}  // namespace slablog::cli
