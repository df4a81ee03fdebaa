#include "file_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slablog::python {
namespace {

struct FileMappingObject {
  PyObject_HEAD
  void* addr;
  size_t size;
  // The range the next buffer request exports (set by MappedView just before it asks). A
  // memoryview takes its pointer once, from bf_getbuffer, so one exporter per file serves views
  // of any of its ranges; both always lie within [addr, addr + size).
  size_t export_offset;
  size_t export_length;
};

void FileMappingDealloc(PyObject* self) {
  auto* m = reinterpret_cast<FileMappingObject*>(self);
  // Reached only once no memoryview refers to the mapping: each one holds a reference.
  if (m->addr != nullptr) munmap(m->addr, m->size);
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

int FileMappingGetBuffer(PyObject* self, Py_buffer* view, int flags) {
  auto* m = reinterpret_cast<FileMappingObject*>(self);
  if ((flags & PyBUF_WRITABLE) != 0) {
    PyErr_SetString(PyExc_BufferError, "slablog payloads are read-only");
    view->obj = nullptr;
    return -1;
  }
  char* base = static_cast<char*>(m->addr);
  const int rc = PyBuffer_FillInfo(view, self, base + m->export_offset,
                                   static_cast<Py_ssize_t>(m->export_length), 1, flags);
  m->export_offset = 0;
  m->export_length = m->size;
  return rc;
}

// The type, made at import (a heap type: its instances hold a reference to it).
PyTypeObject* file_mapping_type = nullptr;

}  // namespace

bool InitFileMappingType(PyObject* module) {
  static PyType_Slot slots[] = {
      {Py_tp_dealloc, reinterpret_cast<void*>(FileMappingDealloc)},
      {Py_bf_getbuffer, reinterpret_cast<void*>(FileMappingGetBuffer)},
      {Py_tp_doc, const_cast<char*>("A read-only mapping of a log file (the owner of payload memoryviews)")},
      {0, nullptr},
  };
  static PyType_Spec spec = {"slablog._native.FileMapping", sizeof(FileMappingObject), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                             slots};
  file_mapping_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&spec));
  if (file_mapping_type == nullptr) return false;
  Py_INCREF(file_mapping_type);
  return PyModule_AddObject(module, "FileMapping", reinterpret_cast<PyObject*>(file_mapping_type)) == 0;
}

PyObject* MapFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* addr = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    addr = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (addr == MAP_FAILED) return nullptr;
  auto* m = PyObject_New(FileMappingObject, file_mapping_type);
  if (m == nullptr) {
    munmap(addr, static_cast<size_t>(st.st_size));
    PyErr_Clear();
    return nullptr;
  }
  m->addr = addr;
  m->size = static_cast<size_t>(st.st_size);
  m->export_offset = 0;
  m->export_length = m->size;
  return reinterpret_cast<PyObject*>(m);
}

size_t MappedSize(PyObject* mapping) { return reinterpret_cast<FileMappingObject*>(mapping)->size; }
const uint8_t* MappedData(PyObject* mapping) {
  return static_cast<const uint8_t*>(reinterpret_cast<FileMappingObject*>(mapping)->addr);
}

PyObject* MappedView(PyObject* mapping, size_t offset, size_t length) {
  auto* m = reinterpret_cast<FileMappingObject*>(mapping);
  if (offset > m->size || length > m->size - offset) {
    PyErr_Format(PyExc_SystemError, "slablog: payload range %zu+%zu outside a %zu-byte mapping", offset, length,
                 m->size);
    return nullptr;
  }
  m->export_offset = offset;
  m->export_length = length;
  return PyMemoryView_FromObject(mapping);
}

}  // namespace slablog::python
