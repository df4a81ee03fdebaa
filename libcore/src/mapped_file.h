// Read-only memory maps of whole files (the reader's view of slabs) and the slab files the writer
// creates, maps read-write and trims. Every failure names the file and the system error.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "slablog/status.h"

namespace slablog {

Error IoError(const std::string& file, const std::string& what, int err);

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Maps the whole file read-only. An empty file gives an empty span. A directory, a device or a
  // missing file is an error.
  static Result<MappedFile> Open(const std::string& path);

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// A slab file open for writing: preallocated to its capacity and mapped shared, so that stores
// into the map are the writes (no system call per record), visible at once to readers of the file.
class WritableSlab {
 public:
  WritableSlab() = default;
  WritableSlab(const WritableSlab&) = delete;
  WritableSlab& operator=(const WritableSlab&) = delete;
  ~WritableSlab();

  // Creates a new file (never replaces one) of `capacity` bytes of zeros.
  static Result<std::unique_ptr<WritableSlab>> Create(const std::string& path, uint64_t capacity);
  // Opens an existing file and grows it back to `capacity` (the bytes added are zeros).
  static Result<std::unique_ptr<WritableSlab>> Reopen(const std::string& path, uint64_t capacity);

  uint8_t* data() { return data_; }
  uint64_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

  // Faults in [offset, offset + n) for writing ahead of the appends (one system call instead of a
  // page fault per page); a failure is harmless, the pages then fault in one by one.
  void Prefault(uint64_t offset, uint64_t n);
  Status Sync();
  // Unmaps the file; Sync() and Truncate() still work on the open descriptor.
  void Unmap();
  Status Truncate(uint64_t size);
  Status CloseFile();

 private:
  Status Map();

  std::string path_;
  int fd_ = -1;
  uint8_t* data_ = nullptr;
  uint64_t capacity_ = 0;
};

// True when a writer holds the file (slab files are locked while a Writer has them open).
bool WriterActive(const std::string& path);

// fsync of a directory, so that files created in it survive a power cut.
Status SyncDirectoryOf(const std::string& path);

}  // namespace slablog
