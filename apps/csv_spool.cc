#include "csv_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "output.h"

namespace slablog::cli {
namespace {

constexpr size_t kReadBlock = size_t{1} << 20;
// Rows held in memory. Few: a new page of memory costs a page fault, and on virtual machines
// that costs more than the page cache's pages, which write(2) fills without one (measured:
// 263 MB of rows held in memory took 3 times the CPU of the same rows in a file).
constexpr uint64_t kMemoryBytes = uint64_t{16} << 20;
// Free space is looked at again after this much was written: a spool may fill a disk that
// others write to as well.
constexpr uint64_t kCheckEvery = uint64_t{64} << 20;

// `fd`, or a copy of it above the standard descriptors: run with standard output or error
// closed, the file would take its number, and the rows or complaints written there would go
// into the file (between the rows held in it) instead of failing.
int AboveStandardDescriptors(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  ::close(fd);
  return moved;
}

int OpenNamelessFile(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return AboveStandardDescriptors(fd);
  // A file system without O_TMPFILE: a named file, unlinked before anything is written to it.
  std::string name = dir + "/.slablog-csv-XXXXXX";
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return -1;
  ::unlink(name.c_str());
  return AboveStandardDescriptors(fd);
}

}  // namespace

CsvSpool::~CsvSpool() {
  if (fd_ >= 0) ::close(fd_);
}

uint64_t CsvSpool::DefaultMemoryBytes() {
  uint64_t chosen = 0;
  if (const char* env = std::getenv("SLABLOG_CSV_MEMORY"); env != nullptr && ParseSize(env, &chosen)) return chosen;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const uint64_t physical = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  return std::min<uint64_t>(physical / 8, kMemoryBytes);
}

std::string CsvSpool::Directory() {
  const char* env = std::getenv("TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

bool CsvSpool::Append(CsvText* rows) {
  if (failed_) return false;
  const std::string_view text = rows->view();
  if (fd_ < 0 && memory_size_ + text.size() <= memory_bytes_) {
    memory_size_ += text.size();
    held_.push_back(std::move(*rows));  // leaves it empty
    return true;
  }
  if (!WriteToFile(text)) failed_ = true;
  return !failed_;
}

bool CsvSpool::RoomLeft(size_t more) {
  if (checked_ && file_size_ + more < checked_at_ + kCheckEvery) return true;
  struct statvfs fs {};
  if (::fstatvfs(fd_, &fs) != 0) return false;
  const uint64_t total = uint64_t{fs.f_blocks} * fs.f_frsize;
  const uint64_t free = uint64_t{fs.f_bavail} * fs.f_frsize;
  const uint64_t keep = std::min<uint64_t>(total / 20, uint64_t{1} << 30);
  // Room for this write and the next kCheckEvery bytes, the reserve kept.
  const uint64_t growth = more + kCheckEvery;
  uint64_t needed = keep + growth;
  // Standard output into a file here will take every row held (padding not counted) while the
  // file still holds them: with room left only for the spool, the export would fail there
  // where two passes fit.
  if (OutputSharesFileSystem()) needed += memory_size_ + file_size_ + growth;
  if (free < needed) return false;
  checked_ = true;
  checked_at_ = file_size_ + more;
  return true;
}

bool CsvSpool::OutputSharesFileSystem() const {
  struct stat out {}, file {};
  return ::fstat(STDOUT_FILENO, &out) == 0 && S_ISREG(out.st_mode) && ::fstat(fd_, &file) == 0 &&
         out.st_dev == file.st_dev;
}

bool CsvSpool::WriteToFile(std::string_view rows) {
  if (fd_ < 0 && (fd_ = OpenNamelessFile(Directory())) < 0) return false;
  if (!RoomLeft(rows.size())) return false;
  while (!rows.empty()) {
    const ssize_t n = ::write(fd_, rows.data(), rows.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    rows.remove_prefix(static_cast<size_t>(n));
    file_size_ += static_cast<uint64_t>(n);
  }
  return true;
}

template <typename Take>
bool CsvSpool::ForEachBlock(uint64_t begin, uint64_t end, Take&& take) const {
  uint64_t at = 0;  // where the held block starts
  for (const CsvText& block : held_) {
    const std::string_view text = block.view();
    const uint64_t from = std::max(begin, at), to = std::min<uint64_t>(end, at + text.size());
    if (from < to && !take(text.substr(static_cast<size_t>(from - at), static_cast<size_t>(to - from)))) return false;
    at += text.size();
  }
  begin = std::max(begin, at);
  if (begin >= end) return true;
  std::unique_ptr<char[]> block(new char[kReadBlock]);
  while (begin < end) {
    const uint64_t in_file = begin - memory_size_;
    const ssize_t n = ::pread(fd_, block.get(), static_cast<size_t>(std::min<uint64_t>(kReadBlock, end - begin)),
                              static_cast<off_t>(in_file));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    begin += static_cast<uint64_t>(n);
    if (!take(std::string_view(block.get(), static_cast<size_t>(n)))) return false;
  }
  return true;
}

bool CsvSpool::Copy(StdoutBuffer* out, uint64_t begin, uint64_t end) const {
  const uint64_t in_memory = std::min(end, memory_size_);
  if (begin < in_memory &&
      !ForEachBlock(begin, in_memory, [out](std::string_view block) { return out->Write(block); })) {
    return false;
  }
  begin = std::max(begin, memory_size_);
  if (begin >= end) return out->Flush();
  bool read_failed = false;
  return out->WriteFromFile(fd_, begin - memory_size_, end - begin, &read_failed) && out->Flush();
}

bool CsvSpool::CopyPadded(StdoutBuffer* out, uint64_t begin, uint64_t end, size_t width) const {
  bool quoted = false;  // inside a quoted cell: its commas and line ends are text
  size_t cells = 1;     // of the row being copied
  return ForEachBlock(begin, end, [&](std::string_view block) {
           std::string& text = out->text();
           size_t from = 0;
           for (size_t i = 0; i < block.size(); ++i) {
             const char c = block[i];
             if (c == '"') {
               quoted = !quoted;  // a doubled quote inside a cell turns it off and on again
             } else if (!quoted && c == ',') {
               ++cells;
             } else if (!quoted && c == '\n') {
               text.append(block.substr(from, i - from));
               if (cells < width) text.append(width - cells, ',');
               text.push_back('\n');
               from = i + 1;
               cells = 1;
             }
           }
           text.append(block.substr(from));
           return out->MaybeFlush();
         }) &&
         out->Flush();
}

}  // namespace slablog::cli
