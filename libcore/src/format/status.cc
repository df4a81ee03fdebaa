#include "slablog/status.h"

#include "slablog/reporter.h"

namespace slablog {

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kIo: return "io";
    case Errc::kCorruption: return "corruption";
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kNotFound: return "not found";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kFull: return "full";
  }
  return "unknown";
}

std::string Describe(const Error& error) {
  std::string out;
  if (!error.file.empty()) out += error.file + ": ";
  if (error.offset != 0) out += "offset " + std::to_string(error.offset) + ": ";
  out += error.message;
  return out;
}

const char* CorruptionKindName(CorruptionKind kind) {
  switch (kind) {
    case CorruptionKind::kChecksum: return "checksum";
    case CorruptionKind::kBadLength: return "bad-length";
    case CorruptionKind::kBadType: return "bad-type";
    case CorruptionKind::kOrphanFragment: return "orphan-fragment";
    case CorruptionKind::kUnfinishedFragment: return "unfinished-fragment";
    case CorruptionKind::kTornTail: return "torn-tail";
    case CorruptionKind::kBadSection: return "bad-section";
    case CorruptionKind::kBadFileHeader: return "bad-file-header";
    case CorruptionKind::kMissingData: return "missing-data";
    case CorruptionKind::kBadEntry: return "bad-entry";
    case CorruptionKind::kIoError: return "io-error";
  }
  return "unknown";
}

}  // namespace slablog
