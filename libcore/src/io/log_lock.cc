#include "slablog/log_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace slablog {

Result<LogLock> LogLock::Acquire(const std::string& base, const std::string& holder) {
  const std::string path = PathOf(base);
  // The holder removes the file when it lets go, so the file locked may have been removed (or
  // replaced) between open and flock: then it is not the log's lock, and it is tried again.
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    // flock needs no write access: a lock file this user may not write (left by another user's
    // writer that crashed) is locked read-only.
    int open_err = errno;
    if (fd < 0 && open_err == EACCES) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // open_err stays
    if (fd < 0) {
      return Error{Errc::kIo, path, 0, std::string("cannot open the log's lock file: ") + std::strerror(open_err)};
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
    if (::fstat(fd, &locked) == 0 && ::stat(path.c_str(), &named) == 0 && locked.st_dev == named.st_dev &&
        locked.st_ino == named.st_ino) {
      return LogLock(fd, path);
    }
    ::close(fd);
  }
}

LogLock& LogLock::operator=(LogLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

void LogLock::Release() {
  if (fd_ < 0) return;
  // Removed while still locked: whoever opens it meanwhile finds it gone once it has the lock.
  ::unlink(path_.c_str());
  ::close(fd_);  // closing the only descriptor releases the flock
  fd_ = -1;
}

}  // namespace slablog
