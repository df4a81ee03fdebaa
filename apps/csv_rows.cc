#include "csv_rows.h"

#include <fmt/format.h>

#include "csv_cells.h"
#include "json_out.h"
#include "record_json.h"
#include "slablog/json_text.h"

namespace slablog::cli {
namespace {

// `t` as the t column's text, written into `buf` (kMaxTimeChars): JSON's quotes left off, as no
// time format writes a comma, a quote or a line end.
std::string_view CsvTime(char* buf, int64_t t, TimeFormat format, TimeDigits* digits) {
  if (format == TimeFormat::kNs) return digits->Put(buf, t);
  const char* end = PutTime(buf, t, format);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
  return text;
}

}  // namespace

void CsvBatch::Clear() {
  streams_.clear();
  stream_slots_.clear();
  files_.clear();
  last_slab_ = nullptr;
  records_.clear();
  payloads_.clear();
  rows.clear();
  complaints.clear();
  new_columns.clear();
  columns_overflowed = false;
  spooled = CsvSpoolPiece{};
}

void CsvBatch::Add(const CsvStream& stream, const RecordView& r) {
  Record rec;
  if (!streams_.empty() && streams_.back().id == stream.id) {  // records come in runs of one stream
    rec.stream = static_cast<uint32_t>(streams_.size() - 1);
  } else {
    auto [slot, added] = stream_slots_.try_emplace(stream.id, static_cast<uint32_t>(streams_.size()));
    if (added) streams_.push_back(stream);
    rec.stream = slot->second;
  }
  // The slab's name, copied once per run of records in it.
  if (r.slab != last_slab_ || files_.empty()) {
    files_.push_back(r.slab != nullptr ? r.slab->file : std::string());
    last_slab_ = r.slab;
  }
  rec.file = static_cast<uint32_t>(files_.size() - 1);
  rec.payload = payloads_.size();
  rec.size = r.payload.size();
  rec.t = r.timestamp;
  rec.index = r.index;
  rec.offset = r.offset;
  payloads_.append(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
  records_.push_back(rec);
}

CsvColumnFinder::CsvColumnFinder() : columns_(CsvColumns::Growing()), flattener_(&columns_) {}

void CsvColumnFinder::Find(CsvBatch* batch) {
  const size_t known = columns_.size();
  for (const CsvBatch::Record& r : batch->records()) {
    if (batch->stream(r).encoding == Encoding::kJson) {
      (void)flattener_.Flatten(batch->stream(r).id, batch->payload(r), nullptr, &error_);
    } else {
      columns_.Resolve("data");
    }
  }
  const std::vector<std::string>& names = columns_.names();
  batch->new_columns.assign(names.begin() + static_cast<std::ptrdiff_t>(known), names.end());
  batch->columns_overflowed = columns_.overflowed();
}

CsvRowMaker::CsvRowMaker(CsvColumns* columns, TimeFormat time_format)
    : columns_(columns), time_format_(time_format), flattener_(std::make_unique<JsonFlattener>(columns)) {
  ResolveFixedColumns();
}

CsvRowMaker::CsvRowMaker(TimeFormat time_format)
    : own_columns_(CsvColumns::Growing()),
      columns_(&own_columns_),
      time_format_(time_format),
      flattener_(std::make_unique<JsonFlattener>(&own_columns_)) {
  ResolveFixedColumns();
}

void CsvRowMaker::ResolveFixedColumns() {
  stream_column_ = columns_->Resolve("stream");
  t_column_ = columns_->Resolve("t");
  seq_column_ = columns_->Resolve("seq");
  // Growing columns get a data column only from a record that has one.
  data_column_ = columns_->growing() ? columns_->Find("data") : columns_->Resolve("data");
}

void CsvRowMaker::StartFrom(const std::shared_ptr<const std::vector<std::string>>& known) {
  if (known == started_from_ && own_columns_.size() == known->size()) return;
  const std::vector<std::string>& mine = own_columns_.names();
  const bool extended = mine.size() <= known->size() && std::equal(mine.begin(), mine.end(), known->begin());
  if (!extended) {
    own_columns_ = CsvColumns::Growing();
    flattener_ = std::make_unique<JsonFlattener>(&own_columns_);
  }
  for (size_t i = own_columns_.size(); i < known->size(); ++i) own_columns_.Resolve((*known)[i]);
  started_from_ = known;
  ResolveFixedColumns();
}

void CsvRowMaker::Make(CsvBatch* batch) {
  batch->rows.clear();
  batch->complaints.clear();
  batch->new_columns.clear();
  batch->columns_overflowed = false;
  if (columns_ == &own_columns_ && batch->known_columns != nullptr) StartFrom(batch->known_columns);
  const size_t known = columns_->size();
  CsvText& out = batch->rows;
  // A spool keeps each batch's rows and leaves it none: room for about as many as the last
  // batch's, made at once.
  out.Reserve(last_rows_size_ + last_rows_size_ / 4);
  // Twice kBufferSize: a time's text may start past its buffer's start (CsvTime drops a quote),
  // and PutFixed reads kBufferSize bytes from where the text starts.
  static_assert(JsonFlattener::FixedCells::kBufferSize >= kMaxTimeChars);
  char t_text[2 * JsonFlattener::FixedCells::kBufferSize] = {}, seq_text[2 * JsonFlattener::FixedCells::kBufferSize] = {};
  for (const CsvBatch::Record& r : batch->records()) {
    const CsvStream& s = batch->stream(r);
    const std::string_view payload = batch->payload(r);
    JsonFlattener::FixedCells fixed{s.name, s.name_plain, {}, {}};
    if (t_column_ >= 0) fixed.t = CsvTime(t_text, r.t, time_format_, &time_digits_);
    if (seq_column_ >= 0) {
      const char* end = PutDecimal(seq_text, seq_text + sizeof(seq_text), r.index);
      fixed.seq = std::string_view(seq_text, static_cast<size_t>(end - seq_text));
    }
    // Growing columns grow only in Flatten: a row is as wide as the columns are after its record.
    if (s.encoding == Encoding::kJson && flattener_->AppendShapedRow(s.id, payload, fixed, columns_->size(), &out)) {
      out.Push('\n');
      continue;
    }
    row_.Start();
    if (stream_column_ >= 0) row_.Set(stream_column_, s.name, s.name_plain);
    if (t_column_ >= 0) row_.Set(t_column_, fixed.t, true);
    if (seq_column_ >= 0) row_.Set(seq_column_, fixed.seq, true);
    if (s.encoding == Encoding::kJson) {
      if (!flattener_->Flatten(s.id, payload, &row_, &error_)) {
        // Only a program that appends through the library can store such a record (slablog
        // write checks every line): said, left out, and the export exits 1.
        batch->complaints.push_back(fmt::format("{}: offset {}: record {} of stream {} is not valid JSON ({}); left out",
                                                batch->file(r), r.offset, r.index, s.name, error_));
        continue;
      }
    } else {
      if (data_column_ < 0 && columns_->growing()) data_column_ = columns_->Resolve("data");
      if (data_column_ >= 0 && s.encoding == Encoding::kText) {
        row_.Set(data_column_, ValidUtf8(payload, &scratch_), false);
      } else if (data_column_ >= 0) {
        scratch_.clear();
        AppendBase64(&scratch_, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
        row_.Set(data_column_, scratch_, true);  // quoted, as CSV may quote any field
      }
    }
    row_.AppendTo(&out, columns_->size());
    out.Push('\n');
  }
  last_rows_size_ = out.view().size();
  const std::vector<std::string>& names = columns_->names();
  batch->new_columns.assign(names.begin() + static_cast<std::ptrdiff_t>(known), names.end());
  batch->columns_overflowed = columns_->overflowed();
}

}  // namespace slablog::cli
