// The logs that split and merge create. Each is written under a hidden temporary name next to
// its final one, and all of them are renamed into place only once every one is complete: a
// command that fails or is interrupted leaves nothing under a name a user would trust, and an
// existing file is replaced only with --force.
#pragma once

#include <string>
#include <vector>

#include "slablog/status.h"

namespace slablog::cli {

class NewLogs {
 public:
  explicit NewLogs(bool force) : force_(force) {}
  ~NewLogs();  // removes every file that was not published
  NewLogs(const NewLogs&) = delete;
  NewLogs& operator=(const NewLogs&) = delete;

  // Files that must never be replaced, even with --force (the logs being read).
  void Protect(const std::vector<std::string>& files);
  // Registers a log that will be published as `final_base` and returns the base name to write it
  // under. Fails when that name is taken (without --force), protected, or registered twice.
  Result<std::string> Add(const std::string& final_base);
  // Renames every registered log's slab files to their final names. Without --force, a name that
  // appeared in the meantime undoes the renames already made and fails. With --force, slab files
  // of an older log under the same name beyond the new log's last slab are removed.
  Status Publish();
  // Final base names, in the order they were added.
  std::vector<std::string> names() const;

 private:
  struct Pending {
    std::string temp;
    std::string final_base;
    uint32_t slabs = 0;  // counted by Publish
  };
  bool Taken(const std::string& final_base) const;
  bool force_;
  bool published_ = false;
  std::vector<Pending> logs_;
  std::vector<std::string> protected_;
};

// "dir/run.slog" or "dir/run_3.slog" -> "run": the name a log's pieces are named after.
std::string LogStem(const std::string& path);

}  // namespace slablog::cli
