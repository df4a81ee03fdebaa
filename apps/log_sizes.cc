#include "log_sizes.h"

#include <CLI/CLI.hpp>

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

bool ParseLogSizes(std::string_view command, const LogSizeOptions& sizes, WriterOptions* options) {
  if (!ParseSize(sizes.slab_size, &options->slab_size) ||
      (!sizes.section_size.empty() && !ParseSize(sizes.section_size, &options->section_size))) {
    Complain(command, "sizes take a number with an optional K, M, G or T suffix (powers of 1024)");
    return false;
  }
  if (sizes.section_size.empty()) options->section_size = DefaultSectionSize(options->slab_size, SystemPageSize());
  if (options->section_size > kMaxSectionBytes) {
    Complain(command, "--section-size {} exceeds the format's limit of 4G ({} bytes)",
             sizes.section_size, kMaxSectionBytes);
    return false;
  }
  return true;
}

}  // namespace slablog::cli
