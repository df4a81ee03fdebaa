// slablog export: records (or sections) as NDJSON for jq, grep and analysis tools. A time filter
// skips whole closed sections by their recorded time range without reading their records.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <limits>
#include <map>
#include <optional>

#include "commands.h"
#include "copper_cli.h"
#include "csv_export.h"
#include "emitter.h"
#include "json_out.h"
#include "mcap_export.h"
#include "output.h"
#include "time_format.h"
#include "time_window.h"
#include "problems.h"
#include "progress.h"
#include "record_json.h"
#include "slablog/reader.h"

namespace slablog::cli {
namespace {

struct ExportOptions {
  std::string log;
  std::vector<std::string> streams;
  std::string since;
  std::string until;
  uint64_t limit = 0;
  bool array = false;
  bool sections = false;
  bool records = false;
  std::string copperlist_type;
  std::string time_format;
  std::string format = "json";  // json | mcap
  std::string output;           // -o: with --format mcap, the file to write ("-": standard output)
  std::string compression;      // --format mcap: zstd (default) | none
  bool force = false;           // replace an existing -o file
  std::string fields;  // --format csv: the columns, comma-separated
};

// The options --format mcap needs or refuses; an error message, or empty when they fit.
std::string McapOptionProblem(const ExportOptions& opt, bool copper_log) {
  if (opt.format != "mcap") {
    if (!opt.output.empty() || !opt.compression.empty() || opt.force) return "-o, --compression and --force need --format mcap";
    return "";
  }
  if (copper_log) return "--format mcap reads slablog logs only; convert a Copper log first (slablog convert)";
  if (opt.output.empty()) return "--format mcap needs -o FILE (or -o - for standard output)";
  if (opt.array || opt.sections || opt.records) return "--array, --sections and --records are for --format json";
  // MCAP's log_time is integer nanoseconds by its spec: another format there would be ignored.
  if (!opt.time_format.empty()) return "--time-format is not for --format mcap (MCAP times are nanoseconds)";
  return "";
}

// A section being exported with --sections: its fields, plus what its records add.
struct SectionOut {
  SectionInfo info;
  std::string file;
  uint32_t slab = 0;
  uint64_t records = 0;
  std::optional<int64_t> first_t, last_t;
  std::string record_json;  // with --records
};

void AppendSection(std::string* s, const SectionOut& sec, const std::string& quoted_name, bool with_records,
                   TimeFormat time_format) {
  const auto& c = sec.info.close;
  auto opt_int = [&](const char* key, std::optional<int64_t> v) {
    s->append(",\"").append(key).append("\":");
    if (v) AppendInt(s, *v); else s->append("null");
  };
  auto opt_time = [&](const char* key, std::optional<int64_t> v) {
    s->append(",\"").append(key).append("\":");
    if (v) AppendTimeJson(s, *v, time_format); else s->append("null");
  };
  s->append("{\"slab\":");
  AppendJsonString(s, sec.file);
  s->append(",\"slab_index\":");
  AppendInt(s, sec.slab);
  s->append(",\"offset\":");
  AppendInt(s, static_cast<int64_t>(sec.info.offset));
  s->append(",\"stream\":");
  s->append(quoted_name);
  s->append(",\"seq\":");
  AppendInt(s, static_cast<int64_t>(sec.info.open.seq));
  s->append(c ? ",\"state\":\"closed\"" : ",\"state\":\"open\"");
  s->append(",\"size\":");
  AppendInt(s, static_cast<int64_t>(sec.info.open.size));
  opt_int("filled", c ? std::optional<int64_t>(static_cast<int64_t>(c->filled)) : std::nullopt);
  opt_int("payload_bytes", c ? std::optional<int64_t>(static_cast<int64_t>(c->payload_bytes)) : std::nullopt);
  const bool counted = c && !with_records;
  opt_int("record_count", static_cast<int64_t>(counted ? c->record_count : sec.records));
  opt_time("first_t", counted ? (c->frame_count ? std::optional<int64_t>(c->first_t) : std::nullopt) : sec.first_t);
  opt_time("last_t", counted ? (c->frame_count ? std::optional<int64_t>(c->last_t) : std::nullopt) : sec.last_t);
  if (with_records) s->append(",\"records\":[").append(sec.record_json).append("]");
  s->push_back('}');
}

ExitCode RunExport(const ExportOptions& opt) {
  const char* cmd = "export";
  const bool copper_log = IsCopperLog(opt.log);
  std::optional<copper::CopperType> type;
  if (copper_log && !ParseCopperTypeOption(cmd, opt.copperlist_type, &type)) return ExitCode::kUsage;
  TimeFormat time_format = TimeFormat::kNs;
  if (!ParseTimeFormatOption(cmd, opt.time_format, &time_format)) return ExitCode::kUsage;
  TimeWindow window;
  if (!ParseTimeWindow(cmd, opt.since, opt.until, [&] { return NewestRecordTime(opt.log, type ? &*type : nullptr); },
                       &window)) {
    return ExitCode::kUsage;
  }
  const int64_t since = window.since, until = window.until;
  if (std::string problem = McapOptionProblem(opt, copper_log); !problem.empty()) {
    Complain(cmd, "{}", problem);
    return ExitCode::kUsage;
  }
  if (opt.format == "mcap") {
    McapExportOptions mo{opt.log, opt.streams, since, until, window.any, opt.limit, opt.output, opt.force,
                         opt.compression == "none" ? McapCompression::kNone : McapCompression::kZstd};
    return McapExport(mo);
  }
  if (!opt.fields.empty() && opt.format != "csv") {
    Complain(cmd, "--fields needs --format csv");
    return ExitCode::kUsage;
  }
  if (opt.format == "csv") {
    if (opt.array || opt.sections || opt.records) {
      Complain(cmd, "--format csv writes records only: --array, --sections and --records are for NDJSON");
      return ExitCode::kUsage;
    }
    if (copper_log) {
      Complain(cmd, "{}: --format csv reads slablog logs only; convert the Copper log first (slablog convert)",
               opt.log);
      return ExitCode::kUsage;
    }
    return CsvExport(opt.log,
                     {opt.streams, since, until, window.any, opt.limit, SplitCsvFields(opt.fields), time_format});
  }
  if (copper_log) {
    CopperExportOptions co{opt.streams, since, until, window.any, opt.limit,
                           opt.array, opt.sections, opt.records, time_format};
    return CopperExport(opt.log, co, type ? &*type : nullptr);
  }
  ProblemLog problems(cmd);
  ReaderOptions ro;
  // Compressed sections decoded ahead on the helper thread only when every section is read:
  // those a window or a stream filter skips are never decompressed.
  ro.decode_ahead = !window.any && opt.streams.empty() && (!opt.sections || opt.records);
  auto opened = Reader::Open(opt.log, ro, &problems);
  if (!opened) return Fail(cmd, opened.error());
  Reader& reader = *opened.value();
  // No bar when the records go to the terminal, or into a pipe: what reads it (head, jq) may print
  // to the same terminal, through the bar. Into a file it is shown.
  ProgressLine progress(cmd, StdoutIsTerminalOrPipe() ? ProgressShown::kNever : ProgressShown::kIfStderrIsTerminal);
  const LogPosition position(reader.files());
  StdoutBuffer out;
  Emitter emit(&out, opt.array, opt.limit);
  JsonStreamLabels labels;
  std::map<uint32_t, bool> wanted;
  auto name_of = [&](uint32_t id) -> const std::string& { return labels.Get(reader, id).quoted_name; };
  std::optional<SectionOut> pending;  // --sections: the section whose records are still coming
  bool more = true;
  auto flush_section = [&] {
    if (pending && more) {
      AppendSection(&emit.Begin(), *pending, name_of(pending->info.open.stream_id), opt.records, time_format);
      more = emit.End();
    }
    pending.reset();
  };
  Item item;
  while (more && reader.Next(&item)) {
    if (item.kind == ItemKind::kSection) {
      if (opt.sections) flush_section();
      const SectionInfo& s = *item.section;
      progress.Update(position.At(s), position.total());
      const uint32_t id = s.open.stream_id;
      if (id == kCatalogStream) continue;
      auto w = wanted.find(id);
      if (w == wanted.end()) {
        const CatalogEntry* e = reader.stream(id);
        w = wanted.emplace(id, MatchesAnyGlob(opt.streams, e != nullptr ? e->name : "#" + std::to_string(id))).first;
      }
      // A closed section knows its time range: outside the filter, its records are never read.
      const bool out_of_range = s.close && s.close->frame_count > 0 && (s.close->last_t < since || s.close->first_t > until);
      if (!w->second || out_of_range) {
        reader.SkipSection();
        continue;
      }
      if (opt.sections) {
        pending = SectionOut{s, s.slab->file, s.slab->header.slab_index, 0, std::nullopt, std::nullopt, {}};
        pending->info.slab = nullptr;
        if (s.close && !opt.records) reader.SkipSection();  // its header says all
      }
      continue;
    }
    if (item.kind != ItemKind::kRecord) continue;
    const RecordView& r = item.record;
    if (r.timestamp < since || r.timestamp > until) continue;
    const JsonStreamLabel& label = labels.Get(reader, r.stream_id);
    if (opt.sections) {
      if (!pending) continue;
      ++pending->records;
      if (!pending->first_t) pending->first_t = r.timestamp;
      pending->last_t = r.timestamp;
      if (opt.records) {
        if (!pending->record_json.empty()) pending->record_json.push_back(',');
        AppendRecordJson(&pending->record_json, label, r, time_format);
      }
      continue;
    }
    AppendRecordJson(&emit.Begin(), label, r, time_format);
    more = emit.End();
  }
  if (opt.sections) flush_section();
  return FinishExport(cmd, &emit, out, problems);
}

}  // namespace

void RegisterExport(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand("export", "Print records (or sections) as NDJSON");
  sub->add_option("log", opt->log, "Log base name, one of its slab files, or a file of joined slabs")->required();
  sub->add_option("-s,--stream", opt->streams, "Only streams whose name matches this shell glob (repeatable)");
  sub->add_option("--since", opt->since,
                  "Only records at or after this time (nanoseconds, RFC 3339, or -DURATION back from the newest record)");
  sub->add_option("--until", opt->until, "Only records at or before this time (as --since)");
  sub->add_option("-n,--limit", opt->limit, "Stop after this many objects");
  sub->add_flag("--array", opt->array, "Print one JSON array instead of one object per line");
  sub->add_flag("--sections", opt->sections, "One object per section instead of per record");
  sub->add_flag("--records", opt->records, "With --sections: include each section's records");
  sub->add_option("--format", opt->format, "json: one object per line (NDJSON, the default); csv: one row per record (RFC 4180); "
                  "mcap: an MCAP file for Foxglove (needs -o)")
      ->check(CLI::IsMember({"json", "csv", "mcap"}))
      ->capture_default_str();
  sub->add_option("--fields", opt->fields,
                  "csv: exactly these columns, in this order (stream, t, seq, data, data.PATH); default: all");
  AddCopperTypeOption(sub, &opt->copperlist_type);
  AddTimeFormatOption(sub, &opt->time_format);
  sub->add_option("-o,--output", opt->output, "With --format mcap: the file to write (- for standard output)");
  sub->add_option("--compression", opt->compression, "With --format mcap: chunk compression, zstd (default) or none")
      ->check(CLI::IsMember({"zstd", "none"}));
  sub->add_flag("-f,--force", opt->force, "With -o: replace the file if it exists");
  sub->final_callback([opt, rc] { *rc = RunExport(*opt); });
}

}  // namespace slablog::cli
