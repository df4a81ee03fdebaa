// Corruption events. The reader classifies every byte it cannot return as a record and tells a
// Reporter; it never prints and never decides what a problem means (the caller's policy does).
#pragma once

#include <cstdint>
#include <string>

namespace slablog {

enum class CorruptionKind : uint8_t {
  kChecksum,            // a frame whose CRC does not match
  kBadLength,           // a frame whose length runs past its section
  kBadType,             // a frame whose kind byte is not a known fragment kind
  kOrphanFragment,      // a MIDDLE or LAST fragment with no FIRST before it
  kUnfinishedFragment,  // a FIRST (and MIDDLEs) whose LAST never came
  kTornTail,            // a partly written frame at the end of an open section (a crash)
  kBadSection,          // a section header that is damaged, missing, or out of sequence
  kBadFileHeader,       // a slab header that is damaged, foreign, missing or duplicated
  // Records lost before later records of the same stream that survived (a power cut that kept
  // some sectors and not others): a hole in a stream, never a torn tail.
  kMissingData,
  kIoError,             // bytes that could not be read: the file shrank under the reader, or the
                        // disk failed (they read as zeros; other events may follow from that)
  // An entry of a format without checksums (Copper) that does not decode as its type says, in
  // the middle of a section: the rest of that section is lost.
  kBadEntry,
};

const char* CorruptionKindName(CorruptionKind kind);

struct Corruption {
  std::string file;         // the file the bytes are in
  uint32_t slab = 0;        // slab index (as far as known)
  uint64_t offset = 0;      // byte offset in `file` where the problem starts
  uint64_t bytes_dropped = 0;
  uint32_t stream = 0;      // stream id, or kNoStream when the problem is not in one stream
  std::string stream_name;  // from the catalog, when known
  CorruptionKind kind = CorruptionKind::kChecksum;
  std::string detail;       // lowercase, with the numbers involved
  static constexpr uint32_t kNoStream = 0xFFFFFFFF;
};

// Receives corruption events. Must outlive the reader that reports to it. Called from the thread
// that drives the reader.
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void OnCorruption(const Corruption& c) = 0;
};

}  // namespace slablog
