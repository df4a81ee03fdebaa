// The iterator behind Log.records(): one Reader pass, yielding Record(stream, t, index, payload)
// tuples. Written against the CPython API rather than pybind11: at millions of records a second,
// pybind11's per-call dispatch would cost more than the reading.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "log_state.h"

namespace slablog::python {

struct RecordFilter {
  std::vector<std::string> stream_globs;  // fnmatch(3) patterns; empty: every stream
  int64_t since = std::numeric_limits<int64_t>::min();
  int64_t until = std::numeric_limits<int64_t>::max();
};

enum class PayloadMode : uint8_t {
  kView,    // a read-only memoryview, zero-copy where the record lies whole in the file
  kBytes,   // a bytes copy
  kDecode,  // json: the decoded value; text: str; binary: bytes
};

// How a problem in the log is handled, besides being appended to Log.problems.
enum class ProblemPolicy : uint8_t {
  kWarn,   // one DamageWarning per pass, at its first problem
  kRaise,  // CorruptLogError at the first problem
  kQuiet,  // only the list
};

struct RecordIterOptions {
  RecordFilter filter;
  PayloadMode payload = PayloadMode::kView;
  ProblemPolicy problems = ProblemPolicy::kWarn;
};

// Registers the Record and RecordIterator types (once, at module import). False with a Python
// error set.
bool InitRecordIteratorTypes(PyObject* module);

// A new iterator (new reference), or null with a Python exception raised (the log cannot be
// opened: slablog.Error and its subclasses, naming the file and offset).
PyObject* NewRecordIterator(const std::shared_ptr<LogState>& log, RecordIterOptions options);

// Ends an iterator early (Log.close()): it drops its Reader and raises on the next call.
void CloseRecordIterator(RecordIterState* state);

}  // namespace slablog::python
