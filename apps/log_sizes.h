// --slab-size and --section-size, for the commands that write a log (write, recover, split,
// merge): declared, defaulted and parsed the same way everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "slablog/writer.h"

namespace CLI {
class App;
}

namespace slablog::cli {

struct LogSizeOptions {
  std::string slab_size = "64M";
  std::string section_size;  // empty: DefaultSectionSize (slablog/writer.h) of the slab size
};

// Adds both options to `sub`, with `whose` saying what they size ("of the new log") and
// `slab_note` any limit on --slab-size.
void AddLogSizeOptions(CLI::App* sub, LogSizeOptions* sizes, const std::string& whose,
                       const std::string& slab_note = "");
// Into `options`; false (with the message printed) when either is not a size. Without
// --section-size, options->section_size is the default for the slab size given.
bool ParseLogSizes(std::string_view command, const LogSizeOptions& sizes, WriterOptions* options);

}  // namespace slablog::cli
