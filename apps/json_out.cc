#include "json_out.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

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

bool StdoutBuffer::WriteFromFile(int fd, uint64_t offset, uint64_t length, bool* read_failed) {
  if (!Flush()) return false;
  const uint64_t end = offset + length;
  bool kernel_copies = true;
  std::unique_ptr<char[]> block;
  while (!closed_ && offset < end) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end - offset, kBlock));
    if (kernel_copies) {
      auto at = static_cast<off_t>(offset);
      const ssize_t sent = ::sendfile(STDOUT_FILENO, fd, &at, n);
      if (sent > 0) {
        offset += static_cast<uint64_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      // EINVAL or ENOSYS: an output sendfile cannot write to; the copy goes through here. An
      // error of the output itself shows again in write(2), which tells EPIPE apart.
      kernel_copies = false;
      if (sent == 0) {  // the file ends early
        *read_failed = true;
        return false;
      }
    }
    if (block == nullptr) block.reset(new char[kBlock]);
    const ssize_t got = ::pread(fd, block.get(), n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      *read_failed = true;
      return false;
    }
    WriteAll(std::string_view(block.get(), static_cast<size_t>(got)));
    offset += static_cast<uint64_t>(got);
  }
  return !closed_;
}

}  // namespace slablog::cli
