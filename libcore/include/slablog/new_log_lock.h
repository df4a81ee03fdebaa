// Serializes the making of new log names in a directory: whoever brings a log's name into being
// (a new log's slab 0, a log renamed into place) checks the name and makes it under this lock.
#pragma once

#include <string>
#include <vector>

#include "slablog/status.h"

namespace slablog {

// An exclusive flock(2) on the directory (or directories) of some logs, held only while new
// names are checked (CheckNewLogName) and made. Whether run.slog is free depends on run_1.slog,
// and run_1.slog's on run.slog: without one lock over both checks, a writer making each at the
// same instant would see the other's name still free. A directory lock, not a log's LogLock:
// it is never held long, so a new log waits for it rather than failing, and it never meets
// the lock a writer of a log holds while it appends.
class NewLogLock {
 public:
  // How long Acquire waits for the lock before it gives up: a holder holds it only while it
  // makes one file (or renames a few), so a longer wait means it is stuck (stopped, or its disk).
  static constexpr int kWaitSeconds = 30;

  // Locks the directory of every one of `bases` (each once, in a fixed order, so that two callers
  // never wait for each other). A directory that cannot be locked (flock on a directory: NFS,
  // some FUSE) is passed over: names are made there unlocked, as before this lock. One that
  // cannot be read (mode -wx) is passed over too; no name is made there (ListSlabFilesOrFail).
  // Error (Errc::kIo): a lock not had within kWaitSeconds. Thread-safe; a thread must not
  // hold two of these on one directory.
  static Result<NewLogLock> Acquire(const std::vector<std::string>& bases);

  NewLogLock() = default;
  NewLogLock(NewLogLock&& other) noexcept : fds_(std::move(other.fds_)) { other.fds_.clear(); }
  NewLogLock& operator=(NewLogLock&& other) noexcept;
  NewLogLock(const NewLogLock&) = delete;
  NewLogLock& operator=(const NewLogLock&) = delete;
  ~NewLogLock() { Release(); }

  bool held() const { return !fds_.empty(); }
  void Release();

 private:
  explicit NewLogLock(std::vector<int> fds) : fds_(std::move(fds)) {}
  std::vector<int> fds_;  // one open descriptor per directory locked
};

}  // namespace slablog
