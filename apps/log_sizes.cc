#include "log_sizes.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>

#include "output.h"

namespace slablog::cli {

void AddLogSizeOptions(CLI::App* sub, LogSizeOptions* sizes, const std::string& whose,
                       const std::string& slab_note) {
  sub->add_option("--slab-size", sizes->slab_size,
                  "Bytes per slab " + whose + " (K, M, G suffixes" + (slab_note.empty() ? "" : "; " + slab_note) + ")")
      ->capture_default_str();
  sub->add_option("--section-size", sizes->section_size,
                  "Bytes per section " + whose + " (K, M, G suffixes; rounded up to a page)")
      ->default_str("a 32nd of the slab, 1 page to 1M");
}

uint64_t SectionSizeForSlab(uint64_t slab_size) {
  const uint64_t page = std::max<uint64_t>(kMinPageSize, static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  // A 32nd: a small slab still holds sections of many streams at once (an eighth left a ring of
  // 64K slabs with 20 streams keeping a few records per slab); from 32M slabs on, 1M as before.
  return std::min(uint64_t{1} << 20, std::max(page, slab_size / 32 / page * page));
}

bool ParseLogSizes(std::string_view command, const LogSizeOptions& sizes, WriterOptions* options) {
  if (!ParseSize(sizes.slab_size, &options->slab_size) ||
      (!sizes.section_size.empty() && !ParseSize(sizes.section_size, &options->section_size))) {
    Complain(command, "sizes take a number with an optional K, M, G or T suffix (powers of 1024)");
    return false;
  }
  if (sizes.section_size.empty()) options->section_size = SectionSizeForSlab(options->slab_size);
  if (options->section_size > kMaxSectionBytes) {
    Complain(command, "--section-size {} exceeds the format's limit of 4G ({} bytes)",
             sizes.section_size, kMaxSectionBytes);
    return false;
  }
  return true;
}

}  // namespace slablog::cli
