// The objects export prints, as NDJSON or one JSON array, counted against --limit. Shared by the
// exporters of every format.
#pragma once

#include <cstdint>
#include <string>

#include "json_out.h"
#include "output.h"
#include "problems.h"

namespace slablog::cli {

// Writes the objects, NDJSON or one array, and counts them against --limit.
class Emitter {
 public:
  Emitter(StdoutBuffer* out, bool array, uint64_t limit) : out_(out), array_(array), limit_(limit) {}
  // The text of the next object goes into the returned string.
  std::string& Begin() {
    std::string& s = out_->text();
    if (array_) s += count_ == 0 ? "[\n" : ",\n";
    return s;
  }
  // False when no more output is wanted (limit reached, or standard output closed).
  bool End() {
    if (!array_) out_->text().push_back('\n');
    ++count_;
    return out_->MaybeFlush() && (limit_ == 0 || count_ < limit_);
  }
  void Finish() {
    if (array_) out_->text() += count_ == 0 ? "[]\n" : "\n]\n";
    out_->Flush();
  }

 private:
  StdoutBuffer* out_;
  bool array_;
  uint64_t limit_;
  uint64_t count_ = 0;
};

// How an export ends, whatever the format: the output finished, then exit 3 if it could not be
// written, 0 if its reader went away (a closed pipe: it had all it wanted), else 1 when damage
// was met.
inline ExitCode FinishExport(const char* command, Emitter* emit, const StdoutBuffer& out, const ProblemLog& problems) {
  emit->Finish();
  if (out.failed()) {
    Complain(command, "cannot write to standard output");
    return ExitCode::kIo;
  }
  if (out.closed()) return ExitCode::kOk;
  return problems.damage() > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
}

}  // namespace slablog::cli
