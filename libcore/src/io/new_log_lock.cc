#include "slablog/new_log_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <tuple>

#include "io_faults.h"
#include "mapped_file.h"

namespace slablog {

namespace {

struct OpenDirectory {
  dev_t dev;
  ino_t ino;
  int fd;
  std::string name;
};

// Closes the descriptors still open (fd -1: closed already, its number perhaps another thread's).
void CloseAll(const std::vector<OpenDirectory>& dirs) {
  for (const OpenDirectory& d : dirs) {
    if (d.fd >= 0) ::close(d.fd);
  }
}

// Waits for the lock with LOCK_NB and short sleeps rather than a blocking flock: a holder that
// never lets go (a stopped process) then costs an error that says so, not a hang. False when the
// file system cannot lock a directory at all (flock on NFS takes a byte-range lock, which a
// directory opened to read cannot have: EBADF; some FUSE file systems: ENOLCK, EOPNOTSUPP).
Result<bool> LockWithin(const OpenDirectory& dir, std::chrono::steady_clock::time_point deadline) {
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    if (io_faults::Checked(io_faults::Op::kFlockDirectory, dir.name,
                           [&] { return ::flock(dir.fd, LOCK_EX | LOCK_NB); }) == 0) {
      return true;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{Errc::kIo, dir.name, 0,
                   "another process has been making a new log in this directory for " +
                       std::to_string(NewLogLock::kWaitSeconds) +
                       " s (the directory is flock-ed); nothing was changed"};
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(2));
  }
}

}  // namespace

Result<NewLogLock> NewLogLock::Acquire(const std::vector<std::string>& bases) {
  std::vector<OpenDirectory> dirs;
  for (const std::string& base : bases) {
    const std::string name = DirectoryOf(base);
    const int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      // A directory this user may write but not read (mode -wx) is passed over: the name check
      // that follows cannot list it, and fails. Making the log itself says what is wrong with a
      // directory that is not there.
      if (fd >= 0) ::close(fd);
      continue;
    }
    dirs.push_back(OpenDirectory{st.st_dev, st.st_ino, fd, name});
  }
  // One descriptor per directory (two would lock each other out: flock locks belong to the open
  // file, not to the process), locked in (device, inode) order by every caller.
  auto key = [](const OpenDirectory& d) { return std::tie(d.dev, d.ino); };
  std::sort(dirs.begin(), dirs.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  std::vector<OpenDirectory> unique;
  for (const OpenDirectory& d : dirs) {
    if (!unique.empty() && key(unique.back()) == key(d)) {
      ::close(d.fd);
    } else {
      unique.push_back(d);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kWaitSeconds);
  std::vector<int> fds;
  for (OpenDirectory& d : unique) {
    auto locked = LockWithin(d, deadline);
    if (!locked) {
      CloseAll(unique);  // closing releases the locks already taken
      return locked.error();
    }
    if (locked.value()) {
      fds.push_back(d.fd);
    } else {
      // Cannot be locked there: the name is checked and made unlocked, which leaves only the
      // race the lock closes (two processes making run.slog and run_1.slog at the same instant)
      // open, rather than refusing every new log on such a file system.
      ::close(d.fd);
      d.fd = -1;
    }
  }
  return NewLogLock(std::move(fds));
}

NewLogLock& NewLogLock::operator=(NewLogLock&& other) noexcept {
  if (this != &other) {
    Release();
    fds_ = std::move(other.fds_);
    other.fds_.clear();
  }
  return *this;
}

void NewLogLock::Release() {
  for (const int fd : fds_) ::close(fd);  // the only descriptor of each: the flock goes with it
  fds_.clear();
}

}  // namespace slablog
