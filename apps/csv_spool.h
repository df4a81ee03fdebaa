// Where export --format csv keeps its rows until it knows its columns. Without --fields the
// header names every field of every record, so no row can be written before the last record
// is read; holding the rows lets the records be read once, not once for the columns and again
// for the rows. The first rows are held in memory, the rest, like sort(1)'s runs, in a
// temporary file with no name (O_TMPFILE, or unlinked at once), so an export that is killed
// leaves nothing behind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "csv_cells.h"
#include "json_out.h"

namespace slablog::cli {

class CsvSpool {
 public:
  // Rows up to DefaultMemoryBytes() are held in memory, the rest in a file in Directory(),
  // which refuses to grow past what would leave its file system less than a twentieth of its
  // size (at most 1 GiB) free, and room for standard output when that is a file there too.
  CsvSpool() : memory_bytes_(DefaultMemoryBytes()) {}
  CsvSpool(const CsvSpool&) = delete;
  CsvSpool& operator=(const CsvSpool&) = delete;
  ~CsvSpool();

  // SLABLOG_CSV_MEMORY (a size, as 64K or 0), else an eighth of the physical memory, at most
  // 16 MiB.
  static uint64_t DefaultMemoryBytes();
  // Where the file is made: $TMPDIR, or /tmp.
  static std::string Directory();

  // Takes `rows` (leaving it empty) or copies them to the file. False once the file cannot be
  // made or written, or would grow past its bounds: the spool is then useless, and the caller
  // makes the rows again in a second pass instead.
  bool Append(CsvText* rows);
  uint64_t size() const { return memory_size_ + file_size_; }

  // Writes the rows in [begin, end) to `out`, each padded with empty cells to `width` cells:
  // rows made before later columns were found are narrower than the header. Rows are told
  // apart by their line ends outside quoted cells, cells by commas outside them. False once
  // standard output is closed, or when the file cannot be read back.
  bool CopyPadded(StdoutBuffer* out, uint64_t begin, uint64_t end, size_t width) const;
  // Writes the bytes in [begin, end) to `out` as they are.
  bool Copy(StdoutBuffer* out, uint64_t begin, uint64_t end) const;

 private:
  bool WriteToFile(std::string_view rows);
  bool RoomLeft(size_t more);
  // Standard output is a file on the spool file's file system.
  bool OutputSharesFileSystem() const;
  // Hands the bytes of [begin, end) to take(block) in blocks, in order (false stops). False on
  // a read error or a stop.
  template <typename Take>
  bool ForEachBlock(uint64_t begin, uint64_t end, Take&& take) const;

  uint64_t memory_bytes_;
  std::vector<CsvText> held_;  // the first rows, in memory
  uint64_t memory_size_ = 0;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t checked_at_ = 0;  // the file's size when free space was last looked at
  bool checked_ = false;
  bool failed_ = false;
};

}  // namespace slablog::cli
