#include "new_logs.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "partial_files.h"
#include "slablog/format.h"
#include "slablog/log_lock.h"
#include "slablog/new_log_lock.h"

namespace slablog::cli {
namespace fs = std::filesystem;

namespace {

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found;
}

Error IoError(const std::string& file, const std::string& what) {
  return Error{Errc::kIo, file, 0, what + ": " + std::strerror(errno)};
}

// The slab files of `base` numbered `first` and up, gaps or not. Fails rather than miss one a
// listing that broke off did not reach, which readers would take as the new log's.
Status ListSlabsFrom(const std::string& base, uint32_t first, std::vector<std::string>* out) {
  const auto slabs = ListSlabFilesOrFail(base);
  if (!slabs) return slabs.error();
  for (const auto& [index, path] : slabs.value()) {
    if (index >= first) out->push_back(path);
  }
  return Status();
}

}  // namespace

std::string LogStem(const std::string& path) {
  // A slab's own name ends in _N: its pieces are named after the log, not after that slab.
  const std::string name = fs::path(BaseOfSlabPath(path).value_or(path)).stem().string();
  return name.empty() ? "log" : name;
}

NewLogs::~NewLogs() {
  if (published_) return;
  for (const Pending& p : logs_) {
    for (uint32_t i = 0;; ++i) {
      if (unlink(SlabPath(p.temp, i).c_str()) != 0) break;
    }
  }
}

void NewLogs::Protect(const std::vector<std::string>& files) {
  protected_.insert(protected_.end(), files.begin(), files.end());
}

bool NewLogs::Taken(const std::string& final_base) const {
  for (const Pending& p : logs_) {
    if (p.final_base == final_base) return true;
  }
  return false;
}

Result<std::string> NewLogs::Add(const std::string& final_base) {
  const std::string first = SlabPath(final_base, 0);
  if (Taken(final_base)) return Error{Errc::kInvalidArgument, first, 0, "two outputs would have this name"};
  // Outputs are named only when they are all written (Publish), so Writer::Open's name rule sees
  // their temporary names: it is applied here to the names they will have, and to each other
  // (split's pieces of streams cam and cam_1 would be one log's name and its slab's).
  for (const Pending& p : logs_) {
    if (BaseOfSlabPath(final_base) == p.final_base || BaseOfSlabPath(p.final_base) == final_base) {
      return Error{Errc::kInvalidArgument, final_base, 0,
                   "is named like a slab of another output (" + p.final_base + "), or they like one of its: readers "
                   "could not tell them apart"};
    }
  }
  std::error_code ec;
  for (const std::string& p : protected_) {
    if (fs::equivalent(first, p, ec)) {
      return Error{Errc::kInvalidArgument, first, 0, "is one of the logs being read; choose another name"};
    }
  }
  if (!force_ && Exists(first)) {
    return Error{Errc::kInvalidArgument, first, 0, "already exists (use --force to replace it)"};
  }
  if (Status free = CheckNewLogName(final_base, force_); !free) return free.error();
  const fs::path path(final_base);
  // Said of the directory, before a hidden temporary name could appear in the message.
  const std::string dir = path.parent_path().empty() ? "." : path.parent_path().string();
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error{errno == ENOENT || errno == ENOTDIR ? Errc::kNotFound : Errc::kIo, dir, 0,
                 std::string("cannot create ") + path.filename().string() + " here: " + std::strerror(errno)};
  }
  const std::string ext = path.extension().string();
  // Files of a log that an earlier split or merge, killed before it could clean up, was writing
  // under the same final name (".NAME.partial-PID_N.EXT", or a slab still named ...EXT.new).
  const std::string prefix = PartialPrefix(path.stem().string());
  RemoveAbandonedPartials(path.parent_path(), prefix);
  const std::string temp = (path.parent_path() / (prefix + std::to_string(getpid()) + ext)).string();
  logs_.push_back(Pending{temp, final_base, 0});
  return temp;
}

Status NewLogs::Publish() {
  size_t done = 0;       // logs whose slabs are all in place
  uint32_t done_slabs = 0;  // slabs in place of logs_[done]
  auto undo = [&] {
    for (size_t l = 0; l <= done && l < logs_.size(); ++l) {
      const uint32_t n = l < done ? logs_[l].slabs : done_slabs;
      for (uint32_t i = 0; i < n; ++i) {
        (void)rename(SlabPath(logs_[l].final_base, i).c_str(), SlabPath(logs_[l].temp, i).c_str());
      }
    }
  };
  // A writer of a log under one of the final names (an append, or a new log made meanwhile)
  // would lose what it writes to the renames: its lock is taken for them, and refused if held.
  std::vector<LogLock> locks;
  std::vector<std::string> finals;
  for (const Pending& p : logs_) {
    auto lock = LogLock::Acquire(p.final_base, "a writer (or a truncate)");
    if (!lock) return lock.error();
    locks.push_back(std::move(lock.value()));
    finals.push_back(p.final_base);
  }
  // Again, and under the lock every new log's name is made under until the renames are done: a
  // log named like one of theirs may have been made meanwhile, or be about to be.
  auto naming = NewLogLock::Acquire(finals);
  if (!naming) return naming.error();
  for (const Pending& p : logs_) {
    if (Status free = CheckNewLogName(p.final_base, force_); !free) return free.error();
  }
  for (Pending& p : logs_) p.slabs = 0;
  for (Pending& p : logs_) {
    while (Exists(SlabPath(p.temp, p.slabs))) ++p.slabs;
  }
  // Slabs of an older, longer log under a replaced name would read as slabs of a foreign log:
  // listed before anything is renamed (a listing that fails then changes nothing), and removed
  // once the new logs are in place. The locks held keep any other slab from being made there.
  std::vector<std::string> stale;
  if (force_) {
    for (const Pending& p : logs_) {
      if (Status st = ListSlabsFrom(p.final_base, p.slabs, &stale); !st) return st;
    }
  }
  for (; done < logs_.size(); ++done) {
    Pending& p = logs_[done];
    for (done_slabs = 0; done_slabs < p.slabs; ++done_slabs) {
      const std::string from = SlabPath(p.temp, done_slabs), to = SlabPath(p.final_base, done_slabs);
      // Without --force an existing file is never replaced, even one that appeared just now.
      const int rc = force_ ? rename(from.c_str(), to.c_str())
                            : renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
      if (rc != 0) {
        Error e = errno == EEXIST ? Error{Errc::kInvalidArgument, to, 0, "appeared while it was being written; nothing was replaced"}
                                  : IoError(to, "cannot rename " + from + " to it");
        undo();
        return e;
      }
    }
  }
  published_ = true;
  for (const std::string& path : stale) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return IoError(path, "cannot remove");
  }
  naming.value().Release();
  // The renames are durable before the command says the logs exist.
  std::vector<std::string> dirs;
  for (const Pending& p : logs_) {
    std::string d = fs::path(p.final_base).parent_path().string();
    if (d.empty()) d = ".";
    bool seen = false;
    for (const auto& x : dirs) seen = seen || x == d;
    if (seen) continue;
    dirs.push_back(d);
    const int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
      Error e = IoError(d, "cannot sync the directory");
      if (fd >= 0) close(fd);
      return e;
    }
    close(fd);
  }
  return Status();
}

std::vector<std::string> NewLogs::names() const {
  std::vector<std::string> out;
  for (const Pending& p : logs_) out.push_back(p.final_base);
  return out;
}

}  // namespace slablog::cli
