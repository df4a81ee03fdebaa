// slablog export --format csv: the records a filter selects as one CSV table, for pandas,
// DuckDB and spreadsheets. Columns and cells: csv_flatten.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "time_format.h"

namespace slablog::cli {

struct CsvExportOptions {
  std::vector<std::string> streams;  // shell globs; empty: every stream
  int64_t since = 0;                 // records outside [since, until] are left out
  int64_t until = 0;
  bool time_filtered = false;        // since or until was given
  uint64_t limit = 0;                // rows at most; 0: no limit
  // The columns, in order (--fields). Empty: stream, t, seq and every data column the selected
  // records hold, found by a first pass over them.
  std::vector<std::string> fields;
  // The t column (--time-format): kNsString writes the digits of kNs (CSV has no types), kRfc3339
  // and kSeconds their text without JSON's quotes.
  TimeFormat time_format = TimeFormat::kNs;
};

// "t,data.pose.x" -> {"t", "data.pose.x"}; "" -> {}. Empty names are kept (and refused later).
std::vector<std::string> SplitCsvFields(const std::string& list);

ExitCode CsvExport(const std::string& log, const CsvExportOptions& options);

}  // namespace slablog::cli
