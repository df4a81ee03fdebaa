// What every fuzz target does with its input: lay it down as the files of a log in a private
// temporary directory (on /dev/shm when there is one, so an execution costs no disk I/O), and
// remove them again. The input is
//
//   byte 0       flags: bit 0 two slab files, bit 1 fix the header CRCs, bit 2 one thread against two
//   bytes 1..3   with two files, where the first one ends (little-endian, modulo the size)
//   bytes 4..    the log's bytes
//
// Fixing CRCs (slab headers, section headers, frames) lets mutations of sizes, counts and indices
// reach the code behind the CRC checks, which random bytes almost never get past.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace slablog::fuzz {

inline constexpr size_t kPrefixSize = 4;
inline constexpr uint8_t kTwoFiles = 1;
inline constexpr uint8_t kFixCrcs = 2;
inline constexpr uint8_t kTwoThreads = 4;

class FuzzLog {
 public:
  // Writes the log of `data` (nothing is written when the input is too short to say how).
  FuzzLog(const uint8_t* data, size_t size);
  // Removes every file the execution made in the directory.
  ~FuzzLog();
  FuzzLog(const FuzzLog&) = delete;
  FuzzLog& operator=(const FuzzLog&) = delete;

  bool ok() const { return ok_; }
  // The name to open the log by: the single file, or the base name of the two slab files.
  const std::string& path() const { return path_; }
  const std::vector<std::string>& files() const { return files_; }
  // A name in the same directory for an output log (removed with the rest).
  std::string OutputBase() const;
  unsigned threads() const { return threads_; }

 private:
  bool ok_ = false;
  unsigned threads_ = 1;
  std::string path_;
  std::vector<std::string> files_;
};

// Recomputes in place the CRC of every slab header, section header and frame that `log` holds
// where a reader would look for one.
void FixCrcs(std::string& log);

// The private directory of this process (made on first use, removed at exit and when a sanitizer
// ends the process; one a crashed process left is removed by the next one).
const std::string& FuzzDir();
// Removes that directory (before abort(), which skips the exit handlers).
void RemoveFuzzDir();

// The bytes of a file ("" when missing), for before/after comparisons.
std::string ReadWhole(const std::string& path);

}  // namespace slablog::fuzz
