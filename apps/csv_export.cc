#include "csv_export.h"

#include <charconv>
#include <limits>
#include <map>

#include "csv_cells.h"
#include "csv_flatten.h"
#include "emitter.h"
#include "output.h"
#include "problems.h"
#include "record_json.h"
#include "slablog/json_text.h"
#include "slablog/reader.h"

namespace slablog::cli {
namespace {

constexpr const char* kCsvCmd = "export";

// What a row needs of its stream, looked up once per run of records of one stream.
struct CsvStream {
  std::string name;
  bool name_plain = false;  // needs no quotes
  Encoding encoding = Encoding::kBinary;
  bool known = false;       // found in the catalog (else asked again: its entry may come later)
};

class CsvStreams {
 public:
  const CsvStream& Get(const Reader& reader, uint32_t id) {
    if (last_ != nullptr && id == last_id_ && last_->known) return *last_;
    CsvStream& s = streams_[id];
    if (!s.known) {
      const CatalogEntry* e = reader.stream(id);
      s.name = e != nullptr ? e->name : "#" + std::to_string(id);
      s.name_plain = !s.name.empty() && !CsvNeedsQuotes(s.name);
      s.encoding = e != nullptr ? e->encoding : Encoding::kBinary;
      s.known = e != nullptr;
    }
    last_id_ = id;
    last_ = &s;
    return s;
  }

 private:
  std::map<uint32_t, CsvStream> streams_;  // a map: its nodes (and last_) never move
  uint32_t last_id_ = 0;
  const CsvStream* last_ = nullptr;
};

// Calls fn(stream, record) for each record the options select, in log order, until it returns
// false: the selection of export's NDJSON (cmd_export.cc), section time ranges included.
template <typename Fn>
void ForEachCsvRecord(Reader& reader, const CsvExportOptions& opt, Fn&& fn) {
  CsvStreams streams;
  std::map<uint32_t, bool> wanted;
  Item item;
  while (reader.Next(&item)) {
    if (item.kind == ItemKind::kSection) {
      const SectionInfo& s = *item.section;
      const uint32_t id = s.open.stream_id;
      if (id == kCatalogStream) continue;
      auto w = wanted.find(id);
      if (w == wanted.end()) {
        const CatalogEntry* e = reader.stream(id);
        w = wanted.emplace(id, MatchesAnyGlob(opt.streams, e != nullptr ? e->name : "#" + std::to_string(id))).first;
      }
      const bool out_of_range =
          s.close && s.close->frame_count > 0 && (s.close->last_t < opt.since || s.close->first_t > opt.until);
      if (!w->second || out_of_range) reader.SkipSection();
      continue;
    }
    if (item.kind != ItemKind::kRecord) continue;
    const RecordView& r = item.record;
    if (r.timestamp < opt.since || r.timestamp > opt.until) continue;
    if (!fn(streams.Get(reader, r.stream_id), r)) break;
  }
}

std::string_view PayloadText(const RecordView& r) {
  return {reinterpret_cast<const char*>(r.payload.data()), r.payload.size()};
}

Result<std::unique_ptr<Reader>> OpenForCsv(const std::string& log, const CsvExportOptions& opt, Reporter* reporter) {
  ReaderOptions ro;
  // As export: sections decoded ahead only when none is skipped.
  ro.decode_ahead = !opt.time_filtered && opt.streams.empty();
  return Reader::Open(log, ro, reporter);
}

// The first pass: the data columns of the records selected, in order of first appearance. Returns
// how many records it met, which bounds the second pass (a live log may have grown since).
// Damage and invalid records are left for the second pass to report.
Result<uint64_t> FindCsvColumns(const std::string& log, const CsvExportOptions& opt, CsvColumns* columns) {
  auto opened = OpenForCsv(log, opt, nullptr);
  if (!opened) return opened.error();
  JsonFlattener flattener(columns);
  std::string error;
  uint64_t records = 0;
  ForEachCsvRecord(*opened.value(), opt, [&](const CsvStream& s, const RecordView& r) {
    if (s.encoding == Encoding::kJson) {
      (void)flattener.Flatten(r.stream_id, PayloadText(r), nullptr, &error);
    } else {
      columns->Resolve("data");
    }
    ++records;
    return (opt.limit == 0 || records < opt.limit) && !columns->overflowed();
  });
  return records;
}

// Text that is not UTF-8 gets U+FFFD for its bad bytes, as export's NDJSON does.
std::string_view ValidUtf8(std::string_view text, std::string* scratch) {
  if (IsUtf8(text)) return text;
  scratch->clear();
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      scratch->append("\xEF\xBF\xBD");
      ++i;
    } else {
      scratch->append(text.substr(i, n));
      i += n;
    }
  }
  return *scratch;
}

// `t` as the t column's text, written into `buf` (kMaxTimeChars): JSON's quotes left off, as no
// time format writes a comma, a quote or a line end.
std::string_view CsvTime(char* buf, int64_t t, TimeFormat format) {
  if (format == TimeFormat::kNs) {
    return std::string_view(buf, static_cast<size_t>(PutDecimal(buf, buf + kMaxTimeChars, t) - buf));
  }
  const char* end = PutTime(buf, t, format);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
  return text;
}

// Writes the header and one row per selected record, at most `max_rows` records.
ExitCode WriteCsv(const std::string& log, const CsvExportOptions& opt, CsvColumns* columns, uint64_t max_rows) {
  ProblemLog problems(kCsvCmd);
  auto opened = OpenForCsv(log, opt, &problems);
  if (!opened) return Fail(kCsvCmd, opened.error());
  StdoutBuffer out;
  const size_t width = columns->size();
  for (size_t c = 0; c < width; ++c) {
    if (c > 0) out.text().push_back(',');
    AppendCsvField(&out.text(), columns->names()[c]);
  }
  out.text().push_back('\n');
  const int32_t stream_column = columns->Resolve("stream"), t_column = columns->Resolve("t"),
                seq_column = columns->Resolve("seq"), data_column = columns->Resolve("data");
  Emitter emit(&out, false, 0);
  JsonFlattener flattener(columns);
  CsvRow row;
  std::string error, scratch;
  char t_text[kMaxTimeChars], seq_text[24];
  uint64_t records = 0, invalid = 0;
  bool more = out.MaybeFlush();
  ForEachCsvRecord(*opened.value(), opt, [&](const CsvStream& s, const RecordView& r) {
    if (records++ >= max_rows) return false;
    row.Start();
    if (stream_column >= 0) row.Set(stream_column, s.name, s.name_plain);
    if (t_column >= 0) row.Set(t_column, CsvTime(t_text, r.timestamp, opt.time_format), true);
    if (seq_column >= 0) {
      const char* end = PutDecimal(seq_text, seq_text + sizeof(seq_text), r.index);
      row.Set(seq_column, std::string_view(seq_text, static_cast<size_t>(end - seq_text)), true);
    }
    if (s.encoding == Encoding::kJson) {
      if (!flattener.Flatten(r.stream_id, PayloadText(r), &row, &error)) {
        // Only a program that appends through the library can store such a record (slablog
        // write checks every line): said, left out, and the export exits 1.
        Complain(kCsvCmd, "{}: offset {}: record {} of stream {} is not valid JSON ({}); left out", r.slab->file,
                 r.offset, r.index, s.name, error);
        ++invalid;
        return true;
      }
    } else if (data_column >= 0 && s.encoding == Encoding::kText) {
      row.Set(data_column, ValidUtf8(PayloadText(r), &scratch), false);
    } else if (data_column >= 0) {
      scratch.clear();
      AppendBase64(&scratch, r.payload);  // quoted, as CSV may quote any field
      row.Set(data_column, scratch, true);
    }
    row.AppendTo(&emit.Begin(), width);
    more = emit.End();
    return more;
  });
  ExitCode rc = FinishExport(kCsvCmd, &emit, out, problems);
  if (rc == ExitCode::kOk && invalid > 0 && !out.closed()) rc = ExitCode::kDataProblem;
  return rc;
}

}  // namespace

std::vector<std::string> SplitCsvFields(const std::string& list) {
  std::vector<std::string> names;
  if (list.empty()) return names;
  for (size_t start = 0;;) {
    const size_t comma = list.find(',', start);
    names.push_back(list.substr(start, comma - start));
    if (comma == std::string::npos) return names;
    start = comma + 1;
  }
}

ExitCode CsvExport(const std::string& log, const CsvExportOptions& opt) {
  CsvColumns columns;
  uint64_t max_rows = std::numeric_limits<uint64_t>::max();
  if (!opt.fields.empty()) {
    std::string error;
    if (!CsvColumns::Named(opt.fields, &columns, &error)) {
      Complain(kCsvCmd, "--fields: {}", error);
      return ExitCode::kUsage;
    }
  } else {
    columns = CsvColumns::Growing();
    auto found = FindCsvColumns(log, opt, &columns);
    if (!found) return Fail(kCsvCmd, found.error());
    if (columns.overflowed()) {
      Complain(kCsvCmd, "the records hold more than {} distinct fields; choose columns with --fields",
               CsvColumns::kMaxColumns);
      return ExitCode::kUsage;
    }
    columns.Freeze();
    max_rows = found.value();
  }
  if (opt.limit != 0) max_rows = std::min(max_rows, opt.limit);
  return WriteCsv(log, opt, &columns, max_rows);
}

}  // namespace slablog::cli
