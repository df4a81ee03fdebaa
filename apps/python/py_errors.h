// slablog's Python exceptions and problem reports, raised from C++: the classes themselves are
// defined in slablog/_types.py, so that they can inherit from OSError and ValueError as Python
// code expects.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string>
#include <vector>

#include "slablog/reporter.h"
#include "slablog/status.h"

namespace slablog::python {

// Fetches the classes from slablog._types (once, at module import). False with an error set.
bool InitPythonTypes();

// Raises the slablog exception for the error's code (NotFoundError, LogIOError, CorruptLogError,
// UnsupportedError, Error), its message naming the file and offset, with .path and .offset set.
// Returns null, for `return RaiseLogError(...)`.
PyObject* RaiseLogError(const Error& error);

// Raises slablog.DecodeError (a ValueError) for a record whose payload does not decode as its
// stream's encoding says, chained to the decoder's own exception. Returns null.
PyObject* RaiseDecodeError(const std::string& file, uint64_t offset, const std::string& what);

// A new slablog.Problem for a damaged region (new reference), or null with an error set.
PyObject* NewProblem(const Corruption& c);

// json.loads (borrowed).
PyObject* JsonLoads();
// slablog.DamageWarning (borrowed).
PyObject* DamageWarning();
// slablog.Stream (borrowed): the namedtuple that Log.streams() returns.
PyObject* StreamType();

}  // namespace slablog::python
