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
  std::string section_size;  // empty: SectionSizeForSlab(slab size)
};

// The section size when --section-size is not given: an eighth of the slab, rounded down to the
// page, at least one page and at most 1M, so that any slab the format allows (four pages or
// more) gets sections that fit, and slabs of 8M or more keep the 1M they always had.
uint64_t SectionSizeForSlab(uint64_t slab_size);

// Adds both options to `sub`, with `whose` saying what they size ("of the new log") and
// `slab_note` any limit on --slab-size.
void AddLogSizeOptions(CLI::App* sub, LogSizeOptions* sizes, const std::string& whose,
                       const std::string& slab_note = "");
// Into `options`; false (with the message printed) when either is not a size.
bool ParseLogSizes(std::string_view command, const LogSizeOptions& sizes, WriterOptions* options);

}  // namespace slablog::cli
