// slablog info: what a log holds (slabs, streams, records, bytes, time range) and whether it was
// closed cleanly. Closed sections are summed from their headers without reading their frames.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "copper_cli.h"
#include "many_logs.h"
#include "output.h"
#include "problems.h"
#include "slablog/reader.h"
#include "time_format.h"

namespace slablog::cli {
namespace {

struct InfoOptions {
  std::vector<std::string> logs;
  bool json = false;
  std::string copperlist_type;
  std::string time_format;
};

struct StreamTotals {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t sections = 0;
  uint64_t open_sections = 0;
  std::optional<int64_t> first_t;
  std::optional<int64_t> last_t;

  void AddTimes(int64_t first, int64_t last) {
    first_t = first_t ? std::min(*first_t, first) : first;
    last_t = last_t ? std::max(*last_t, last) : last;
  }
};

struct LogTotals {
  std::map<uint32_t, StreamTotals> streams;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t open_sections = 0;
};

void Collect(Reader& reader, LogTotals* totals) {
  Item item;
  while (reader.Next(&item)) {
    if (item.kind == ItemKind::kSection) {
      const SectionInfo& s = *item.section;
      if (s.open.stream_id == kCatalogStream) {
        // Counted with the others, as verify and truncate count them: one number for one log.
        if (!s.close) ++totals->open_sections;
        continue;
      }
      StreamTotals& t = totals->streams[s.open.stream_id];
      ++t.sections;
      if (s.close) {
        t.records += s.close->record_count;
        t.bytes += s.close->payload_bytes;
        if (s.close->frame_count > 0) t.AddTimes(s.close->first_t, s.close->last_t);
        reader.SkipSection();
      } else {
        ++t.open_sections;
        ++totals->open_sections;
      }
    } else if (item.kind == ItemKind::kFrame && item.frame.crc_ok &&
               item.section->open.stream_id != kCatalogStream) {
      // An open section has no totals on disk: count its frames as a close would have.
      StreamTotals& t = totals->streams[item.section->open.stream_id];
      const FragmentKind k = item.frame.header.kind;
      if (k == FragmentKind::kFull || k == FragmentKind::kLast) ++t.records;
      t.bytes += item.frame.payload.size();
      t.AddTimes(item.frame.header.timestamp, item.frame.header.timestamp);
    }
  }
  // Streams that were opened but never written have no sections; the catalog still lists them.
  for (const CatalogEntry* e : reader.streams()) totals->streams.try_emplace(e->stream_id);
  for (const auto& [id, t] : totals->streams) {
    totals->records += t.records;
    totals->bytes += t.bytes;
  }
}

std::optional<int64_t> LogFirstT(const LogTotals& totals) {
  std::optional<int64_t> t;
  for (const auto& [id, s] : totals.streams) {
    if (s.first_t) t = std::min(t.value_or(*s.first_t), *s.first_t);
  }
  return t;
}
std::optional<int64_t> LogLastT(const LogTotals& totals) {
  std::optional<int64_t> t;
  for (const auto& [id, s] : totals.streams) {
    if (s.last_t) t = std::max(t.value_or(*s.last_t), *s.last_t);
  }
  return t;
}

void PrintText(const Reader& reader, const LogTotals& totals, const ProblemLog& problems) {
  const LogSummary& s = reader.summary();
  const auto& files = reader.files();
  const std::string layout = fmt::format("({} file{}, {} slab{}, page {}, slab capacity {})", files.size(),
                                         files.size() == 1 ? "" : "s", s.slabs, s.slabs == 1 ? "" : "s",
                                         s.page_size, HumanBytes(s.slab_capacity));
  Print("{}\n", Wrapped("log:      ", files.front() + " " + layout));
  if (s.log_id) Print("log id:   {}\n", LogIdHex(*s.log_id));
  if (s.clean) {
    Print("state:    closed cleanly\n");
  } else if (s.writer_active) {
    Print("state:    being written ({} open section{}; a writer has the log open)\n", totals.open_sections,
          totals.open_sections == 1 ? "" : "s");
  } else {
    Print("state:    NOT closed cleanly ({} open section{}); slablog truncate repairs it\n",
               totals.open_sections, totals.open_sections == 1 ? "" : "s");
  }
  if (problems.total() > 0) {
    Print("problems: {} ({} torn tail{}, {} damage)\n", problems.total(), problems.torn(),
               problems.torn() == 1 ? "" : "s", problems.damage());
  }
  Print("records:  {} in {} stream{}, {}\n", totals.records, totals.streams.size(),
             totals.streams.size() == 1 ? "" : "s", HumanBytes(totals.bytes));
  if (s.ring) Print("{}\n", RingLine(s.ring_slabs_gone, s.ring_partial_records, LogFirstT(totals), LogLastT(totals)));
  if (s.compressed_sections > 0) {
    Print("{}\n", CompressedLine(s.compressed_sections, s.compressed_stored_bytes, s.compressed_raw_bytes));
  }
  if (totals.streams.empty()) return;
  // Each stream's time range on a line under its row: on one line, rows ran to 184 columns. A long
  // name is cut (--json has it whole).
  Print("\n{:>4}  {:<24} {:<8} {:>6} {:>12} {:>12}\n", "ID", "STREAM", "ENCODING", "TYPE", "RECORDS", "BYTES");
  for (const auto& [id, t] : totals.streams) {
    const CatalogEntry* e = reader.stream(id);
    Print("{:>4}  {} {:<8} {:>6} {:>12} {:>12}\n", id, FitColumn(e != nullptr ? e->name : "(not in catalog)", 24),
          e != nullptr ? EncodingName(e->encoding) : "?", e != nullptr ? e->type : 0, t.records, t.bytes);
    if (t.first_t) Print("{:>8}{}\n", "", TimeRangeText(*t.first_t, *t.last_t));
  }
}

void PrintJson(const Reader& reader, const LogTotals& totals, const ProblemLog& problems, TimeFormat time_format) {
  const LogSummary& s = reader.summary();
  nlohmann::ordered_json j;
  j["clean"] = s.clean;
  j["writer_active"] = s.writer_active;
  j["slabs"] = s.slabs;
  j["records"] = totals.records;
  j["bytes"] = totals.bytes;
  j["log_id"] = s.log_id ? LogIdHex(*s.log_id) : "";
  j["files"] = reader.files();
  j["page_size"] = s.page_size;
  j["slab_capacity"] = s.slab_capacity;
  j["open_sections"] = totals.open_sections;
  j["problems"] = problems.total();
  j["ring"] = s.ring;
  if (s.ring) {
    j["ring_slabs_reused"] = s.ring_slabs_gone;
    j["ring_partial_records"] = s.ring_partial_records;
  }
  j["compressed"] = s.compressed_sections > 0;
  if (s.compressed_sections > 0) {
    j["compressed_sections"] = s.compressed_sections;
    j["compressed_bytes"] = s.compressed_stored_bytes;
    j["uncompressed_bytes"] = s.compressed_raw_bytes;
  }
  const auto first = LogFirstT(totals), last = LogLastT(totals);
  j["first_t"] = first ? TimeJson(*first, time_format) : nlohmann::ordered_json(nullptr);
  j["last_t"] = last ? TimeJson(*last, time_format) : nlohmann::ordered_json(nullptr);
  j["streams"] = nlohmann::ordered_json::array();
  for (const auto& [id, t] : totals.streams) {
    const CatalogEntry* e = reader.stream(id);
    nlohmann::ordered_json st;
    st["id"] = id;
    st["name"] = e != nullptr ? nlohmann::ordered_json(e->name) : nlohmann::ordered_json(nullptr);
    st["encoding"] = e != nullptr ? EncodingName(e->encoding) : "unknown";
    st["type"] = e != nullptr ? e->type : 0;
    st["records"] = t.records;
    st["bytes"] = t.bytes;
    st["sections"] = t.sections;
    st["first_t"] = t.first_t ? TimeJson(*t.first_t, time_format) : nlohmann::ordered_json(nullptr);
    st["last_t"] = t.last_t ? TimeJson(*t.last_t, time_format) : nlohmann::ordered_json(nullptr);
    j["streams"].push_back(std::move(st));
  }
  PrintJsonReport(j);
}

ExitCode InfoOfLog(const InfoOptions& opt, const std::string& log, TimeFormat time_format,
                   const std::optional<copper::CopperType>& copper_type) {
  if (IsCopperLog(log)) return CopperInfo(log, opt.json, copper_type ? &*copper_type : nullptr, time_format);
  ProblemLog problems("info");
  ReaderOptions ro;
  ro.records = false;
  ro.frames = true;
  auto reader = Reader::Open(log, ro, &problems);
  if (!reader) {
    if (opt.json) PrintJsonReportError(Describe(reader.error()));
    return Fail("info", reader.error());
  }
  LogTotals totals;
  Collect(*reader.value(), &totals);
  if (opt.json) {
    PrintJson(*reader.value(), totals, problems, time_format);
  } else {
    PrintText(*reader.value(), totals, problems);
  }
  // A torn tail is what a crash leaves and info reports it as state; damage is a data problem.
  return problems.damage() > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
}

// As verify: a block per log, or one JSON line per log when several were named.
ExitCode RunInfo(const InfoOptions& opt) {
  // The options are checked once, before any log: a bad one is said once, not once per log.
  TimeFormat time_format = TimeFormat::kNs;
  if (!ParseTimeFormatOption("info", opt.time_format, &time_format)) return ExitCode::kUsage;
  std::optional<copper::CopperType> copper_type;
  if (!ParseCopperTypeOption("info", opt.copperlist_type, &copper_type)) return ExitCode::kUsage;
  const std::vector<std::string> logs = DistinctLogs(opt.logs);
  ExitCode rc = ExitCode::kOk;
  for (size_t i = 0; i < logs.size(); ++i) {
    if (i > 0 && !opt.json) Print("\n");
    SetJsonReportLog(opt.logs.size() > 1 ? &logs[i] : nullptr);
    rc = WorseExitCode(rc, InfoOfLog(opt, logs[i], time_format, copper_type));
  }
  SetJsonReportLog(nullptr);
  return rc;
}

}  // namespace

void RegisterInfo(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Summarise logs: slabs, streams, records, bytes, time range, clean close");
  sub->add_option("log", opt->logs,
                  "Logs: base names, slab files (each log is shown once), or files of joined slabs")
      ->required();
  sub->add_flag("-j,--json", opt->json, "Print one JSON document (several logs: one line per log, named by \"log\")");
  AddCopperTypeOption(sub, &opt->copperlist_type);
  AddTimeFormatOption(sub, &opt->time_format);
  sub->final_callback([opt, rc] { *rc = RunInfo(*opt); });
}

}  // namespace slablog::cli
