// export --format csv's work on a batch of records, done on worker threads (ordered_work.h): the
// first pass finds the columns the records hold, the second makes their rows. Each worker has
// its own JsonFlattener (a stream's fields and layouts); the columns of the second pass are
// frozen, so the workers only read them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "csv_cells.h"
#include "csv_flatten.h"
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

  // Made by the worker.
  CsvText rows;                          // the second pass's rows, each ending in LF
  std::vector<std::string> complaints;   // a message per record that is not valid JSON
  std::vector<std::string> new_columns;  // the first pass's columns, in order of first appearance
  bool columns_overflowed = false;       // the worker met more fields than columns can be

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

// The second pass's worker: the rows of its batches.
class CsvRowMaker {
 public:
  // `columns` is frozen (or named) and outlives the maker.
  CsvRowMaker(CsvColumns* columns, TimeFormat time_format);
  void Make(CsvBatch* batch);

 private:
  CsvColumns* columns_;
  TimeFormat time_format_;
  int32_t stream_column_, t_column_, seq_column_, data_column_;
  JsonFlattener flattener_;
  CsvRow row_;
  TimeDigits time_digits_;
  std::string error_, scratch_;
};

}  // namespace slablog::cli
