#include "slablog/log_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace slablog {

namespace {

// Opens the lock file, creating it if it is not there; `*created` says whether this call made it.
int OpenLockFile(const std::string& path, bool* created, int* open_err) {
  // The name exists but cannot be opened: a symbolic link that leads nowhere (or a file removed
  // and made again by others, every time): a bounded number of tries, then the error.
  for (int tries = 0;; ++tries) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    *created = fd >= 0;
    if (fd >= 0 || errno != EEXIST) {
      *open_err = errno;
      return fd;
    }
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    *open_err = errno;
    // flock needs no write access: a lock file this user may not write (left by another user's
    // writer that crashed) is locked read-only.
    if (fd < 0 && *open_err == EACCES) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // open_err stays
    if (fd >= 0 || *open_err != ENOENT || tries >= 100) return fd;
    // Removed by its holder between the two opens: made again.
  }
}

// Whether the file holds slablog's mark and nothing else, or nothing at all, or zeros no longer
// than the mark: a lock file a crashed holder left. Versions before the mark left them empty;
// so does a holder killed between making the file and marking it, and a power cut then may
// leave the mark's length of zeros (the size reached the disk, the bytes did not).
bool HoldsLockMark(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const std::string mark = LogLock::kLockFileMark;
  std::string bytes(mark.size() + 1, '\0');
  const ssize_t n = ::pread(fd, bytes.data(), bytes.size(), 0);
  if (n < 0 || n > static_cast<ssize_t>(mark.size())) return false;
  bytes.resize(static_cast<size_t>(n));
  return bytes == mark || bytes.find_first_not_of('\0') == std::string::npos;
}

bool SameFile(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

Result<LogLock> LogLock::Acquire(const std::string& base, const std::string& holder) {
  const std::string path = PathOf(base);
  // The holder removes the file when it lets go, so the file locked may have been removed (or
  // replaced) between open and flock: then it is not the log's lock, and it is tried again.
  for (;;) {
    bool created = false;
    int open_err = 0;
    const int fd = OpenLockFile(path, &created, &open_err);
    if (fd < 0) {
      struct stat link {};
      if (open_err == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
        return Error{Errc::kIo, path, 0, "the log's lock file is a symbolic link that leads nowhere; nothing was changed"};
      }
      return Error{Errc::kIo, path, 0, std::string("cannot open the log's lock file: ") + std::strerror(open_err)};
    }
    // Marked at once, so that a holder that dies leaves a file the next one knows it may remove.
    if (created) {
      const std::string mark = kLockFileMark;
      (void)!::pwrite(fd, mark.data(), mark.size(), 0);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Error{Errc::kInvalidArgument, base, 0,
                     holder + " has this log open (" + path + " is locked); nothing was changed"};
      }
      return Error{Errc::kIo, path, 0, std::string("cannot lock the log's lock file: ") + std::strerror(err)};
    }
    struct stat locked {}, named {};
    if (::fstat(fd, &locked) == 0 && ::stat(path.c_str(), &named) == 0 && SameFile(locked, named)) {
      // A file someone else put there is used as it is and never removed (a user's run.slog.lock),
      // nor is a symbolic link there, whatever it leads to, or a file with other names: a user's
      // too (O_EXCL makes neither).
      struct stat link {};
      const bool plain = ::lstat(path.c_str(), &link) == 0 && SameFile(locked, link) && link.st_nlink == 1;
      return LogLock(fd, path, created || (plain && HoldsLockMark(fd)));
    }
    ::close(fd);
  }
}

LogLock& LogLock::operator=(LogLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    owned_ = other.owned_;
    other.fd_ = -1;
  }
  return *this;
}

void LogLock::Release() {
  if (fd_ < 0) return;
  // Removed while still locked: whoever opens it meanwhile finds it gone once it has the lock.
  // Only while the name is still that file, itself: a file (or a symbolic link) put in its place
  // is someone else's.
  struct stat locked {}, named {};
  if (owned_ && ::fstat(fd_, &locked) == 0 && ::lstat(path_.c_str(), &named) == 0 && SameFile(locked, named)) {
    ::unlink(path_.c_str());
  }
  ::close(fd_);  // closing the only descriptor releases the flock
  fd_ = -1;
}

}  // namespace slablog
