// Fault injection for the system calls whose failure can lose written data (fdatasync, fsync of a
// directory, ftruncate, fallocate): tests set a process-wide hook that makes them fail with a
// chosen errno, to check that the writer never reports success after one failed, or that watches
// when truncate syncs. Also flock on a directory (NewLogLock), whose failures other than
// EWOULDBLOCK (NFS, some FUSE file systems) no local file system gives, and the listing of a
// directory, whose failure part-way (EIO) no test can cause otherwise. Without a hook the cost is one relaxed atomic load per call; the append
// path makes none of these calls.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

namespace slablog::io_faults {

// kListDirectory: opening a directory to list it, and each step of the listing (log_files.cc).
enum class Op : uint8_t { kFdatasync, kFsyncDirectory, kFtruncate, kFallocate, kSyncfs, kFlockDirectory, kListDirectory };

// Returns 0 to let the call run, or the errno it fails with (without being made). `path` names
// the file (or directory) the call is for.
using Hook = int (*)(Op op, const char* path);

// Installs `hook` (null: none). Not for production code: tests only.
void SetHook(Hook hook);

// The errno `op` on `path` must fail with, or 0 (no hook, or the hook lets it run).
int Injected(Op op, const char* path);

// Runs `call` (a system call returning -1 and setting errno on failure) unless a test injects a
// failure for it: then it returns -1 with that errno, without making the call.
template <typename Call>
int Checked(Op op, const std::string& path, Call call) {
  if (const int err = Injected(op, path.c_str()); err != 0) {
    errno = err;
    return -1;
  }
  return call();
}

}  // namespace slablog::io_faults
