// slablog recover: copy every record that can be read from a damaged log into a new, clean one,
// and say what was lost. The input is never modified.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "copper_cli.h"
#include "log_sizes.h"
#include "output.h"
#include "problems.h"
#include "progress.h"
#include "slablog/recovery.h"

namespace slablog::cli {
namespace {

struct RecoverCliOptions {
  std::string log;
  std::string out;
  LogSizeOptions sizes;
  std::string copperlist_type;
};

ExitCode RunRecover(const RecoverCliOptions& opt) {
  WriterOptions wo;
  if (!ParseLogSizes("recover", opt.sizes, &wo)) return ExitCode::kUsage;
  if (IsCopperLog(opt.log)) return ConvertCopperLog("recover", opt.log, opt.out, wo, opt.copperlist_type);
  ProblemLog problems("recover");
  ProgressLine progress("recover");
  auto done = Recover(opt.log, opt.out, wo, &problems, progress.Callback());
  if (!done) return Fail("recover", done.error());
  const RecoverResult& r = done.value();
  Print("{} records recovered into {}; {} problem{} in {}\n", r.records, opt.out, r.problems,
        r.problems == 1 ? "" : "s", opt.log);
  for (const RecoverStream& s : r.streams) {
    std::string where;
    for (size_t i = 0; i < s.offsets.size() && i < 5; ++i) where += (i ? ", " : " at offsets ") + std::to_string(s.offsets[i]);
    if (s.offsets.size() > 5) where += ", ...";
    Print("  {:<24} {:>10} records recovered; lost: {} record{} or more, {} bytes skipped{}\n", s.name,
          s.records, s.records_lost, s.records_lost == 1 ? "" : "s", s.bytes_dropped, where);
  }
  return r.problems > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
}

}  // namespace

void RegisterRecover(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<RecoverCliOptions>();
  CLI::App* sub = app.add_subcommand("recover", "Copy every intact record of a damaged log into a new log");
  sub->add_option("log", opt->log, "The damaged log (only read)")->required();
  sub->add_option("out", opt->out, "Base name of the new log (must not exist)")->required();
  AddLogSizeOptions(sub, &opt->sizes, "of the new log");
  AddCopperTypeOption(sub, &opt->copperlist_type);
  sub->final_callback([opt, rc] { *rc = RunRecover(*opt); });
}

}  // namespace slablog::cli
