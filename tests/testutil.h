// Helpers shared by the tests: temporary directories, reading a whole log back, collecting
// corruption reports, mutating files byte by byte, and seeded random payloads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "slablog/reader.h"
#include "slablog/writer.h"

namespace slablog::test {

// A fresh directory, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

class CollectingReporter : public Reporter {
 public:
  void OnCorruption(const Corruption& c) override { events.push_back(c); }
  bool Has(CorruptionKind kind) const;
  uint64_t DroppedBytes() const;
  std::string Describe() const;  // one line per event, for failure messages
  std::vector<Corruption> events;
};

struct ReadRecord {
  std::string stream;
  int64_t timestamp = 0;
  std::string payload;
  bool operator==(const ReadRecord&) const = default;
};

struct ReadResult {
  bool opened = false;
  std::string open_error;
  std::vector<ReadRecord> records;
  LogSummary summary;
  CollectingReporter reporter;
  std::vector<ReadRecord> OfStream(const std::string& name) const;
};

ReadResult ReadAll(const std::string& path, ReaderOptions options = {});

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
void FlipBit(const std::string& path, uint64_t offset, int bit);
void SetByte(const std::string& path, uint64_t offset, uint8_t value);
void ShrinkSize(const std::string& path, uint64_t size);
// Sets bytes [from, to) of the file to zero (a stretch of sectors that never reached the disk).
void ZeroBytes(const std::string& path, uint64_t from, uint64_t to);
uint8_t GetByte(const std::string& path, uint64_t offset);
// Recomputes the CRC of the frame at `offset` (inside the section at `section_offset` of a log
// with `id`), so that the next check in line fires instead of the CRC check.
void FixChecksum(const std::string& path, const LogId& id, uint64_t section_offset,
                 uint64_t frame_offset);

// Sizes skewed towards small values but reaching `max_log2` bits (LevelDB's RandomSkewedString).
std::string RandomSkewedString(std::mt19937_64& rng, int max_log2);
// A seed from SLABLOG_TEST_SEED, or a fixed default; a failed test prints it.
uint64_t TestSeed();

// SLABLOG_LONG=1 (`scripts/test --long`): sweeps try every position instead of a sample.
bool LongMode();
// How many times their CI size the sampled crash-state tests run (killed writers, sampled sweeps,
// power-cut images): SLABLOG_TEST_SCALE, 1 unless set (scripts/test --scale N).
uint64_t TestScale();
// The positions in [0, n) a sweep tries, ascending: all of them in long mode; otherwise `sample`
// of them drawn with `seed`, the first and the last always among them.
std::vector<size_t> SweepPositions(size_t n, size_t sample, uint64_t seed);

// Calls `ready` every `poll` until it returns true (then true) or `timeout` has passed (then
// false). Tests that race a process wait for what they need this way, not for a fixed time: a
// loaded machine under a sanitizer can be a hundred times slower than an idle one.
constexpr std::chrono::seconds kPatience{60};
bool WaitUntil(const std::function<bool()>& ready, std::chrono::milliseconds timeout = kPatience,
               std::chrono::microseconds poll = std::chrono::milliseconds(2));

// Writes `records` (stream name, payload) with timestamps 0, 1, 2, ... and closes the log.
void WriteLog(const std::string& base, const WriterOptions& options,
              const std::vector<std::pair<std::string, std::string>>& records);

// As WriteLog, but returns a copy of the log under `crash_dir` taken before Close(): what a kill
// of the writer after its last Append leaves (open sections, no end marker, full-size slabs).
std::string WriteCrashedLog(const std::string& base, const std::string& crash_dir, const WriterOptions& options,
                            const std::vector<std::pair<std::string, std::string>>& records);

WriterOptions SmallOptions();

// Writes a closed log of many small slabs (SmallOptions) whose every byte is busy, random payloads,
// for writers to take over (WriterOptions::recycle): a stale frame or header left in a reused file
// would be seen. Returns how many slab files it has.
size_t WriteRetiredLog(const std::string& base, uint64_t seed);

// Where the frames of a log are, as the reader sees them (frames whose CRC fails included).
struct FrameLoc {
  std::string file;
  uint64_t section_offset = 0;
  uint64_t offset = 0;
  uint32_t stream_id = 0;
  std::string stream;
  uint64_t section_seq = 0;
  bool section_closed = false;
  FragmentKind kind = FragmentKind::kNone;
  uint32_t length = 0;
};
std::vector<FrameLoc> Frames(const std::string& path);
// The first data frame (not the catalog) of `stream` with `kind`, or fails the test.
FrameLoc FindFrame(const std::string& path, const std::string& stream, FragmentKind kind, int nth = 0);
LogId LogIdOf(const std::string& path);

// Copies every slab file of `base` to the same names under `dir` (a snapshot of a log that a
// writer still has open is what a crash at that instant leaves on disk).
std::string SnapshotLog(const std::string& base, const std::string& dir);  // 64 KiB slabs, 8 KiB sections: many slabs from little data

}  // namespace slablog::test
