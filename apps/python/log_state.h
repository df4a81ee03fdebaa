// What a Log and the record iterators it made share: the log's path, whether it was closed, and
// where the problems met while reading it go.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string>
#include <unordered_set>

namespace slablog::python {

struct RecordIterState;

// Owned by the Log (a shared_ptr also held by each iterator). Touched only with the GIL held.
struct LogState {
  std::string path;
  bool single_file = false;
  bool closed = false;
  PyObject* problems = nullptr;  // a list, owned (Problem objects are appended as they are met)
  // "file\0offset\0kind\0detail" of each problem in `problems`: a second pass over the log
  // meets the same damage, which is listed once.
  std::unordered_set<std::string> problems_seen;
  // Iterators still open: close() ends them, releasing their Reader and its mappings.
  std::unordered_set<RecordIterState*> iterators;

  ~LogState() { Py_XDECREF(problems); }
};

}  // namespace slablog::python
