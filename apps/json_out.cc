#include "json_out.h"

#include <unistd.h>

#include <cerrno>

namespace slablog::cli {

void StdoutBuffer::WriteAll(std::string_view text) {
  size_t done = 0;
  while (!closed_ && done < text.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      closed_ = true;  // EPIPE: the reader is gone; anything else: stop too, and say so
      failed_ = errno != EPIPE;
      break;
    }
    done += static_cast<size_t>(n);
  }
}

bool StdoutBuffer::Flush() {
  WriteAll(buf_);
  buf_.clear();
  return !closed_;
}

bool StdoutBuffer::Write(std::string_view text) {
  if (Flush()) WriteAll(text);
  return !closed_;
}

}  // namespace slablog::cli
