// Checking and repairing logs: Verify (is every byte accounted for?), Truncate (repair a log whose
// writer died, in place), and Recover (copy whatever can be salvaged into a new log). Policy lives
// here and in the CLI; the reader only reports.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/reporter.h"
#include "slablog/status.h"
#include "slablog/writer.h"

namespace slablog {

struct VerifyOptions {
  unsigned threads = 0;  // as ReaderOptions::threads (0: the reading thread plus one)
  // Called now and then from the calling thread with the bytes of the log checked so far.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct VerifyResult {
  bool clean = false;          // closed cleanly (end marker)
  bool writer_active = false;  // a writer holds the log open right now
  uint32_t slabs = 0;
  uint64_t sections = 0;
  uint64_t open_sections = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;          // payload bytes of the records checked
  uint64_t log_bytes = 0;      // size of the log's files
  uint64_t damage = 0;         // problems other than torn tails
  uint64_t torn = 0;           // torn tails (what a crash leaves)
  uint64_t in_progress = 0;    // torn tails that are frames a live writer is still writing
  // A ring (LogSummary::ring): slabs reused before the ones read, records cut by that.
  bool ring = false;
  uint64_t ring_slabs_gone = 0;
  uint64_t ring_partial_records = 0;
  // Compressed sections (slablog compress): how many, the bytes they take in the files, and their
  // frames' bytes once decompressed.
  uint64_t compressed_sections = 0;
  uint64_t compressed_bytes = 0;
  uint64_t uncompressed_bytes = 0;
  // The earliest and latest record timestamps of the closed sections (from their headers).
  std::optional<int64_t> first_t, last_t;
  bool ok() const { return damage == 0 && torn == 0 && clean; }
};

// Checks every slab header, section header and frame CRC, and the structure (sizes, sequence
// numbers, fragments, catalog, slab set, clean close). Every problem goes to `reporter`, which may
// be null; checking goes on after each one. An error is returned only when the log cannot be read
// at all.
Result<VerifyResult> Verify(std::string_view path, const VerifyOptions& options, Reporter* reporter);

struct TruncateOptions {
  bool dry_run = false;   // plan and report, write nothing
  std::string save_cut;   // if set, the bytes cut are appended to this file first
  // For crash tests: stop after this many writes, as if killed there (0: no limit).
  uint64_t stop_after_writes = 0;
};

// One region of bytes that truncate removes (zeroes), and why.
struct TruncateCut {
  std::string file;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  uint32_t stream = 0;
  std::string stream_name;
  std::string reason;
};

struct TruncateResult {
  bool changed = false;          // false: the log needed nothing and was not touched
  uint64_t sections_closed = 0;  // open sections given a close block
  uint64_t sections_shrunk = 0;  // closed sections whose unfinished record was cut
  std::vector<TruncateCut> cuts;
  std::string end_marker_file;   // where the end marker was written (empty: already there)
  uint64_t end_marker_offset = 0;
  uint64_t trimmed_bytes = 0;    // bytes cut off the end of the last slab file
  std::string removed_file;      // a last slab file the writer had only begun (empty or zeros)
  bool trim_deferred = false;    // a reader had the last slab mapped: not shortened this time
};

// Repairs, in place, a log whose writer died: in every open section it keeps every complete
// frame, cuts the torn frame at the tail and any record whose LAST never came, closes the section
// with its true size, writes the end marker and trims the last slab. Killed or cut off by a power
// loss part-way, running it again completes the repair. Refuses (Errc::kCorruption) to touch
// damage anywhere else, which would drop valid data after it, and (Errc::kInvalidArgument) a log
// a writer has open.
Result<TruncateResult> Truncate(std::string_view path, const TruncateOptions& options,
                                Reporter* reporter);

struct RecoverStream {
  uint32_t id = 0;
  std::string name;
  uint64_t records = 0;          // copied into the new log
  uint64_t bytes = 0;
  uint64_t records_lost = 0;     // at least this many: counted by closed sections, not returned
  uint64_t bytes_dropped = 0;    // bytes of this stream the reader had to skip
  uint64_t problems = 0;
  std::vector<uint64_t> offsets; // where its problems are (the first 100)
};

struct RecoverResult {
  uint64_t records = 0;
  uint64_t problems = 0;
  std::vector<RecoverStream> streams;
};

// Writes a new log at `out` (a base name; it must not exist) with every record that can be read
// from the log at `path`, in each stream's order, with the same stream names, encodings, types and
// timestamps. The input is only read. `progress`, if set, is called now and then from the calling
// thread with the bytes of the log read so far (as VerifyOptions::progress).
Result<RecoverResult> Recover(std::string_view path, const std::string& out, const WriterOptions& options,
                              Reporter* reporter,
                              const std::function<void(uint64_t done, uint64_t total)>& progress = nullptr);

}  // namespace slablog
