// The records `export --format csv|mcap` writes: those of the streams and the time window asked
// for, in log order, with the sections outside them passed over unread, as NDJSON export selects
// them (cmd_export.cc, whose --sections output keeps its own loop).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "progress.h"
#include "slablog/reader.h"

namespace slablog::cli {

struct RecordSelection {
  std::vector<std::string> streams;  // shell globs; empty: every stream
  int64_t since = INT64_MIN;         // records outside [since, until] are left out
  int64_t until = INT64_MAX;
};

class RecordSelector {
 public:
  // `progress` (may be null) is moved on at each section; of a command that reads the log
  // `passes` times, this is pass `pass` (from 0), so one bar runs once from 0 to 100%.
  RecordSelector(Reader* reader, const RecordSelection& selection, ProgressLine* progress, unsigned pass = 0,
                 unsigned passes = 1);
  // The next record selected, valid until the next call; null once the log is read.
  const RecordView* Next();

 private:
  bool Wanted(uint32_t stream_id);

  Reader* reader_;
  const RecordSelection& selection_;
  ProgressLine* progress_;
  unsigned pass_, passes_;
  LogPosition position_;
  std::map<uint32_t, bool> wanted_;  // by stream id, once its name is known
  Item item_;
};

}  // namespace slablog::cli
