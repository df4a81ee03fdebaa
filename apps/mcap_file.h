// The file an MCAP export writes: built under a hidden temporary name next to its final one and
// renamed into place only once complete (as split and merge do), so an export that fails or is
// interrupted leaves no file that looks whole. "-" is standard output, written as it goes.
#pragma once

#include <memory>
#include <string>

#include "mcap_writer.h"
#include "slablog/status.h"

namespace slablog::cli {

class McapFile : public McapSink {
 public:
  // Fails (kInvalidArgument) when `path` is a directory, exists and `replace` is false, or, even
  // when `replace` is true: is not a regular file (a device, pipe or link), begins as a slab file
  // does, is named as a slab of a log that exists (run_5.slog beside run_0.slog: see
  // slab_names.h) or is a log's base name (run.slog). kIo when the temporary file cannot be made
  // (a missing directory, no permission). Temporary files of earlier exports to `path` whose
  // process is dead (killed outright) are removed.
  static Result<std::unique_ptr<McapFile>> Create(const std::string& path, bool replace);
  ~McapFile() override;  // removes the temporary file unless published

  Status Write(std::string_view bytes) override;
  // Makes the file durable and gives it its final name (nothing to do for standard output).
  Status Publish();
  // Standard output was closed by its reader (EPIPE): not an error, the export just stops.
  bool closed() const { return closed_; }

 private:
  McapFile(std::string path, std::string temp, int fd, bool replace)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd), replace_(replace) {}
  std::string path_;
  std::string temp_;  // empty for standard output
  int fd_;
  bool replace_;
  bool published_ = false;
  bool closed_ = false;
};

}  // namespace slablog::cli
