#include "csv_export.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "csv_cells.h"
#include "csv_rows.h"
#include "csv_spool.h"
#include "emitter.h"
#include "json_out.h"
#include "ordered_work.h"
#include "output.h"
#include "problems.h"
#include "progress.h"
#include "record_selector.h"
#include "slablog/reader.h"

namespace slablog::cli {
namespace {

constexpr const char* kCsvCmd = "export";

// The streams' names and encodings, looked up once per stream. A stream not yet in the catalog
// is asked for again at its next record: its entry may come later in a live log.
class CsvStreams {
 public:
  const CsvStream& Get(const Reader& reader, uint32_t id) {
    if (last_ != nullptr && id == last_->stream.id && last_->known) return last_->stream;
    Entry& entry = streams_[id];
    if (!entry.known) {
      const CatalogEntry* e = reader.stream(id);
      CsvStream& s = entry.stream;
      s.id = id;
      std::string scratch;  // a name that is not UTF-8 as NDJSON export shows it
      s.name = e != nullptr ? std::string(ValidUtf8(e->name, &scratch)) : "#" + std::to_string(id);
      s.name_plain = !s.name.empty() && !CsvNeedsQuotes(s.name);
      s.encoding = e != nullptr ? e->encoding : Encoding::kBinary;
      entry.known = e != nullptr;
    }
    last_ = &entry;
    return entry.stream;
  }

 private:
  struct Entry {
    CsvStream stream;
    bool known = false;  // found in the catalog
  };
  std::map<uint32_t, Entry> streams_;  // a map: its nodes (and last_) never move
  const Entry* last_ = nullptr;
};

// Threads that turn batches into rows or columns; the reading thread is one more. On one core,
// none: the work is done as each batch is handed over.
size_t CsvWorkerThreads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores <= 1 ? 0 : std::min<size_t>(cores, 8);
}
// Batches in flight: enough to keep every worker busy while the oldest is written.
size_t CsvBatchSlots(size_t threads) { return 2 * std::max<size_t>(threads, 1) + 1; }

// Reads the records the options select, at most `max_records`, into batches handed to `work`,
// and gives each batch, done, to take(batch) in log order. take returns false to stop. Returns
// how many records were read.
// `pass` and `passes` are for the progress bar.
struct CsvPass {
  ProgressLine* progress;
  unsigned pass, passes;
};
// start(batch) is called on each batch before it is filled.
constexpr auto kNothingAtStart = [](CsvBatch&) {};
template <typename Take, typename Start>
uint64_t ForEachCsvBatch(Reader& reader, const CsvExportOptions& opt, uint64_t max_records, CsvPass pass,
                         OrderedWork<CsvBatch>& work, Take&& take, Start&& start) {
  const RecordSelection selection{opt.streams, opt.since, opt.until};
  RecordSelector selector(&reader, selection, pass.progress, pass.pass, pass.passes);
  CsvStreams streams;
  bool more = true;
  auto taken = [&](CsvBatch& batch) { more = more && take(batch); };
  uint64_t records = 0;
  CsvBatch* batch = &work.Next(taken);
  batch->Clear();
  start(*batch);
  while (more && records < max_records) {
    const RecordView* r = selector.Next();
    if (r == nullptr) break;
    batch->Add(streams.Get(reader, r->stream_id), *r);
    ++records;
    if (batch->full()) {
      batch->Seal();
      work.Submit();
      batch = &work.Next(taken);
      batch->Clear();
      start(*batch);
    }
  }
  if (!batch->empty()) {
    batch->Seal();
    work.Submit();
  }
  work.Drain(taken);
  return records;
}

Result<std::unique_ptr<Reader>> OpenForCsv(const std::string& log, const CsvExportOptions& opt, Reporter* reporter) {
  ReaderOptions ro;
  // As export: sections decoded ahead only when none is skipped.
  ro.decode_ahead = !opt.time_filtered && opt.streams.empty();
  return Reader::Open(log, ro, reporter);
}

uint64_t MaxRecords(const CsvExportOptions& opt) {
  return opt.limit != 0 ? opt.limit : std::numeric_limits<uint64_t>::max();
}

// The first pass: the data columns of the records selected, in order of first appearance. Returns
// how many records it met, which bounds the second pass (a live log may have grown since).
// Damage and invalid records are left for the second pass to report.
Result<uint64_t> FindCsvColumns(const std::string& log, const CsvExportOptions& opt, CsvColumns* columns,
                                ProgressLine* progress) {
  auto opened = OpenForCsv(log, opt, nullptr);
  if (!opened) return opened.error();
  const size_t threads = CsvWorkerThreads();
  std::vector<std::unique_ptr<CsvColumnFinder>> finders;
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) finders.push_back(std::make_unique<CsvColumnFinder>());
  OrderedWork<CsvBatch> work(threads, CsvBatchSlots(threads),
                             [&](size_t worker, CsvBatch& batch) { finders[worker]->Find(&batch); });
  return ForEachCsvBatch(*opened.value(), opt, MaxRecords(opt), {progress, 0, 2}, work, [&](CsvBatch& batch) {
    for (const std::string& name : batch.new_columns) columns->Resolve(name);
    if (batch.columns_overflowed) columns->SetOverflowed();
    return !columns->overflowed();
  }, kNothingAtStart);
}

void WriteCsvHeader(const CsvColumns& columns, StdoutBuffer* out) {
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) out->text().push_back(',');
    AppendCsvField(&out->text(), columns.names()[c]);
  }
  out->text().push_back('\n');
}

// Reports a batch's invalid records, but for the first `*skip` (said by an attempt before; null:
// none).
void SayComplaints(const CsvBatch& batch, uint64_t* skip) {
  for (const std::string& complaint : batch.complaints) {
    if (skip != nullptr && *skip > 0) {
      --*skip;
    } else {
      PrintError(kCsvCmd, complaint);
    }
  }
}

// Writes the header and one row per selected record, at most `max_rows` records. The first
// `complaints_said` invalid records were reported before (by a spooled attempt).
ExitCode WriteCsv(const std::string& log, const CsvExportOptions& opt, CsvColumns* columns, uint64_t max_rows,
                  ProgressLine* progress, ProblemLog& problems, uint64_t complaints_said) {
  auto opened = OpenForCsv(log, opt, &problems);
  if (!opened) return Fail(kCsvCmd, opened.error());
  StdoutBuffer out;
  WriteCsvHeader(*columns, &out);
  bool more = out.Flush();
  const size_t threads = CsvWorkerThreads();
  std::vector<std::unique_ptr<CsvRowMaker>> makers;
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    makers.push_back(std::make_unique<CsvRowMaker>(columns, opt.time_format));
  }
  OrderedWork<CsvBatch> work(threads, CsvBatchSlots(threads),
                             [&](size_t worker, CsvBatch& batch) { makers[worker]->Make(&batch); });
  uint64_t invalid = 0;
  if (more) {
    const CsvPass pass{progress, opt.fields.empty() ? 1u : 0u, opt.fields.empty() ? 2u : 1u};
    ForEachCsvBatch(
        *opened.value(), opt, max_rows, pass, work,
        [&](CsvBatch& batch) {
          SayComplaints(batch, &complaints_said);
          invalid += batch.complaints.size();
          return out.Write(batch.rows.view());
        },
        kNothingAtStart);
  }
  Emitter emit(&out, false, 0);
  ExitCode rc = FinishExport(kCsvCmd, &emit, out, problems);
  if (rc == ExitCode::kOk && invalid > 0 && !out.closed()) rc = ExitCode::kDataProblem;
  return rc;
}

// Takes the columns a batch's maker added (beyond the columns it started from) into `columns`,
// in order. True when its rows are rows of `columns`: the columns it made them in are their
// first ones. Not so when batches taken after it was handed out added other columns first.
bool MergeCsvColumns(const CsvBatch& batch, CsvColumns* columns) {
  for (const std::string& name : batch.new_columns) columns->Resolve(name);
  if (batch.columns_overflowed) columns->SetOverflowed();
  const size_t start = batch.known_columns->size();
  const std::vector<std::string>& names = columns->names();
  if (start + batch.new_columns.size() > names.size()) return false;  // past the column limit
  return std::equal(batch.new_columns.begin(), batch.new_columns.end(),
                    names.begin() + static_cast<std::ptrdiff_t>(start));
}

// Export without --fields, reading the log once. Each batch's rows are made in columns that
// start as those known when it was handed out and grow with the fields it meets; they are
// held in `spool` until the last record is read, then written after the header, a row made
// before later columns were found padded with empty cells. A batch whose columns were
// overtaken (batches before it, still at work when it was handed out, found other fields
// first) is made again by the reading thread: rare, as a log's columns settle in its first
// batches. nullopt when the spool fails (its disk nearly full): nothing was written, and the
// caller makes the rows in two passes, the first `*complaints_said` invalid records reported.
std::optional<ExitCode> SpooledCsv(const std::string& log, const CsvExportOptions& opt, CsvSpool* spool,
                                   ProgressLine* progress, ProblemLog& problems, uint64_t* complaints_said) {
  auto opened = OpenForCsv(log, opt, &problems);
  if (!opened) return Fail(kCsvCmd, opened.error());
  CsvColumns columns = CsvColumns::Growing();
  auto known = std::make_shared<const std::vector<std::string>>(columns.names());
  const size_t threads = CsvWorkerThreads();
  std::vector<std::unique_ptr<CsvRowMaker>> makers;
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    makers.push_back(std::make_unique<CsvRowMaker>(opt.time_format));
  }
  CsvRowMaker remaker(opt.time_format);
  OrderedWork<CsvBatch> work(threads, CsvBatchSlots(threads), [&](size_t worker, CsvBatch& batch) {
    makers[worker]->Make(&batch);
    // A batch that met no new column is never made again (MergeCsvColumns), so its rows are
    // put away at once, by the worker; the others once their columns are known to stand.
    if (batch.new_columns.empty() && !batch.columns_overflowed) spool->Store(&batch.rows, &batch.spooled);
  });
  // Runs of batches by the width their rows start from, with where each run ends in the spool:
  // rows narrower than the final columns lie before the end of the last narrow run.
  std::vector<std::pair<size_t, uint64_t>> widths;
  uint64_t invalid = 0;
  bool spooled = true;
  // A file size limit (ulimit -f) would kill the export when the spool reached it; ignored
  // while the rows are held, the write fails (EFBIG) and the rows are made in two passes
  // instead. Not past that: standard output past the limit ends the export as it ends any
  // other, and as with --fields.
  const auto file_size_signal = std::signal(SIGXFSZ, SIG_IGN);
  ForEachCsvBatch(
      *opened.value(), opt, MaxRecords(opt), {progress, 0, 1}, work,
      [&](CsvBatch& batch) {
        size_t start = batch.known_columns->size();
        if (!MergeCsvColumns(batch, &columns) && !columns.overflowed()) {
          batch.known_columns = std::make_shared<const std::vector<std::string>>(columns.names());
          start = columns.size();
          remaker.Make(&batch);
          (void)MergeCsvColumns(batch, &columns);  // it starts from every column: none are new
        }
        if (columns.overflowed()) return false;
        if (columns.size() != known->size()) known = std::make_shared<const std::vector<std::string>>(columns.names());
        SayComplaints(batch, nullptr);
        *complaints_said += batch.complaints.size();
        invalid += batch.complaints.size();
        // (A worker's Store that failed fails here again: the spool stays failed.)
        if (!batch.spooled.stored) spool->Store(&batch.rows, &batch.spooled);
        if (!batch.spooled.stored) {
          spooled = false;
          return false;
        }
        spool->Append(&batch.spooled);
        if (widths.empty() || widths.back().first != start) widths.emplace_back(start, 0);
        widths.back().second = spool->size();
        return true;
      },
      [&](CsvBatch& batch) { batch.known_columns = known; });
  std::signal(SIGXFSZ, file_size_signal);
  if (!spooled) return std::nullopt;
  if (columns.overflowed()) {
    Complain(kCsvCmd, "the records hold more than {} distinct fields; choose columns with --fields",
             CsvColumns::kMaxColumns);
    return ExitCode::kUsage;
  }
  uint64_t narrow_end = 0;
  for (const auto& [start, end] : widths) {
    if (start < columns.size()) narrow_end = end;
  }
  StdoutBuffer out;
  WriteCsvHeader(columns, &out);
  const bool copied = out.Flush() && spool->CopyPadded(&out, 0, narrow_end, columns.size()) &&
                      spool->Copy(&out, narrow_end, spool->size());
  if (!copied && !out.closed()) {
    Complain(kCsvCmd, "cannot read back the rows held in a temporary file in {}: {}", CsvSpool::Directory(),
             std::strerror(errno));
    return ExitCode::kIo;
  }
  Emitter emit(&out, false, 0);
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
  // No bar when the rows go to the terminal or into a pipe (see cmd_export.cc).
  ProgressLine progress(kCsvCmd,
                        StdoutIsTerminalOrPipe() ? ProgressShown::kNever : ProgressShown::kIfStderrIsTerminal);
  ProblemLog problems(kCsvCmd);
  CsvColumns columns;
  uint64_t max_rows = MaxRecords(opt);
  uint64_t complaints_said = 0;
  if (!opt.fields.empty()) {
    std::string error;
    if (!CsvColumns::Named(opt.fields, &columns, &error)) {
      Complain(kCsvCmd, "--fields: {}", error);
      return ExitCode::kUsage;
    }
  } else {
    // Damage is reported once, should the spooled attempt give way to two passes.
    problems.OncePerPlace();
    CsvSpool spool;
    if (auto rc = SpooledCsv(log, opt, &spool, &progress, problems, &complaints_said)) return *rc;
    columns = CsvColumns::Growing();
    auto found = FindCsvColumns(log, opt, &columns, &progress);
    if (!found) return Fail(kCsvCmd, found.error());
    if (columns.overflowed()) {
      Complain(kCsvCmd, "the records hold more than {} distinct fields; choose columns with --fields",
               CsvColumns::kMaxColumns);
      return ExitCode::kUsage;
    }
    columns.Freeze();
    max_rows = found.value();
  }
  return WriteCsv(log, opt, &columns, max_rows, &progress, problems, complaints_said);
}

}  // namespace slablog::cli
