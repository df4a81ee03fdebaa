// A read-only mapping of one log file, owned by a Python object: the exporter behind every
// zero-copy payload memoryview. A memoryview holds a reference to its exporter, so the pages it
// points at stay mapped for as long as any view of them exists, whatever happens to the Reader
// (which unmaps its own mappings as it goes) or to the Log (closed, deleted).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace slablog::python {

// Registers the type (once, at module import). False with a Python error set.
bool InitFileMappingType(PyObject* module);

// Maps `path` read-only, whole (new reference). Null without an error set when it cannot be
// mapped (empty, gone, not mappable): the caller then copies the payload instead.
PyObject* MapFile(const std::string& path);

// Bytes mapped, and where.
size_t MappedSize(PyObject* mapping);
const uint8_t* MappedData(PyObject* mapping);

// A new memoryview of `length` bytes at `offset`, which must lie within the mapping. It keeps
// the mapping alive. Null with a Python error set on failure.
PyObject* MappedView(PyObject* mapping, size_t offset, size_t length);

}  // namespace slablog::python
