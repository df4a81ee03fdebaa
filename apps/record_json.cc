#include "record_json.h"

#include <charconv>
#include <cstring>
#include <string_view>

#include "json_out.h"

namespace slablog::cli {

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(end - buf));
}

namespace {

char* Put(char* p, std::string_view text) {
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

// Exactly eight digits of v < 10^8, its four pairs computed independently of each other.
char* PutEightDigits(char* p, uint32_t v) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  const uint32_t high = v / 10000, low = v % 10000;
  const uint32_t pairs[4] = {high / 100, high % 100, low / 100, low % 100};
  for (uint32_t pair : pairs) {
    std::memcpy(p, kPairs + 2 * pair, 2);
    p += 2;
  }
  return p;
}

// Nanosecond times have 19 digits. std::to_chars makes them two at a time, each pair waiting for
// the division before it (a third of export's time); cut into blocks of eight, the blocks' digits
// come out in parallel.
char* PutUnsigned(char* p, char* end, uint64_t v) {
  constexpr uint64_t kBlock = 100000000;
  if (v < kBlock) return std::to_chars(p, end, v).ptr;
  const uint64_t upper = v / kBlock;
  const auto lowest = static_cast<uint32_t>(v % kBlock);
  if (upper < kBlock) {
    p = std::to_chars(p, end, upper).ptr;
  } else {
    p = std::to_chars(p, end, upper / kBlock).ptr;
    p = PutEightDigits(p, static_cast<uint32_t>(upper % kBlock));
  }
  return PutEightDigits(p, lowest);
}

char* PutSigned(char* p, char* end, int64_t v) {
  if (v >= 0) return PutUnsigned(p, end, static_cast<uint64_t>(v));
  *p++ = '-';
  return PutUnsigned(p, end, 0 - static_cast<uint64_t>(v));
}

}  // namespace

std::string_view TimeDigits::Put(char* buf, int64_t t) {
  constexpr uint64_t kBlock = 100000000;
  if (t < static_cast<int64_t>(kBlock)) {  // negative or short: as PutDecimal writes it
    return std::string_view(buf, static_cast<size_t>(PutSigned(buf, buf + kMaxTimeChars, t) - buf));
  }
  const auto v = static_cast<uint64_t>(t);
  const uint64_t upper = v / kBlock;
  if (upper_size_ == 0 || upper != upper_) {
    upper_size_ = static_cast<size_t>(PutUnsigned(upper_text_, upper_text_ + sizeof(upper_text_), upper) - upper_text_);
    upper_ = upper;
  }
  std::memcpy(buf, upper_text_, sizeof(upper_text_));  // all 16: a fixed size is no call
  char* end = PutEightDigits(buf + upper_size_, static_cast<uint32_t>(v % kBlock));
  return std::string_view(buf, static_cast<size_t>(end - buf));
}

// Out of line for other files (CSV); AppendRecordJson keeps its inlined copies.
char* PutDecimal(char* p, char* end, int64_t v) { return PutSigned(p, end, v); }
char* PutDecimal(char* p, char* end, uint64_t v) { return PutUnsigned(p, end, v); }

void AppendRecordJson(std::string* s, const JsonStreamLabel& stream, const RecordView& r, TimeFormat time_format) {
  const std::string& quoted_name = stream.quoted_name;
  // Everything before the data is written through one pointer into room made once: appended
  // piece by piece (five appends, two numbers) it cost export as much as reading the record did.
  static constexpr std::string_view kStream = "{\"stream\":", kT = ",\"t\":", kSeq = ",\"seq\":",
                                    kData = ",\"data\":";
  constexpr size_t kMaxInt = 20;  // digits and sign of any int64_t
  const size_t start = s->size();
  s->resize(start + kStream.size() + quoted_name.size() + kT.size() + kMaxTimeChars + kSeq.size() + kMaxInt +
            kData.size());
  char* const begin = s->data() + start;
  char* const end = s->data() + s->size();
  char* p = Put(begin, kStream);
  p = Put(p, quoted_name);
  p = Put(p, kT);
  // The default keeps its own digit writer: the other formats cost a call.
  p = time_format == TimeFormat::kNs ? PutSigned(p, end, r.timestamp) : PutTime(p, r.timestamp, time_format);
  p = Put(p, kSeq);
  p = PutUnsigned(p, end, r.index);
  p = Put(p, kData);
  s->resize(static_cast<size_t>(p - s->data()));
  const std::string_view text(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
  switch (stream.encoding) {
    case Encoding::kJson:
      // Validated when it was written (slablog write); stored and returned byte for byte.
      s->append(text.empty() ? std::string_view("null") : text);
      break;
    case Encoding::kText:
      AppendJsonString(s, text);
      break;
    case Encoding::kBinary:
      AppendBase64(s, r.payload);
      break;
  }
  s->push_back('}');
}

const JsonStreamLabel& JsonStreamLabels::Find(const Reader& reader, uint32_t id) {
  JsonStreamLabel& label = labels_[id];
  if (label.known) return label;
  // A stream not (yet) in the catalog is asked again next time: its entry may come later.
  const CatalogEntry* e = reader.stream(id);
  label.quoted_name.clear();
  AppendJsonString(&label.quoted_name, e != nullptr ? e->name : "#" + std::to_string(id));
  label.encoding = e != nullptr ? e->encoding : Encoding::kBinary;
  label.known = e != nullptr;
  return label;
}

}  // namespace slablog::cli
