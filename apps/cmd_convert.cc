// slablog convert: a log of another format (Copper's unified log) written as a slablog log, crashed
// logs included, so that every slablog command applies to it. The input is only read.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "copper_cli.h"
#include "log_sizes.h"
#include "output.h"
#include "problems.h"
#include "slablog/log_format.h"

namespace slablog::cli {
namespace {

struct ConvertCliOptions {
  std::string log;
  std::string out;
  LogSizeOptions sizes;
  std::string copperlist_type;
};

ExitCode RunConvert(const ConvertCliOptions& opt) {
  WriterOptions wo;
  if (!ParseLogSizes("convert", opt.sizes, &wo)) return ExitCode::kUsage;
  if (!IsCopperLog(opt.log)) {
    Complain("convert", "{} is not a Copper log (no main header b4 a5 50 ff in its first slab); a slablog log "
             "needs no converting ('slablog recover' copies one)", opt.log);
    return ExitCode::kUsage;
  }
  return ConvertCopperLog("convert", opt.log, opt.out, wo, opt.copperlist_type);
}

}  // namespace

ExitCode ConvertCopperLog(const char* command, const std::string& log, const std::string& out,
                          const WriterOptions& options, const std::string& copperlist_type) {
  std::optional<copper::CopperType> type;
  if (!ParseCopperTypeOption(command, copperlist_type, &type)) return ExitCode::kUsage;
  ProblemLog problems(command);
  auto done = copper::ConvertToSlablog(log, out, options, type ? &*type : nullptr, &problems);
  if (!done) return Fail(command, done.error());
  const copper::ConvertResult& r = done.value();
  std::string copperlists = type ? std::to_string(r.copperlists) + " copperlists"
                                 : std::to_string(r.copperlist_sections) + " copperlist sections (whole: no --copperlist-type)";
  Print("{} log lines, {}{} written to {}; {} problem{} in {} ({})\n", r.log_lines, copperlists,
        r.keyframe_sections > 0 ? ", " + std::to_string(r.keyframe_sections) + " keyframe sections" : "", out,
        r.problems, r.problems == 1 ? "" : "s", log, r.source_clean ? "closed cleanly" : "NOT closed cleanly");
  if (r.entries_ending_in_zeros > 0) {
    Print("{} entr{} may hold zero bytes the writer never wrote (torn by the crash, or a sector lost); kept: "
          "'slablog export' marks {} \"trailing_zeros_possible\" or \"zero_sector_possible\"\n",
          r.entries_ending_in_zeros, r.entries_ending_in_zeros == 1 ? "y" : "ies",
          r.entries_ending_in_zeros == 1 ? "it" : "them");
  }
  return r.problems > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
}

void RegisterConvert(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<ConvertCliOptions>();
  CLI::App* sub = app.add_subcommand("convert", "Write a Copper log (crashed or not) as a new slablog log");
  sub->add_option("log", opt->log, "The Copper log: base name (run.copper) or any slab file (only read)")->required();
  sub->add_option("out", opt->out, "Base name of the new slablog log (must not exist)")->required();
  AddLogSizeOptions(sub, &opt->sizes, "of the new log");
  AddCopperTypeOption(sub, &opt->copperlist_type);
  sub->final_callback([opt, rc] { *rc = RunConvert(*opt); });
}

}  // namespace slablog::cli
