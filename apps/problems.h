// The CLI's Reporter: prints each corruption event on stderr as it is found
// ("slablog CMD: FILE: offset N: KIND: detail") and counts them. A torn tail (what a crash
// leaves) is counted apart from damage.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "slablog/reporter.h"

namespace slablog::cli {

// Whether a ProblemLog of this process was told of an I/O error (CorruptionKind::kIoError: a file
// cut short under the reader, or a disk that failed): then the command exits 3 (main.cc), having
// gone on past it as far as it goes past damage (recover salvages the rest).
bool IoErrorMet();

class ProblemLog : public Reporter {
 public:
  explicit ProblemLog(std::string command, bool print = true)
      : command_(std::move(command)), print_(print) {}
  void OnCorruption(const Corruption& c) override;
  // Ignore an event at a place (file, offset, kind) already reported: for commands that read
  // parts of a log more than once.
  void OncePerPlace() { once_per_place_ = true; }

  uint64_t damage() const { return damage_; }    // everything but torn tails (I/O errors too)
  uint64_t torn() const { return torn_; }
  uint64_t total() const { return damage_ + torn_; }
  // The first events, kept for structured output (bounded: a wrecked log can have millions).
  const std::vector<Corruption>& kept() const { return kept_; }

  static std::string Format(const Corruption& c);

 private:
  std::string command_;
  bool print_;
  bool once_per_place_ = false;
  std::set<std::tuple<std::string, uint64_t, CorruptionKind>> seen_;
  uint64_t damage_ = 0;
  uint64_t torn_ = 0;
  std::vector<Corruption> kept_;
};

}  // namespace slablog::cli
