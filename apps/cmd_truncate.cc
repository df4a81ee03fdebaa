// slablog truncate: repair, in place, a log whose writer died: close its open sections, cut the
// torn tail, write the end marker. Refuses to cut anywhere else.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "copper_cli.h"
#include "output.h"
#include "problems.h"
#include "slablog/recovery.h"

namespace slablog::cli {
namespace {

struct TruncateCliOptions {
  std::string log;
  bool dry_run = false;
  std::string save_cut;
};

ExitCode RunTruncate(const TruncateCliOptions& opt) {
  if (RefuseCopperLog("truncate", opt.log)) return ExitCode::kUsage;
  TruncateOptions to;
  to.dry_run = opt.dry_run;
  to.save_cut = opt.save_cut;
  auto done = Truncate(opt.log, to, nullptr);
  if (!done) return Fail("truncate", done.error());
  const TruncateResult& r = done.value();
  if (!r.changed) {
    Print("{}: closed cleanly; nothing to do (no file was changed)\n", opt.log);
    return ExitCode::kOk;
  }
  const char* verb = opt.dry_run ? "would cut" : "cut";
  for (const TruncateCut& c : r.cuts) {
    Print("{}: {} offset {}, {} bytes, stream '{}': {}\n", verb, c.file, c.offset, c.bytes, c.stream_name, c.reason);
  }
  Print("{} {} open section{}{}", opt.dry_run ? "would close" : "closed", r.sections_closed,
        r.sections_closed == 1 ? "" : "s",
        r.sections_shrunk > 0 ? fmt::format(", shorten {} closed one{}", r.sections_shrunk, r.sections_shrunk == 1 ? "" : "s") : "");
  if (!r.end_marker_file.empty()) {
    Print(", {} the end marker at {} offset {}", opt.dry_run ? "write" : "wrote", r.end_marker_file, r.end_marker_offset);
  }
  if (r.trimmed_bytes > 0) Print(", {} {} bytes off the last slab", opt.dry_run ? "trim" : "trimmed", r.trimmed_bytes);
  if (!r.removed_file.empty()) {
    Print(", {} {} (a slab file the writer had only begun, with nothing in it)",
          opt.dry_run ? "remove" : "removed", r.removed_file);
  }
  if (r.trim_deferred) Print(" (the trim waits: a reader has the last slab open; run truncate again later)");
  // Every frame's CRC was checked before anything was written (truncate refuses any damage), so
  // the log it leaves is one verify accepts.
  Print("\n{}\n", opt.dry_run ? "dry run: nothing was written" : "the log is now closed cleanly");
  return ExitCode::kOk;
}

}  // namespace

void RegisterTruncate(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<TruncateCliOptions>();
  CLI::App* sub = app.add_subcommand("truncate", "Repair in place a log whose writer died (cut the torn tail, close it)");
  sub->add_option("log", opt->log, "Log base name or one of its slab files")->required();
  sub->add_flag("-n,--dry-run", opt->dry_run, "Print what would be cut and closed; write nothing");
  sub->add_option("--save-cut", opt->save_cut, "Append the bytes that are cut to this file first, for forensics");
  sub->final_callback([opt, rc] { *rc = RunTruncate(*opt); });
}

}  // namespace slablog::cli
