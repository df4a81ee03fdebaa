// slablog merge: join logs into one. Streams of the same name become one stream, and records are
// taken in timestamp order by a k-way merge over one cursor per (log, stream), so memory does not
// depend on the logs' sizes. The inputs are only read; OUT appears when it is complete.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <map>
#include <queue>

#include "commands.h"
#include "copper_cli.h"
#include "log_copy.h"
#include "log_sizes.h"
#include "new_logs.h"
#include "output.h"
#include "problems.h"
#include "progress.h"
#include "stop_signal.h"

namespace slablog::cli {
namespace {

constexpr const char* kMergeCmd = "merge";

struct MergeOptions {
  std::string out;
  std::vector<std::string> logs;
  bool force = false;
  LogSizeOptions sizes;
};

// The records of one stream of one input, in log order.
struct Cursor {
  std::unique_ptr<Reader> reader;
  const CatalogEntry* merged = nullptr;  // the output stream it feeds
  size_t input = 0;                      // position of its log on the command line
  size_t order = 0;                      // tie-break among cursors of one input
  Item item;

  bool Advance() {
    while (reader->Next(&item)) {
      if (item.kind == ItemKind::kRecord) return true;
    }
    // Done: its maps go now, not at the end, so that merging many pieces in time order keeps
    // few of them mapped at once.
    reader.reset();
    return false;
  }
  const RecordView& record() const { return item.record; }
};

// Earliest timestamp first; equal timestamps in the order of the inputs, so that merging the
// pieces of a split gives back each stream's order.
struct Later {
  bool operator()(const Cursor* a, const Cursor* b) const {
    if (a->record().timestamp != b->record().timestamp) return a->record().timestamp > b->record().timestamp;
    if (a->input != b->input) return a->input > b->input;
    return a->order > b->order;
  }
};

std::string Describe(const CatalogEntry& e) {
  return fmt::format("{} (type {})", EncodingName(e.encoding), e.type);
}

ExitCode RunMerge(const MergeOptions& opt) {
  WriterOptions wo;
  if (!ParseLogSizes(kMergeCmd, opt.sizes, &wo)) return ExitCode::kUsage;
  // Every input's streams first: a conflict is found before anything is written.
  std::vector<LogSurvey> surveys;
  std::vector<CatalogEntry> merged;  // output streams, in order of first appearance
  std::map<std::string, size_t> by_name;
  for (const std::string& log : opt.logs) {
    if (RefuseCopperLog(kMergeCmd, log)) return ExitCode::kUsage;
  }
  for (size_t i = 0; i < opt.logs.size(); ++i) {
    auto survey = SurveyLog(opt.logs[i], false);
    if (!survey) return Fail(kMergeCmd, survey.error());
    std::error_code ec;
    for (size_t j = 0; j < i; ++j) {
      if (std::filesystem::equivalent(survey->files.front(), surveys[j].files.front(), ec)) {
        Complain(kMergeCmd, "{} and {} are the same log", opt.logs[j], opt.logs[i]);
        return ExitCode::kUsage;
      }
    }
    for (const CatalogEntry& e : survey->streams) {
      auto [it, inserted] = by_name.emplace(e.name, merged.size());
      if (inserted) {
        merged.push_back(e);
      } else if (merged[it->second].encoding != e.encoding || merged[it->second].type != e.type) {
        Complain(kMergeCmd, "stream '{}' is {} in an earlier log but {} in {}: such streams cannot be joined",
                 e.name, Describe(merged[it->second]), Describe(e), opt.logs[i]);
        return ExitCode::kDataProblem;
      }
    }
    surveys.push_back(std::move(survey.value()));
  }

  NewLogs logs(opt.force);
  for (const LogSurvey& s : surveys) logs.Protect(s.files);
  auto temp = logs.Add(opt.out);
  if (!temp) return Fail(kMergeCmd, temp.error());

  ProblemLog problems(kMergeCmd);
  problems.OncePerPlace();  // damage outside one stream's frames is seen by all its cursors
  size_t streams = 0;
  for (const LogSurvey& s : surveys) streams += s.streams.size();
  std::vector<Cursor> cursors;
  cursors.reserve(streams);
  for (size_t i = 0; i < surveys.size(); ++i) {
    for (size_t k = 0; k < surveys[i].streams.size(); ++k) {
      const CatalogEntry& e = surveys[i].streams[k];
      ReaderOptions ro;
      ro.only_streams = {e.name};
      // A page-mapping thread per cursor is worth it only when there are few.
      if (streams > 2) {
        ro.threads = 1;
        ro.background_prefault = false;
      }
      auto reader = Reader::Open(opt.logs[i], ro, &problems);
      if (!reader) return Fail(kMergeCmd, reader.error());
      cursors.push_back(Cursor{std::move(reader.value()), &merged[by_name.at(e.name)], i, k, {}});
    }
  }

  auto out = OutputLog::Create(temp.value(), wo);
  if (!out) return Fail(kMergeCmd, out.error());
  for (const CatalogEntry& e : merged) {  // streams without records are kept too
    if (Status st = out.value()->OpenStream(e); !st) return Fail(kMergeCmd, st.error());
  }
  CatchStopSignals();
  std::priority_queue<Cursor*, std::vector<Cursor*>, Later> heap;
  for (Cursor& c : cursors) {
    if (c.Advance()) heap.push(&c);
  }
  // Progress in frame bytes copied against the inputs' size: near enough (the inputs' headers and
  // padding are not copied), as each input is read by many cursors at once.
  ProgressLine progress(kMergeCmd);
  uint64_t input_bytes = 0;
  for (const LogSurvey& survey : surveys) input_bytes += LogPosition(survey.files).total();
  uint64_t n = 0;
  while (!heap.empty()) {
    if ((++n & 0xFFF) == 0) {
      if (StopRequested().load()) {
        Complain(kMergeCmd, "interrupted: {} was not written", opt.out);
        return ExitCode::kInterrupted;
      }
      progress.Update(out.value()->frame_bytes(), input_bytes);
    }
    Cursor* c = heap.top();
    heap.pop();
    if (Status st = out.value()->Append(*c->merged, c->record().payload, c->record().timestamp); !st) {
      return Fail(kMergeCmd, st.error());
    }
    if (c->Advance()) heap.push(c);
  }
  if (Status st = out.value()->Close(); !st) return Fail(kMergeCmd, st.error());
  if (Status st = logs.Publish(); !st) return Fail(kMergeCmd, st.error());
  Print("{} records of {} stream{} from {} log{} merged into {}\n", out.value()->records(), merged.size(),
        merged.size() == 1 ? "" : "s", opt.logs.size(), opt.logs.size() == 1 ? "" : "s", opt.out);
  if (problems.damage() > 0) {
    Complain(kMergeCmd, "{} problem{} in the inputs: {} holds every record that could be read",
             problems.damage(), problems.damage() == 1 ? "" : "s", opt.out);
    return ExitCode::kDataProblem;
  }
  return ExitCode::kOk;
}

}  // namespace

void RegisterMerge(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<MergeOptions>();
  CLI::App* sub = app.add_subcommand("merge", "Join logs into one: same-named streams joined, records in timestamp order");
  sub->add_option("out", opt->out, "Base name of the merged log")->required();
  sub->add_option("logs", opt->logs, "Logs to merge (only read)")->required();
  sub->add_flag("-f,--force", opt->force, "Replace OUT if it exists");
  AddLogSizeOptions(sub, &opt->sizes, "of the merged log");
  sub->final_callback([opt, rc] { *rc = RunMerge(*opt); });
}

}  // namespace slablog::cli
