#include "mcap_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "partial_files.h"
#include "slablog/format.h"

namespace slablog::cli {
namespace {

Error McapIoError(const std::string& file, const std::string& what) {
  return Error{Errc::kIo, file, 0, what + ": " + std::strerror(errno)};
}

// Whether `path` starts as a slab of a slablog log does (its magic).
bool IsSlabFile(const std::string& path) {
  std::array<uint8_t, kSlabMagic.size()> head{};
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  const size_t n = std::fread(head.data(), 1, head.size(), f);
  std::fclose(f);
  return n == head.size() && head == kSlabMagic;
}

}  // namespace

Result<std::unique_ptr<McapFile>> McapFile::Create(const std::string& path, bool replace) {
  if (path == "-") return std::unique_ptr<McapFile>(new McapFile(path, "", STDOUT_FILENO, false));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Error{Errc::kInvalidArgument, path, 0, "is a directory, not a file to write"};
    // The rename would put the file in place of a device, a pipe or a link, not write into it.
    if (!S_ISREG(st.st_mode)) {
      return Error{Errc::kInvalidArgument, path, 0,
                   "is not a regular file (a device, pipe or link): not replaced even with --force; use -o - and "
                   "redirect"};
    }
    if (!replace) return Error{Errc::kInvalidArgument, path, 0, "already exists (use --force to replace it)"};
    if (IsSlabFile(path)) {
      return Error{Errc::kInvalidArgument, path, 0, "is a slab file of a slablog log: not replaced even with --force"};
    }
  }
  // A name that is a log's (run.slog beside run_0.slog) would hide that log from every reader.
  if (!ListSlabFiles(path).empty()) {
    return Error{Errc::kInvalidArgument, path, 0, "is the name of a slablog log: choose another name"};
  }
  const std::filesystem::path p(path);
  const std::string prefix = PartialPrefix(p.filename().string());
  // An export killed outright (SIGKILL, a power cut) never ran its destructor.
  RemoveAbandonedPartials(p.parent_path(), prefix);
  const std::filesystem::path temp = p.parent_path() / (prefix + std::to_string(::getpid()));
  // One under this very PID is left by a dead process whose PID this one was given.
  (void)::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return McapIoError(path, "cannot create " + temp.string());
  return std::unique_ptr<McapFile>(new McapFile(path, temp.string(), fd, replace));
}

McapFile::~McapFile() {
  if (temp_.empty()) return;
  if (fd_ >= 0) ::close(fd_);
  if (!published_) (void)::unlink(temp_.c_str());
}

Status McapFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE && temp_.empty()) {
      closed_ = true;
      return Error{Errc::kIo, "-", 0, "standard output closed"};
    }
    if (n <= 0) return McapIoError(temp_.empty() ? "standard output" : path_, "cannot write");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

Status McapFile::Publish() {
  if (temp_.empty()) return Status();
  // Durable before it has its name: after a power cut the name never points at a torn file.
  if (::fsync(fd_) != 0) return McapIoError(path_, "cannot write");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return McapIoError(path_, "cannot write");
  // Without --force a file that appeared meanwhile is not replaced either.
  const int rc = replace_ ? ::rename(temp_.c_str(), path_.c_str())
                          : ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    if (errno == EEXIST) return Error{Errc::kInvalidArgument, path_, 0, "already exists (use --force to replace it)"};
    return McapIoError(path_, "cannot rename " + temp_ + " to it");
  }
  published_ = true;
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status();
}

}  // namespace slablog::cli
