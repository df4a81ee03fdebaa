// slablog export --format mcap: the records export selects, as an MCAP file for Foxglove and the
// other MCAP tools (one channel per stream).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "mcap_writer.h"

namespace slablog::cli {

struct McapExportOptions {
  std::string log;
  std::vector<std::string> streams;  // globs; empty: every stream
  int64_t since = INT64_MIN;         // record times kept: since..until
  int64_t until = INT64_MAX;
  bool time_filter = false;          // since/until were given
  uint64_t limit = 0;                // messages; 0: no limit
  std::string output;                // a file, or "-" for standard output
  bool replace = false;              // --force: an existing output file is replaced
  McapCompression compression = McapCompression::kZstd;
};

ExitCode McapExport(const McapExportOptions& opt);

}  // namespace slablog::cli
