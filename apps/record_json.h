// A record as the JSON object that export and follow print:
// {"stream": NAME, "t": NANOSECONDS, "seq": N, "data": ...}, with data the record itself for a
// json stream, a string for text, base64 for binary.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "slablog/reader.h"

namespace slablog::cli {

void AppendInt(std::string* out, int64_t v);
void AppendRecordJson(std::string* out, const std::string& quoted_name, Encoding encoding, const RecordView& r);

// Stream names as JSON strings, quoted once per stream rather than once per record.
class QuotedNames {
 public:
  const std::string& Get(const Reader& reader, uint32_t id);

 private:
  std::map<uint32_t, std::string> quoted_;
};

}  // namespace slablog::cli
