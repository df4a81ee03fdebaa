// slablog verify: is every byte of a log accounted for, and was it closed cleanly? For CI: graded
// exit codes, a JSON report, every problem with file and offset.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "copper_cli.h"
#include "many_logs.h"
#include "output.h"
#include "problems.h"
#include "progress.h"
#include "slablog/recovery.h"

namespace slablog::cli {
namespace {

struct VerifyCliOptions {
  std::vector<std::string> logs;
  bool json = false;
  unsigned threads = 0;
  bool quiet = false;
  std::string copperlist_type;
};

nlohmann::ordered_json ProblemJson(const Corruption& c) {
  nlohmann::ordered_json p;
  p["slab"] = c.file;
  p["slab_index"] = c.slab;
  p["offset"] = c.offset;
  p["stream"] = !c.stream_name.empty() ? nlohmann::ordered_json(c.stream_name)
                : c.stream != Corruption::kNoStream ? nlohmann::ordered_json(std::to_string(c.stream))
                                                    : nlohmann::ordered_json(nullptr);
  p["kind"] = CorruptionKindName(c.kind);
  p["detail"] = c.detail;
  p["bytes_dropped"] = c.bytes_dropped;
  return p;
}

ExitCode VerifyLog(const VerifyCliOptions& opt, const std::string& log,
                   const std::optional<copper::CopperType>& copper_type) {
  if (IsCopperLog(log)) return CopperVerify(log, opt.json, opt.quiet, copper_type ? &*copper_type : nullptr);
  ProblemLog problems("verify", /*print=*/!opt.json && !opt.quiet);
  ProgressLine bar("verify", opt.quiet ? ProgressShown::kNever : ProgressShown::kIfStderrIsTerminal);
  VerifyOptions vo;
  vo.threads = opt.threads != 0 ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  vo.progress = bar.Callback();
  auto verified = Verify(log, vo, &problems);
  if (!verified) {
    if (opt.json) PrintJsonReportError(Describe(verified.error()));
    return Fail("verify", verified.error());
  }
  const VerifyResult& r = verified.value();
  const bool ok = r.ok() && !r.writer_active;
  if (opt.json) {
    nlohmann::ordered_json j;
    j["ok"] = ok;
    j["clean"] = r.clean;
    j["writer_active"] = r.writer_active;
    j["records"] = r.records;
    j["bytes"] = r.bytes;
    j["slabs"] = r.slabs;
    j["sections"] = r.sections;
    j["open_sections"] = r.open_sections;
    j["log_bytes"] = r.log_bytes;
    j["ring"] = r.ring;
    if (r.ring) {
      j["ring_slabs_reused"] = r.ring_slabs_gone;
      j["ring_partial_records"] = r.ring_partial_records;
    }
    j["compressed"] = r.compressed_sections > 0;
    if (r.compressed_sections > 0) {
      j["compressed_sections"] = r.compressed_sections;
      j["compressed_bytes"] = r.compressed_bytes;
      j["uncompressed_bytes"] = r.uncompressed_bytes;
    }
    j["first_t"] = r.first_t ? nlohmann::ordered_json(*r.first_t) : nlohmann::ordered_json(nullptr);
    j["last_t"] = r.last_t ? nlohmann::ordered_json(*r.last_t) : nlohmann::ordered_json(nullptr);
    j["problem_count"] = problems.total();
    j["problems"] = nlohmann::ordered_json::array();
    for (const Corruption& c : problems.kept()) j["problems"].push_back(ProblemJson(c));
    PrintJsonReport(j);
  } else if (!opt.quiet) {
    Print("{}: {} records ({}) in {} slab{}, {} sections checked; {} problem{}; {}\n", log,
          r.records, HumanBytes(r.bytes), r.slabs, r.slabs == 1 ? "" : "s", r.sections,
          problems.total(), problems.total() == 1 ? "" : "s",
          Coloured(STDOUT_FILENO, ok ? Colour::kGreen : Colour::kRed,
                   r.clean ? "closed cleanly" : r.writer_active ? "being written" : "NOT closed cleanly"));
    if (r.ring) Print("{}\n", RingLine(r.ring_slabs_gone, r.ring_partial_records, r.first_t, r.last_t));
    if (r.compressed_sections > 0) Print("{}\n", CompressedLine(r.compressed_sections, r.compressed_bytes, r.uncompressed_bytes));
  }
  if (ok) return ExitCode::kOk;
  if (!opt.json && !opt.quiet) {
    if (r.writer_active) {
      Complain("verify", "a writer has {} open: {} section{} in progress ({} frame{} being written)",
               log, r.open_sections, r.open_sections == 1 ? "" : "s", r.in_progress,
               r.in_progress == 1 ? "" : "s");
    } else if (!r.clean && r.damage == 0) {
      Complain("verify", "{} was not closed cleanly ({} open section{}); `slablog truncate {}` repairs it",
               log, r.open_sections, r.open_sections == 1 ? "" : "s", log);
    } else if (r.clean && r.damage == 0) {
      Complain("verify", "{} is closed cleanly, but has what a crash or power cut left past its end "
               "(torn-tail above); `slablog truncate {}` cleans it up", log, log);
    } else if (r.damage > 0) {
      Complain("verify", "{} problem{} in the middle of the log; `slablog recover {} OUT` salvages every intact record",
               r.damage, r.damage == 1 ? "" : "s", log);
    }
  }
  return ExitCode::kDataProblem;
}

// Each log in turn, its report printed before the next is read: a block per log in text (each
// names its log), one line per log in --json when several were named.
ExitCode RunVerify(const VerifyCliOptions& opt) {
  // Checked once, before any log: a bad option is said once, not once per log.
  std::optional<copper::CopperType> copper_type;
  if (!ParseCopperTypeOption("verify", opt.copperlist_type, &copper_type)) return ExitCode::kUsage;
  const std::vector<std::string> logs = DistinctLogs(opt.logs);
  ExitCode rc = ExitCode::kOk;
  for (size_t i = 0; i < logs.size(); ++i) {
    if (i > 0 && !opt.json && !opt.quiet) Print("\n");
    SetJsonReportLog(opt.logs.size() > 1 ? &logs[i] : nullptr);
    rc = WorseExitCode(rc, VerifyLog(opt, logs[i], copper_type));
  }
  SetJsonReportLog(nullptr);
  return rc;
}

}  // namespace

void RegisterVerify(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<VerifyCliOptions>();
  CLI::App* sub = app.add_subcommand("verify", "Check every header, frame CRC and the structure of logs");
  sub->add_option("log", opt->logs,
                  "Logs: base names, slab files (each log is checked once), or files of joined slabs")
      ->required();
  sub->add_flag("-j,--json", opt->json,
                "Print a JSON report on standard output (several logs: one line per log, named by \"log\")");
  sub->add_option("-t,--threads", opt->threads, "Threads to use (default: one per core; 1: a single core)");
  sub->add_flag("-q,--quiet", opt->quiet, "Print nothing; only the exit code tells");
  AddCopperTypeOption(sub, &opt->copperlist_type);
  sub->final_callback([opt, rc] { *rc = RunVerify(*opt); });
}

}  // namespace slablog::cli
