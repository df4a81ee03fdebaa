// Takes over the slab files of a retired log, one each time a writer needs a new slab, as RocksDB
// recycles its log files. Their blocks are allocated and their pages are likely still in the page
// cache: writing into them costs a store, where a new file costs the kernel's making and zeroing
// of every page first (scripts/bench here, medians of three runs: 64 KiB records went in at 20.3
// to 22.1 GB/s, against 1.8 to 2.2 GB/s into new files). The retired log is gone as its slabs are taken.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "slablog/log_lock.h"
#include "mapped_file.h"
#include "slablog/format.h"
#include "slablog/status.h"

namespace slablog {

class SlabRecycler {
 public:
  // `retired` is the base name of the log to take slabs from, `own` the one being written.
  static Result<std::unique_ptr<SlabRecycler>> Open(const std::string& retired, const std::string& own);

  // The next slab file of the retired log, adopted as the slab `path` (WritableSlab::Adopt), or
  // null when none is left. A file is left as it is, and the next one tried, when it is not a
  // slab, belongs to the log `own_id` itself, or is held by a writer or by a reader of its end.
  Result<std::unique_ptr<WritableSlab>> Take(const std::string& path, uint64_t capacity, const LogId& own_id);

 private:
  std::deque<std::string> files_;  // in slab order
  LogLock retired_lock_;           // no writer or truncate works on the retired log meanwhile
};

}  // namespace slablog
