// Where export --format csv keeps its rows until it knows its columns. Without --fields the
// header names every field of every record, so no row can be written before the last record
// is read; holding the rows lets the records be read once, not once for the columns and again
// for the rows. A few batches' rows are held in memory, the rest, like sort(1)'s runs, in a
// temporary file with no name (O_TMPFILE, or unlinked at once), so an export that is killed
// leaves nothing behind. A batch's rows are put away by the worker that made them, into a range
// of the file of their own, once they are known to stand (csv_export.cc): copied into the page
// cache by the reading thread, they took a quarter of an export's CPU time there, and left the
// workers idle half of theirs.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "csv_cells.h"
#include "json_out.h"

namespace slablog::cli {

// Where a batch's rows were put by CsvSpool::Store: held in memory (the rows themselves) or in
// a range of the spool's file.
struct CsvSpoolPiece {
  bool stored = false;  // Store succeeded
  bool in_file = false;
  CsvText held;         // the rows, when not in the file
  uint64_t file_offset = 0;
  uint64_t size = 0;
};

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

  // Puts `rows` away, on any thread: takes them (leaving `rows` empty) while memory is left,
  // else copies them into a range of the file of their own, so that the workers that made
  // batches' rows also do the copying, at once, not one thread after another. Sets
  // `piece->stored` false once the file cannot be made or written, or would grow past its
  // bounds: the spool is then useless (every later Store fails too), and the caller makes the
  // rows again in a second pass. Rows stored are never given back: store only rows that stand.
  void Store(CsvText* rows, CsvSpoolPiece* piece);
  // Takes a stored piece (leaving it empty) as the rows after those appended before: the
  // spool's rows are in the order of these calls, whatever the order of Store's.
  void Append(CsvSpoolPiece* piece);
  uint64_t size() const { return size_; }

  // Writes the rows in [begin, end) to `out`, each padded with empty cells to `width` cells:
  // rows made before later columns were found are narrower than the header. Rows are told
  // apart by their line ends outside quoted cells, cells by commas outside them. False once
  // standard output is closed, or when the file cannot be read back.
  bool CopyPadded(StdoutBuffer* out, uint64_t begin, uint64_t end, size_t width) const;
  // Writes the bytes in [begin, end) to `out` as they are.
  bool Copy(StdoutBuffer* out, uint64_t begin, uint64_t end) const;

 private:
  // Reserves `size` bytes of the file for one piece. False when the file cannot be made, or
  // may not grow that far.
  bool ReserveInFile(uint64_t size, uint64_t* offset);
  bool RoomLeft(uint64_t more);
  // Standard output is a file on the spool file's file system.
  bool OutputSharesFileSystem() const;
  // Hands each piece that holds bytes of [begin, end) to take(piece, from, size): those bytes
  // are `size` from `from` in the piece. In order; false from take stops, and is returned.
  template <typename Take>
  bool ForEachPiece(uint64_t begin, uint64_t end, Take&& take) const;

  const uint64_t memory_bytes_;
  std::vector<CsvSpoolPiece> pieces_;  // in order
  uint64_t size_ = 0;

  // Shared by the workers that Store.
  std::mutex mutex_;
  uint64_t memory_used_ = 0;  // guarded by mutex_
  int fd_ = -1;               // made under mutex_; read-only once made
  uint64_t file_size_ = 0;    // reserved; guarded by mutex_
  uint64_t checked_at_ = 0;   // file_size_ when free space was last looked at; guarded by mutex_
  bool checked_ = false;      // guarded by mutex_
  std::atomic<bool> failed_{false};
};

}  // namespace slablog::cli
