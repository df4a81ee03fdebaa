// A power-cut simulator, in the spirit of RocksDB's fault-injection file system and SQLite's crash
// tests. A seeded scenario runs a real Writer (several threads and streams, records from 0 bytes to
// several sections, Sync() at random points) and keeps the log's files as they were right after
// the last completed Sync() and as they are at the cut. Images are built from those two states as
// a power cut leaves them (man slablog.5: any subset of the 512-byte sectors written since the last
// completed Sync() may revert, files created or renamed since may be missing or short), and each
// image is checked against the crash model's guarantees G1 (nothing made up), G2 (durable means
// durable) and G3 (no silent hole) through the Reader, Verify, Truncate and Recover.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "slablog/writer.h"

namespace slablog::test::powercut {

// The log's base name inside every scenario and image directory.
inline constexpr const char* kBaseName = "pc.slog";

// A directory's files: name -> bytes.
using DirState = std::map<std::string, std::string>;

// What the writer was doing when the power went.
enum class CutKind : uint8_t {
  kWhileWriting,     // threads still appending; Sync() called 0 or more times before
  kNoSyncYet,        // threads still appending; Sync() never completed (nothing is durable)
  kAfterCloseSynced,   // right after Close() with SyncPolicy::kOnClose: everything durable
  kAfterCloseUnsynced, // right after Close() with SyncPolicy::kManual: Close() did not sync
};
const char* CutKindName(CutKind kind);

struct Scenario {
  uint64_t seed = 0;
  WriterOptions options;
  CutKind cut = CutKind::kWhileWriting;
  int threads = 1;
  int streams = 1;
  int syncs = 0;                   // Sync() calls that completed before the cut
  std::vector<uint64_t> durable;   // per stream: records appended before the last completed Sync()
  std::vector<uint64_t> appended;  // per stream: records whose Append() began (upper bound)
  DirState at_sync;                // the files right after the last completed Sync() (or none)
  DirState at_cut;                 // the files at the cut
  std::string error;               // non-empty: the scenario itself failed (writer error)
  std::string Describe() const;
};

// Runs scenario `seed` in `work_dir` (which must be empty; it is left with the writer's files).
Scenario RunScenario(uint64_t seed, const std::string& work_dir);

// The contents of the record `index` of `stream` in scenario `seed`, and its timestamp (which
// names the stream and index, so that any record read back, even of 0 bytes, can be checked).
std::string ExpectedPayload(uint64_t seed, uint32_t stream, uint64_t index, uint64_t section_size);
int64_t ExpectedTimestamp(uint32_t stream, uint64_t index);
std::string StreamName(uint32_t stream);

struct ImageInfo {
  uint64_t index = 0;
  std::string mode;  // how sectors were chosen, for failure messages
};

// Writes power-cut image `index` of `scenario` into `dir` (empty, existing).
ImageInfo BuildImage(const Scenario& scenario, uint64_t index, const std::string& dir);

// What checking one image found.
struct ImageVerdict {
  std::vector<std::string> problems;  // guarantees broken, one line each (empty: all held)
  bool reader_opened = false;
  bool hole = false;                  // some stream lost a record and a later one survived
  bool truncated = false;             // truncate repaired the copy
  bool truncate_refused = false;
  uint64_t records = 0;               // records the reader returned
};

struct CheckOptions {
  bool recover = true;  // also run Recover (the slowest check)
};

// Checks G1, G2 and G3 on the image in `image_dir` with the Reader, Verify, Truncate (on a copy in
// `scratch_dir`, then Verify and the Reader again, then Truncate again) and Recover (into
// `scratch_dir`). `scratch_dir` must exist; it is emptied first.
ImageVerdict CheckImage(const Scenario& scenario, const std::string& image_dir,
                        const std::string& scratch_dir, const CheckOptions& options);

// Per stream, the record indexes a reader returned from the log at `path`, with G1 checked on
// every record (problems are appended, prefixed by `what`). False if the log could not be opened.
bool ReadIndexes(const Scenario& scenario, const std::string& path, const std::string& what,
                 std::vector<std::vector<uint64_t>>* indexes, std::vector<std::string>* problems);

// Files and directories.
// Every file of `dir` with its bytes. A file renamed or created while the copy runs makes it
// start over, so that no file present throughout is ever left out; bytes changing while read
// are what the disk may hold at that instant.
DirState Snapshot(const std::string& dir);
void WriteDir(const DirState& state, const std::string& dir);
void CopyDir(const std::string& from, const std::string& to);
void ResetDir(const std::string& dir);
// A fresh directory under /dev/shm when it exists (much faster), else the system's temp dir.
std::string MakeWorkDir(const std::string& prefix, bool in_memory);

}  // namespace slablog::test::powercut
