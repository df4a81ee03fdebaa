// Writes a compressed log in one go (slablog compress, split --compress): records are gathered
// per stream into sections of `section_bytes` of frames, each stored zstd-compressed as it fills
// (man slablog.5, Compressed sections). Not a recorder: nothing is on disk, under any name, until
// Close() has written, synced and named every slab, so a compression that stops part-way leaves
// only NAME.new files, which are not part of any log. A robot records with Writer and compresses
// afterwards (man slablog(1), compress, says why `write` does not compress).
//
// Memory: at most about max_buffered bytes of frames waiting, plus one section's compression.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "slablog/format.h"
#include "slablog/status.h"

namespace slablog {

struct CompressedWriterOptions {
  int level = 1;                                  // zstd level, 1..19 (1, as MCAP's writers: fastest)
  uint64_t section_bytes = uint64_t{1} << 20;     // frame bytes per section before compression
  uint64_t slab_bytes = uint64_t{64} << 20;       // a slab is closed once it holds about this much
  uint64_t max_buffered = uint64_t{64} << 20;     // frames waiting in all streams at most
  uint32_t page_size = 4096;
  bool sync = true;                               // fdatasync each slab and the directory
  // 2: sections are compressed and written by a thread of the writer's own while records are
  // appended; 1: by the appending thread.
  unsigned threads = 2;
};

class CompressedWriter {
 public:
  // Fails if `base` is not free for a new log (CheckNewLogName) or its lock is held.
  static Result<std::unique_ptr<CompressedWriter>> Create(std::string base,
                                                          const CompressedWriterOptions& options);
  ~CompressedWriter();  // without Close(): removes what it wrote
  CompressedWriter(const CompressedWriter&) = delete;
  CompressedWriter& operator=(const CompressedWriter&) = delete;

  // Defines a stream; ids are given in order from 1, as Writer does.
  Result<uint32_t> AddStream(const std::string& name, Encoding encoding, uint32_t type);
  Status Append(uint32_t stream, std::span<const uint8_t> payload, int64_t timestamp);
  // Writes what is waiting, the end marker, syncs, and names the slab files: under NewLogLock,
  // once CheckNewLogName passes again (a log made since Create may have taken the name).
  Status Close();

  struct Stats {
    uint64_t records = 0;
    uint64_t payload_bytes = 0;        // records' bytes
    uint64_t sections = 0;             // data sections written
    uint64_t compressed_sections = 0;  // of them, stored compressed (the others did not shrink)
    uint64_t raw_bytes = 0;            // frame bytes of the data sections
    uint64_t stored_bytes = 0;         // what they take in the files, headers and padding included
    uint32_t slabs = 0;
  };
  const Stats& stats() const;

 private:
  struct Impl;
  explicit CompressedWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slablog

#include "slablog/reporter.h"

namespace slablog {

struct CompressResult {
  CompressedWriter::Stats stats;
  uint64_t log_bytes = 0;  // size of the input log's files
  uint64_t torn = 0;       // torn tails of the input (a crash's), which hold no record
};

// Writes a compressed copy of the log at `path` to the new log `out` (a base name that must not
// exist): every record, in each stream's order, with the same stream names, encodings, types and
// timestamps. Records of different streams keep their order section by section. Refuses
// (Errc::kCorruption) a log with damage, naming nothing (recover it first), and
// (Errc::kInvalidArgument) one a writer has open. Problems go to `reporter` (may be null).
Result<CompressResult> Compress(std::string_view path, const std::string& out,
                                const CompressedWriterOptions& options, Reporter* reporter);

}  // namespace slablog
