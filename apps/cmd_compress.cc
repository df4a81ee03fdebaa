// slablog compress: a compressed copy of a log, for storage and upload (man slablog.5,
// Compressed sections). The input is only read; the copy appears whole or not at all.
#include <CLI/CLI.hpp>

#include <filesystem>

#include "commands.h"
#include "copper_cli.h"
#include "log_sizes.h"
#include "output.h"
#include "problems.h"
#include "slablog/compressed_writer.h"

namespace slablog::cli {
namespace {

struct CompressCliOptions {
  std::string log;
  std::string out;
  int level = 1;
  LogSizeOptions sizes;
};

ExitCode RunCompress(const CompressCliOptions& opt) {
  WriterOptions sizes;
  if (!ParseLogSizes("compress", opt.sizes, &sizes)) return ExitCode::kUsage;
  if (IsCopperLog(opt.log)) {
    Complain("compress", "{} is a Copper log: convert it first (slablog convert), then compress that", opt.log);
    return ExitCode::kUsage;
  }
  CompressedWriterOptions co;
  co.level = opt.level;
  co.slab_bytes = sizes.slab_size;
  co.section_bytes = sizes.section_size;
  ProblemLog problems("compress");
  auto done = Compress(opt.log, opt.out, co, &problems);
  if (!done) return Fail("compress", done.error());
  const CompressedWriter::Stats& s = done->stats;
  uint64_t out_bytes = 0;
  for (const auto& [index, path] : ListSlabFiles(opt.out)) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) out_bytes += size;
  }
  Print("{} records ({} bytes) of {} compressed into {}: {} bytes of log -> {} bytes ({:.2f}x smaller); "
        "{} of {} sections stored compressed\n",
        s.records, s.payload_bytes, opt.log, opt.out, done->log_bytes, out_bytes,
        out_bytes > 0 ? static_cast<double>(done->log_bytes) / static_cast<double>(out_bytes) : 0.0,
        s.compressed_sections, s.sections);
  if (done->torn > 0) {
    Print("  {} torn tail{} in {} (what a crash leaves; no record there)\n", done->torn, done->torn == 1 ? "" : "s",
          opt.log);
  }
  return ExitCode::kOk;
}

}  // namespace

void RegisterCompress(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<CompressCliOptions>();
  CLI::App* sub = app.add_subcommand("compress", "Write a zstd-compressed copy of a log");
  sub->add_option("log", opt->log, "The log to compress (only read)")->required();
  sub->add_option("out", opt->out, "Base name of the compressed log (must not exist)")->required();
  sub->add_option("-l,--level", opt->level, "zstd level, 1 (fastest) to 19 (smallest)")
      ->check(CLI::Range(1, 19))
      ->capture_default_str();
  AddLogSizeOptions(sub, &opt->sizes, "of the compressed log (--section-size: frames per section before compression)");
  sub->final_callback([opt, rc] { *rc = RunCompress(*opt); });
}

}  // namespace slablog::cli
