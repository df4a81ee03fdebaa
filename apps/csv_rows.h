// export --format csv's work on a batch of records, done on worker threads (ordered_work.h): the
// first pass finds the columns the records hold, the second makes their rows. Each worker has
// its own JsonFlattener (a stream's fields and layouts); the columns of the second pass are
// frozen, so the workers only read them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "csv_cells.h"
#include "csv_flatten.h"
#include "csv_spool.h"
#include "record_json.h"
#include "slablog/reader.h"
#include "time_format.h"

namespace slablog::cli {

// What a row needs of its stream.
struct CsvStream {
  uint32_t id = 0;
  std::string name;
  bool name_plain = false;  // needs no quotes
  Encoding encoding = Encoding::kBinary;
};

// A run of selected records, copied out of the reader (whose views last only until its next
// step), and what a worker made of them.
class CsvBatch {
 public:
  struct Record {
    uint32_t stream = 0;  // in streams()
    uint32_t file = 0;    // in files()
    uint64_t payload = 0;  // where its payload starts in payloads()
    uint64_t size = 0;
    int64_t t = 0;
    uint64_t index = 0;
    uint64_t offset = 0;  // of its first frame in its file
  };
  static constexpr size_t kMaxRecords = 8192;
  static constexpr size_t kMaxPayloadBytes = size_t{1} << 20;

  void Clear();
  void Add(const CsvStream& stream, const RecordView& r);
  // Ends the batch before it is handed over: its last payload is followed by 16 bytes, as
  // JsonFlattener::AppendShapedRow reads them.
  void Seal() { payloads_.append(16, '\0'); }
  bool full() const { return records_.size() >= kMaxRecords || payloads_.size() >= kMaxPayloadBytes; }
  bool empty() const { return records_.empty(); }
  const std::vector<Record>& records() const { return records_; }
  const CsvStream& stream(const Record& r) const { return streams_[r.stream]; }
  const std::string& file(const Record& r) const { return files_[r.file]; }
  std::string_view payload(const Record& r) const { return std::string_view(payloads_).substr(r.payload, r.size); }

  // For a maker with columns of its own (a spooled export): the columns known when the batch
  // was handed over, all found in earlier batches. Its rows start from them.
  std::shared_ptr<const std::vector<std::string>> known_columns;

  // Made by the worker.
  CsvText rows;                          // the rows, each ending in LF
  std::vector<std::string> complaints;   // a message per record that is not valid JSON
  // The columns it met that were not known before (the first pass's; a spooled export's beyond
  // known_columns), in order of first appearance.
  std::vector<std::string> new_columns;
  bool columns_overflowed = false;       // the worker met more fields than columns can be
  // A spooled export's: where the worker put the rows (taking them when they are held in memory).
  CsvSpoolPiece spooled;

 private:
  std::vector<CsvStream> streams_;
  std::unordered_map<uint32_t, uint32_t> stream_slots_;  // stream id -> its place in streams_
  std::vector<std::string> files_;
  const SlabInfo* last_slab_ = nullptr;  // whose file files_.back() is
  std::vector<Record> records_;
  std::string payloads_;
};

// The first pass's worker: the data columns its batches' records hold. It reports a column
// in the first batch it meets it in, so that the columns, merged batch by batch in log order,
// come in order of first appearance in the log.
class CsvColumnFinder {
 public:
  CsvColumnFinder();
  void Find(CsvBatch* batch);

 private:
  CsvColumns columns_;
  JsonFlattener flattener_;
  std::string error_;
};

// The rows of batches. Either in columns fixed before the first row (named by --fields, or
// found by a first pass), shared by the workers, which only read them; or in columns of its
// own, which start as each batch's known_columns and grow as it meets new fields: a row is
// then as wide as the columns were when it was made, and the export pads it (CsvSpool).
class CsvRowMaker {
 public:
  // `columns` is frozen (or named) and outlives the maker.
  CsvRowMaker(CsvColumns* columns, TimeFormat time_format);
  // Columns of its own.
  explicit CsvRowMaker(TimeFormat time_format);
  // Replaces the batch's rows, complaints and new columns with its own.
  void Make(CsvBatch* batch);

 private:
  // Makes the maker's own columns `known` (as they are, or extended: a flattener remembers
  // each field's column, so columns other than these are started over with a new one).
  void StartFrom(const std::shared_ptr<const std::vector<std::string>>& known);
  void ResolveFixedColumns();

  CsvColumns own_columns_;
  CsvColumns* columns_;
  std::shared_ptr<const std::vector<std::string>> started_from_;
  TimeFormat time_format_;
  int32_t stream_column_ = -1, t_column_ = -1, seq_column_ = -1, data_column_ = -1;
  std::unique_ptr<JsonFlattener> flattener_;
  CsvRow row_;
  TimeDigits time_digits_;
  std::string error_, scratch_;
  size_t last_rows_size_ = 0;
};

}  // namespace slablog::cli
