// Preloaded into the slablog program by listing_fault_cli_test.cc (LD_PRELOAD): makes one step
// of the listings of one directory fail, as a disk can (EIO part-way), which no test can cause
// on a real file system. The program's own fault hook (io_faults.h) cannot be set from outside.
//   SLABLOG_SHIM_DIR        listings of directories whose path contains this are counted
//   SLABLOG_SHIM_FAIL_STEP  the step that fails, counted from 0 over the process: each opendir
//                           (or fdopendir) of such a directory, then each readdir of it
//   SLABLOG_SHIM_ERRNO      its errno (EIO when unset)
//   SLABLOG_SHIM_FIRED      a file created when the step fails, for the test to know it did
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

constexpr int kMaxOpen = 64;
DIR* g_counted[kMaxOpen];
long g_step = 0;

template <typename F>
F Real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool Counted(const char* path) {
  const char* dir = std::getenv("SLABLOG_SHIM_DIR");
  return dir != nullptr && path != nullptr && std::strstr(path, dir) != nullptr;
}

// Whether this step fails (then errno is set and the marker file made).
bool StepFails() {
  const char* at = std::getenv("SLABLOG_SHIM_FAIL_STEP");
  if (at == nullptr || g_step++ != std::atol(at)) return false;
  if (const char* fired = std::getenv("SLABLOG_SHIM_FIRED")) {
    const int fd = ::open(fired, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
  }
  const char* err = std::getenv("SLABLOG_SHIM_ERRNO");
  errno = err != nullptr ? std::atoi(err) : EIO;
  return true;
}

void Track(DIR* d) {
  for (DIR*& slot : g_counted) {
    if (slot == nullptr) {
      slot = d;
      return;
    }
  }
}

bool Tracked(DIR* d) {
  for (DIR* slot : g_counted) {
    if (slot == d) return true;
  }
  return false;
}

void Untrack(DIR* d) {
  for (DIR*& slot : g_counted) {
    if (slot == d) slot = nullptr;
  }
}

std::string_view PathOfFd(int fd, char* buf, size_t size) {
  char link[64];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, buf, size - 1);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

}  // namespace

extern "C" {

DIR* opendir(const char* path) {
  static const auto real = Real<DIR* (*)(const char*)>("opendir");
  const bool counted = Counted(path);
  if (counted && StepFails()) return nullptr;
  DIR* d = real(path);
  if (counted && d != nullptr) Track(d);
  return d;
}

DIR* fdopendir(int fd) {
  static const auto real = Real<DIR* (*)(int)>("fdopendir");
  char path[4096];
  const bool counted = Counted(PathOfFd(fd, path, sizeof(path)).data());
  if (counted && StepFails()) return nullptr;
  DIR* d = real(fd);
  if (counted && d != nullptr) Track(d);
  return d;
}

struct dirent* readdir(DIR* d) {
  static const auto real = Real<struct dirent* (*)(DIR*)>("readdir");
  if (Tracked(d) && StepFails()) return nullptr;
  return real(d);
}

struct dirent64* readdir64(DIR* d) {
  static const auto real = Real<struct dirent64* (*)(DIR*)>("readdir64");
  if (Tracked(d) && StepFails()) return nullptr;
  return real(d);
}

int closedir(DIR* d) {
  static const auto real = Real<int (*)(DIR*)>("closedir");
  Untrack(d);
  return real(d);
}

}  // extern "C"
