// CSV text by RFC 4180 for export --format csv: a field is quoted when it holds a comma, a quote,
// CR or LF, with its quotes doubled. Rows end in LF (see man slablog.1).
#pragma once

#include <cstring>
#include <string>
#include <string_view>

namespace slablog::cli {

// True when `text` must be quoted to stay one field.
inline bool CsvNeedsQuotes(std::string_view text) {
  for (char c : text) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

// Appends `text` as one CSV field. An empty string is written as "" so that readers which tell
// them apart (DuckDB, Python's csv) see an empty string, not a missing value.
inline void AppendCsvField(std::string* out, std::string_view text) {
  if (!text.empty() && !CsvNeedsQuotes(text)) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (size_t start = 0;;) {
    const size_t quote = text.find('"', start);
    if (quote == std::string_view::npos) {
      out->append(text.substr(start));
      break;
    }
    out->append(text.substr(start, quote + 1 - start)).push_back('"');
    start = quote + 1;
  }
  out->push_back('"');
}

// AppendCsvField for output written through a pointer: `text` as one field at p, which has room
// for 2 * text.size() + 2 chars. Returns the end.
inline char* PutCsvField(char* p, std::string_view text) {
  if (!text.empty() && !CsvNeedsQuotes(text)) {
    std::memcpy(p, text.data(), text.size());
    return p + text.size();
  }
  *p++ = '"';
  for (char c : text) {
    *p++ = c;
    if (c == '"') *p++ = '"';
  }
  *p++ = '"';
  return p;
}

}  // namespace slablog::cli
