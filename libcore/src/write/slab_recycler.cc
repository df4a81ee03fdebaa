#include "slab_recycler.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slablog {
namespace {

// Whether the file open as `fd` is a slab of a log other than `own_id`, that no writer and no
// reader holds. On true, the writer lock (flock) stays taken.
bool Retired(int fd, const LogId& own_id) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) return false;  // a writer has it
  // A reader of a log's last slab holds the trim lock shared; taken and given back at once, as
  // the reader only needs it while the file is its log's end.
  if (!LockForTrim(fd, true, false)) return false;
  UnlockForTrim(fd);
  uint8_t head[kSlabHeaderSize];
  if (pread(fd, head, sizeof(head), 0) != static_cast<ssize_t>(sizeof(head))) return false;
  const auto header = DecodeSlabHeader(head);
  return header && header->log_id != own_id;
}

}  // namespace

Result<std::unique_ptr<SlabRecycler>> SlabRecycler::Open(const std::string& retired,
                                                          const std::string& own) {
  if (retired == own) {
    return Error{Errc::kInvalidArgument, own, 0, "a log cannot recycle its own slabs"};
  }
  auto recycler = std::make_unique<SlabRecycler>();
  auto lock = LogLock::Acquire(retired, "a writer (or a truncate)");
  if (!lock) {
    Error e = lock.error();
    if (e.code == Errc::kInvalidArgument) e.message = "cannot recycle its slab files: " + e.message;
    return e;
  }
  recycler->retired_lock_ = std::move(lock.value());
  for (auto& [index, path] : ListSlabFiles(retired)) recycler->files_.push_back(std::move(path));
  return recycler;
}

Result<std::unique_ptr<WritableSlab>> SlabRecycler::Take(const std::string& path, uint64_t capacity,
                                                          const LogId& own_id) {
  while (!files_.empty()) {
    const std::string old = std::move(files_.front());
    files_.pop_front();
    const int fd = ::open(old.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (!Retired(fd, own_id)) {
      ::close(fd);
      continue;
    }
    return WritableSlab::Adopt(fd, old, path, capacity);
  }
  return std::unique_ptr<WritableSlab>();
}

}  // namespace slablog
