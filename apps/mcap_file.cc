#include "mcap_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "partial_files.h"
#include "slab_names.h"
#include "slablog/format.h"

namespace slablog::cli {
namespace {

Error McapIoError(const std::string& file, const std::string& what) {
  return Error{Errc::kIo, file, 0, what + ": " + std::strerror(errno)};
}

// A name like a slab file's (run_5.slog) is left to the log it would be a slab of (run.slog)
// whenever a file of that log is found that is not an MCAP file: a damaged slab (its magic lost),
// or a slab the log has yet to make. Files of that name that are all MCAP files (earlier exports,
// take_1.mcap beside take_2.mcap) claim nothing.
Result<std::optional<SlabName>> LogClaiming(const std::string& path) {
  auto slab = SlabNameOf(path);
  if (!slab || !slab.value()) return slab;
  for (const std::string& file : slab.value()->files) {
    if (!FileStartsWith(file, kMcapMagic)) return slab;
  }
  return std::optional<SlabName>();
}

}  // namespace

Result<std::unique_ptr<McapFile>> McapFile::Create(const std::string& path, bool replace) {
  if (path == "-") return std::unique_ptr<McapFile>(new McapFile(path, "", STDOUT_FILENO, false));
  // The refusals --force does not lift come first, so that no message suggests it in vain.
  struct stat st {};
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return Error{Errc::kInvalidArgument, path, 0, "is a directory, not a file to write"};
  // The rename would put the file in place of a device, a pipe or a link, not write into it.
  if (exists && !S_ISREG(st.st_mode)) {
    return Error{Errc::kInvalidArgument, path, 0,
                 "is not a regular file (a device, pipe or link): not replaced even with --force; use -o - and "
                 "redirect"};
  }
  // Any NAME.lock is the lock file of the log NAME: replaced while a writer holds it, the next
  // writer would lock the MCAP file instead, and two writers would have that log at once.
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".lock") == 0) {
    return Error{Errc::kInvalidArgument, path, 0,
                 "is named as a log's lock file (NAME.lock, of the log NAME): not written even with --force; "
                 "choose another name"};
  }
  if (exists && StartsAsSlab(path)) {
    return Error{Errc::kInvalidArgument, path, 0, "is a slab file of a slablog log: not replaced even with --force"};
  }
  const auto claimed = LogClaiming(path);
  if (!claimed) return claimed.error();
  if (const auto& log = claimed.value()) {
    return Error{Errc::kInvalidArgument, path, 0,
                 fmt::format("is the name of slab {} of the log {}, which is how every command reads it: not "
                             "written even with --force; choose another name",
                             log->index, log->base)};
  }
  // A name that is a log's (run.slog beside run_0.slog) would hide that log from every reader.
  const auto slabs = ListSlabFilesOrFail(path);
  if (!slabs) return slabs.error();
  if (!slabs->empty()) {
    return Error{Errc::kInvalidArgument, path, 0, "is the name of a slablog log: choose another name"};
  }
  if (exists && !replace) return Error{Errc::kInvalidArgument, path, 0, "already exists (use --force to replace it)"};
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
