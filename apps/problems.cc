#include "problems.h"

#include <fmt/format.h>

#include "output.h"

namespace slablog::cli {

namespace {
constexpr size_t kMaxKept = 10000;
bool g_io_error_met = false;
}  // namespace

bool IoErrorMet() { return g_io_error_met; }

std::string ProblemLog::Format(const Corruption& c) {
  std::string s = fmt::format("{}: offset {}: {}", c.file, c.offset, CorruptionKindName(c.kind));
  if (!c.stream_name.empty()) {
    s += fmt::format(" (stream '{}')", c.stream_name);
  } else if (c.stream != Corruption::kNoStream) {
    s += fmt::format(" (stream {})", c.stream);
  }
  s += ": " + c.detail;
  return s;
}

void ProblemLog::OnCorruption(const Corruption& c) {
  if (once_per_place_ && !seen_.emplace(c.file, c.offset, c.kind).second) return;
  (c.kind == CorruptionKind::kTornTail ? torn_ : damage_)++;
  if (c.kind == CorruptionKind::kIoError) g_io_error_met = true;
  if (kept_.size() < kMaxKept) kept_.push_back(c);
  if (print_) PrintError(command_, Format(c));
}

}  // namespace slablog::cli
