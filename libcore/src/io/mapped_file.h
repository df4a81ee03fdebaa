// Read-only memory maps of whole files (the reader's view of slabs) and the slab files the writer
// creates, maps read-write and trims. Every failure names the file and the system error.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "slablog/status.h"

namespace slablog {

Error IoError(const std::string& file, const std::string& what, int err);

// Added to a slab's name while its writer makes it (a new file, or one a ring takes over):
// readers never list such a name.
inline constexpr std::string_view kSlabTempSuffix = ".new";

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Maps the whole file read-only. An empty file gives an empty span. A directory, a device or a
  // missing file is an error. With `hold_trim_lock`, a shared trim lock is held while the file is
  // mapped, so that a writer closing the log does not shorten it under the mapping (which would
  // turn reads past the new end into SIGBUS).
  static Result<MappedFile> Open(const std::string& path, bool hold_trim_lock = false);

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  // Whether path() still names the file that was mapped: false once it was renamed away or
  // replaced (a ring's writer renames a slab file it reuses before it changes any byte of it).
  // True when it cannot be told (a lookup failing otherwise than for a missing name).
  bool StillAtItsPath() const;
  // Whether `path` names the file that was mapped (false when it cannot be looked up).
  bool IsFileAt(const std::string& path) const;

  // Reads of the map never die by SIGBUS (fault_guard.h): a page that cannot be read (the file
  // was cut short under the map, or the disk failed) reads as zeros. This is the offset of the
  // lowest such page met so far, if any; whoever read the bytes must then report it.
  std::optional<uint64_t> fault_offset() const;
  // The word behind fault_offset (fault_guard::FaultWord): kNoFault until a read faults.
  const std::atomic<uint64_t>* fault_word() const;

 private:
  void Release();

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint64_t device_ = 0;  // the file mapped (StillAtItsPath)
  uint64_t inode_ = 0;
  int lock_fd_ = -1;
  int guard_ = -1;  // the fault_guard slot of the map
};

// A slab file open for writing: preallocated to its capacity and mapped shared, so that stores
// into the map are the writes (no system call per record), visible at once to readers of the file.
class WritableSlab {
 public:
  WritableSlab() = default;
  WritableSlab(const WritableSlab&) = delete;
  WritableSlab& operator=(const WritableSlab&) = delete;
  ~WritableSlab();

  // Creates a new file of `capacity` bytes of zeros under a temporary name; Publish() gives it its
  // name, so that readers never see a slab file without its header. Never replaces a file.
  static Result<std::unique_ptr<WritableSlab>> Create(const std::string& path, uint64_t capacity);
  Status Publish();
  // Takes over `old_path`, already open as `fd` (locked by the caller), as the slab to be named
  // `path`: renamed to its temporary name and sized to `capacity`. Its bytes are whatever the file
  // held (see reused()); Publish() names it.
  static Result<std::unique_ptr<WritableSlab>> Adopt(int fd, const std::string& old_path,
                                                     const std::string& path, uint64_t capacity);
  // Opens an existing file and grows it back to `capacity` (the bytes added are zeros).
  static Result<std::unique_ptr<WritableSlab>> Reopen(const std::string& path, uint64_t capacity);

  uint8_t* data() { return data_; }
  uint64_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

  // Faults in [offset, offset + n) for writing ahead of the appends (one system call instead of a
  // page fault per page); a failure is harmless, the pages then fault in one by one. After
  // PreferSmallWrites, for reading only: the pages are not dirtied, so no sync writes them.
  void Prefault(uint64_t offset, uint64_t n);
  // For a writer that syncs often: the file's pages are cached 4 KiB at a time, so that a store
  // dirties (and the next sync writes) 4 KiB rather than the 2 MiB folio Map() asks for, or the
  // larger folios readahead makes. Call before any page of the map is touched; cached pages of
  // the file (a reused or reopened one) are dropped if clean.
  void PreferSmallWrites();
  // Stores zeros in [offset, offset + n), through the map.
  void Zero(uint64_t offset, uint64_t n);
  // Whether the file came from a retired log (Adopt): then its bytes are not zeros until made so.
  bool reused() const { return reused_; }
  Status Sync();
  // Makes [offset, offset + n) durable, and no other dirty page of the file (pwritev2 with
  // RWF_DSYNC of the mapped bytes).
  Status SyncRange(uint64_t offset, uint64_t n);
  // Unmaps the file; Sync() and Truncate() still work on the open descriptor.
  void Unmap();
  // As Unmap(), but leaves the munmap of the returned mapping (capacity() bytes) to the caller.
  uint8_t* HandOverMapping() { return std::exchange(data_, nullptr); }
  Status Truncate(uint64_t size);
  // Takes the trim lock exclusively if no reader holds it: false means a reader has the file
  // mapped and it must not be shortened now.
  bool TryTrimLock();
  Status CloseFile();

 private:
  Status Map();

  std::string path_;
  std::string temp_path_;  // while not yet published
  bool reused_ = false;
  bool small_writes_ = false;
  int fd_ = -1;
  uint8_t* data_ = nullptr;
  uint64_t capacity_ = 0;
};

// The trim lock: an open-file-description lock on byte 1 of a slab file. Readers of a log's last
// slab hold it shared; whoever shortens that file must hold it exclusively (see TryTrimLock).
bool LockForTrim(int fd, bool exclusive, bool wait);
void UnlockForTrim(int fd);

// The detail of a read fault at `offset` (MappedFile::fault_offset), for reports and errors.
std::string ReadFaultDetail(uint64_t offset);

// True when a writer holds the file (slab files are locked while a Writer has them open).
bool WriterActive(const std::string& path);

// fsync of a directory, so that files created in it survive a power cut.
Status SyncDirectoryOf(const std::string& path);
// The directory of `path` (".", "/" or its part before the last slash).
std::string DirectoryOf(const std::string& path);
// syncfs(2) of the file system of `fd`, which reports the write-back errors of any of its files
// since `fd` was opened (Linux 5.8 and later), also of files already closed. `what` names it.
Status SyncFileSystem(int fd, const std::string& what);

}  // namespace slablog
