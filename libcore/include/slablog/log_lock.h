// One writer per log: an exclusive flock(2) on the log's lock file, BASE.lock, taken before a
// writer touches anything of the log (a new log, an append, a log whose slab files it reuses) and
// held until it closes; truncate holds it for its whole repair. The holder removes the file as it
// lets go (a process that opened it meanwhile sees, once it has the lock, that the name no longer
// leads to it, and tries again), so no lock file stays next to a closed log; one a crash left is
// harmless, its lock gone with the process. Only a lock file slablog made is ever removed: one
// this holder created, or one holding kLockFileMark, nothing, or zeros no longer than the mark
// (a crashed holder's), under that name only (never a symbolic link, or a file linked under
// another name too). A file of that name that someone else made is locked as it is and left in
// place, its bytes untouched.
#pragma once

#include <string>

#include "slablog/status.h"

namespace slablog {

class LogLock {
 public:
  // Takes the lock of the log named `base` without waiting. `holder`: who would hold it instead,
  // for the message ("another writer", "a writer"). Fails with kInvalidArgument if it is held.
  static Result<LogLock> Acquire(const std::string& base, const std::string& holder);
  static std::string PathOf(const std::string& base) { return base + ".lock"; }
  // What a lock file slablog makes holds: the mark that it may be removed.
  static constexpr const char* kLockFileMark = "slablog lock file: removed by the writer that holds it\n";

  LogLock() = default;
  LogLock(LogLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)), owned_(other.owned_) {
    other.fd_ = -1;
  }
  LogLock& operator=(LogLock&& other) noexcept;
  LogLock(const LogLock&) = delete;
  LogLock& operator=(const LogLock&) = delete;
  ~LogLock() { Release(); }

  bool held() const { return fd_ >= 0; }
  void Release();

 private:
  LogLock(int fd, std::string path, bool owned) : fd_(fd), path_(std::move(path)), owned_(owned) {}
  int fd_ = -1;
  std::string path_;
  bool owned_ = false;  // slablog's lock file: removed on Release
};

}  // namespace slablog
