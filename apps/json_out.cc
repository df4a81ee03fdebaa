#include "json_out.h"

#include <unistd.h>

#include <cerrno>

namespace slablog::cli {

bool StdoutBuffer::Flush() {
  size_t done = 0;
  while (!closed_ && done < buf_.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      closed_ = true;  // EPIPE: the reader is gone; anything else: stop too, and say so
      failed_ = errno != EPIPE;
      break;
    }
    done += static_cast<size_t>(n);
  }
  buf_.clear();
  return !closed_;
}

}  // namespace slablog::cli
