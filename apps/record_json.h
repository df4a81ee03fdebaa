// A record as the JSON object that export and follow print:
// {"stream": NAME, "t": NANOSECONDS, "seq": N, "data": ...}, with data the record itself for a
// json stream, a string for text, base64 for binary, and t as --time-format says.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "slablog/reader.h"
#include "time_format.h"

namespace slablog::cli {

void AppendInt(std::string* out, int64_t v);
// Writes v in decimal at p (room up to `end`, 20 chars suffice) and returns the end: faster than
// std::to_chars for the 19 digits of a nanosecond time.
char* PutDecimal(char* p, char* end, int64_t v);
char* PutDecimal(char* p, char* end, uint64_t v);
// The decimal text of times as export meets them, each close to the one before: the digits
// above the last eight are kept from the time before (they change every 0.1 s of nanoseconds),
// so a 19-digit time costs eight digits' work.
class TimeDigits {
 public:
  // `t`'s digits, written into `buf` (kMaxTimeChars).
  std::string_view Put(char* buf, int64_t t);

 private:
  uint64_t upper_ = 0;  // t / 10^8 of the time before, when upper_size_ > 0
  char upper_text_[16] = {};
  size_t upper_size_ = 0;
};

struct JsonStreamLabel;
void AppendRecordJson(std::string* out, const JsonStreamLabel& stream, const RecordView& r,
                      TimeFormat time_format = TimeFormat::kNs);

// What a record's JSON needs of its stream: its name as a JSON string, quoted once per stream
// rather than once per record, and its encoding. Records come in runs of one stream, so the last
// stream asked for is answered without a lookup.
struct JsonStreamLabel {
  std::string quoted_name;
  Encoding encoding = Encoding::kBinary;
  bool known = false;  // found in the catalog
};

class JsonStreamLabels {
 public:
  const JsonStreamLabel& Get(const Reader& reader, uint32_t id) {
    if (last_ != nullptr && id == last_id_ && last_->known) return *last_;
    last_id_ = id;
    last_ = &Find(reader, id);
    return *last_;
  }

 private:
  const JsonStreamLabel& Find(const Reader& reader, uint32_t id);
  std::map<uint32_t, JsonStreamLabel> labels_;  // a map: its nodes (and last_) never move
  uint32_t last_id_ = 0;
  const JsonStreamLabel* last_ = nullptr;
};

}  // namespace slablog::cli
