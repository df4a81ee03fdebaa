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
// Free space is looked at again after this much was reserved: a spool may fill a disk that
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

void CsvSpool::Store(CsvText* rows, CsvSpoolPiece* piece) {
  *piece = CsvSpoolPiece{};
  const std::string_view text = rows->view();
  piece->size = text.size();
  if (failed_) return;
  bool held = false;
  {
    std::lock_guard lock(mutex_);
    held = memory_used_ + text.size() <= memory_bytes_;
    if (held) memory_used_ += text.size();
  }
  if (held) {
    piece->held = std::move(*rows);  // leaves it empty
    piece->stored = true;
    return;
  }
  uint64_t at = 0;
  if (!ReserveInFile(text.size(), &at)) {
    failed_ = true;
    return;
  }
  piece->in_file = true;
  piece->file_offset = at;
  for (std::string_view left = text; !left.empty();) {
    const ssize_t n = ::pwrite(fd_, left.data(), left.size(), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      return;
    }
    left.remove_prefix(static_cast<size_t>(n));
    at += static_cast<uint64_t>(n);
  }
  piece->stored = true;
}

void CsvSpool::Append(CsvSpoolPiece* piece) {
  size_ += piece->size;
  pieces_.push_back(std::move(*piece));
  *piece = CsvSpoolPiece{};
}

bool CsvSpool::ReserveInFile(uint64_t size, uint64_t* offset) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0 && (fd_ = OpenNamelessFile(Directory())) < 0) return false;
  if (!RoomLeft(size)) return false;
  *offset = file_size_;
  file_size_ += size;
  return true;
}

bool CsvSpool::RoomLeft(uint64_t more) {
  if (checked_ && file_size_ + more < checked_at_ + kCheckEvery) return true;
  struct statvfs fs {};
  if (::fstatvfs(fd_, &fs) != 0) return false;
  const uint64_t total = uint64_t{fs.f_blocks} * fs.f_frsize;
  const uint64_t free = uint64_t{fs.f_bavail} * fs.f_frsize;
  const uint64_t keep = std::min<uint64_t>(total / 20, uint64_t{1} << 30);
  // Room for this piece and the next kCheckEvery bytes, the reserve kept.
  const uint64_t growth = more + kCheckEvery;
  uint64_t needed = keep + growth;
  // Standard output into a file here will take every row held (padding not counted) while the
  // file still holds them: with room left only for the spool, the export would fail there
  // where two passes fit.
  if (OutputSharesFileSystem()) needed += memory_used_ + file_size_ + growth;
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

template <typename Take>
bool CsvSpool::ForEachPiece(uint64_t begin, uint64_t end, Take&& take) const {
  uint64_t at = 0;  // where the piece starts among the rows
  for (const CsvSpoolPiece& piece : pieces_) {
    if (at >= end) break;
    const uint64_t piece_at = at;
    at += piece.size;
    const uint64_t from = std::max(begin, piece_at), to = std::min(end, at);
    if (from < to && !take(piece, from - piece_at, to - from)) return false;
  }
  return true;
}

bool CsvSpool::Copy(StdoutBuffer* out, uint64_t begin, uint64_t end) const {
  return ForEachPiece(begin, end,
                      [&](const CsvSpoolPiece& piece, uint64_t from, uint64_t size) {
                        if (!piece.in_file) {
                          return out->Write(piece.held.view().substr(static_cast<size_t>(from), static_cast<size_t>(size)));
                        }
                        bool read_failed = false;
                        return out->WriteFromFile(fd_, piece.file_offset + from, size, &read_failed);
                      }) &&
         out->Flush();
}

bool CsvSpool::CopyPadded(StdoutBuffer* out, uint64_t begin, uint64_t end, size_t width) const {
  bool quoted = false;  // inside a quoted cell: its commas and line ends are text
  size_t cells = 1;     // of the row being copied
  auto pad = [&](std::string_view block) {
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
  };
  std::unique_ptr<char[]> block;
  return ForEachPiece(begin, end,
                      [&](const CsvSpoolPiece& piece, uint64_t from, uint64_t size) {
                        if (!piece.in_file) return pad(piece.held.view().substr(static_cast<size_t>(from), static_cast<size_t>(size)));
                        if (block == nullptr) block.reset(new char[kReadBlock]);
                        for (uint64_t done = 0; done < size;) {
                          const ssize_t n = ::pread(fd_, block.get(), static_cast<size_t>(std::min<uint64_t>(kReadBlock, size - done)),
                                                    static_cast<off_t>(piece.file_offset + from + done));
                          if (n < 0 && errno == EINTR) continue;
                          if (n <= 0 || !pad(std::string_view(block.get(), static_cast<size_t>(n)))) return false;
                          done += static_cast<uint64_t>(n);
                        }
                        return true;
                      }) &&
         out->Flush();
}

}  // namespace slablog::cli
