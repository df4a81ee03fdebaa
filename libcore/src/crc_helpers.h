// Helper threads that check frame CRCs of sections ahead of a Reader. Each walks the log's
// section headers on its own and checks the sections given to it (ordinal modulo the number of
// helpers); the reader then skips the CRCs of sections a helper found intact. Any section a
// helper has not finished, or found damaged, the reader checks itself, so reports stay exact
// and in order.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "mapped_file.h"

namespace slablog {

class CrcHelpers {
 public:
  // Null when no thread can be started.
  static std::unique_ptr<CrcHelpers> Start(const std::vector<MappedFile>* files,
                                           std::optional<uint32_t> first_index, unsigned threads);
  ~CrcHelpers();
  CrcHelpers(const CrcHelpers&) = delete;
  CrcHelpers& operator=(const CrcHelpers&) = delete;

  // Called by the reader as it reaches the section with this ordinal (0, 1, 2, ... in walk
  // order): true when a helper already checked every frame CRC in it and found all intact.
  bool Verified(uint64_t ordinal);

 private:
  CrcHelpers(const std::vector<MappedFile>* files, std::optional<uint32_t> first_index, unsigned threads);
  void Run(unsigned index);

  // How far ahead of the reader the helpers go; also the size of the verdict ring.
  static constexpr uint64_t kAhead = 4096;

  const std::vector<MappedFile>* files_;
  std::optional<uint32_t> first_index_;
  unsigned count_;
  std::atomic<uint64_t> reader_at_{0};
  std::atomic<bool> stop_{false};
  // Verdict of section i at [i % kAhead]: (i << 1) | intact, or ~0 when none.
  std::unique_ptr<std::atomic<uint64_t>[]> verdicts_;
  std::vector<pthread_t> threads_;
};

}  // namespace slablog
