// CSV text by RFC 4180 for export --format csv: a field is quoted when it holds a comma, a quote,
// CR or LF, with its quotes doubled. Rows end in LF (see man slablog.1).
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

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

// Rows written through a pointer into room made ahead. Unlike std::string::resize, making room
// does not fill it with zeros first: that wrote each row's worst case (twice its record) once
// more than the row itself.
class CsvText {
 public:
  // Room for `n` more chars at the end: write into it, then Commit where the writing ended.
  char* Room(size_t n) {
    if (capacity_ - size_ < n) Grow(n);
    return data_.get() + size_;
  }
  void Commit(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  // Room for `n` more chars made at once, not grown into by doubling (and copying).
  void Reserve(size_t n) {
    if (capacity_ - size_ < n) Grow(n);
  }
  void Push(char c) { *Room(1) = c, ++size_; }
  void clear() { size_ = 0; }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  void Grow(size_t n) {
    const size_t capacity = std::max({2 * capacity_, size_ + n, size_t{1} << 16});
    std::unique_ptr<char[]> data(new char[capacity]);  // not zeroed
    if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
  }
  std::unique_ptr<char[]> data_;
  size_t size_ = 0, capacity_ = 0;

 public:
  CsvText() = default;
  CsvText(CsvText&& other) noexcept
      : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)), capacity_(std::exchange(other.capacity_, 0)) {}
  CsvText& operator=(CsvText&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }
};

}  // namespace slablog::cli
