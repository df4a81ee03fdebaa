// Fast JSON text for bulk output (export): escaping, base64, and a stdout buffer that stops
// quietly when the reader of a pipe goes away. nlohmann_json stays for the small documents.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "slablog/json_text.h"

namespace slablog::cli {

using slablog::AppendBase64;
using slablog::AppendJsonString;

using slablog::ValidUtf8;

// Collects output and writes it to standard output in large blocks with write(2).
class StdoutBuffer {
 public:
  ~StdoutBuffer() { Flush(); }
  std::string& text() { return buf_; }
  // Writes out what is buffered once it is large. False once standard output is closed (EPIPE).
  bool MaybeFlush() { return buf_.size() < kBlock || Flush(); }
  bool Flush();
  // Writes what is buffered, then `text` straight from where it is (a worker's rows). False
  // once standard output is closed.
  bool Write(std::string_view text);
  // Writes what is buffered, then `length` bytes of file `fd` from `offset`, copied by the
  // kernel where it can (sendfile). False once standard output is closed; `*read_failed` set
  // when the file could not be read.
  bool WriteFromFile(int fd, uint64_t offset, uint64_t length, bool* read_failed);
  bool closed() const { return closed_; }
  bool failed() const { return failed_; }

 private:
  void WriteAll(std::string_view text);
  static constexpr size_t kBlock = size_t{1} << 20;
  std::string buf_;
  bool closed_ = false;
  bool failed_ = false;
};

}  // namespace slablog::cli
