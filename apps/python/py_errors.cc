#include "py_errors.h"

namespace slablog::python {
namespace {

struct Classes {
  PyObject* error = nullptr;
  PyObject* not_found = nullptr;
  PyObject* io = nullptr;
  PyObject* corrupt = nullptr;
  PyObject* unsupported = nullptr;
  PyObject* decode = nullptr;
  PyObject* damage_warning = nullptr;
  PyObject* problem = nullptr;
  PyObject* stream = nullptr;
  PyObject* json_loads = nullptr;
};
Classes classes;  // references held for the life of the process, as a module's globals are

PyObject* Fetch(PyObject* module, const char* name) { return PyObject_GetAttrString(module, name); }

// `cls(message)` with .path and .offset set; raised. Returns null.
PyObject* RaiseWithPlace(PyObject* cls, const std::string& message, const std::string& file, uint64_t offset) {
  PyObject* exc = PyObject_CallFunction(cls, "s", message.c_str());
  if (exc == nullptr) return nullptr;
  PyObject* path = file.empty() ? Py_NewRef(Py_None) : PyUnicode_DecodeFSDefault(file.c_str());
  PyObject* off = PyLong_FromUnsignedLongLong(offset);
  if (path == nullptr || off == nullptr || PyObject_SetAttrString(exc, "path", path) < 0 ||
      PyObject_SetAttrString(exc, "offset", off) < 0) {
    Py_XDECREF(path);
    Py_XDECREF(off);
    Py_DECREF(exc);
    return nullptr;
  }
  Py_DECREF(path);
  Py_DECREF(off);
  PyErr_SetObject(cls, exc);
  Py_DECREF(exc);
  return nullptr;
}

}  // namespace

bool InitPythonTypes() {
  PyObject* types = PyImport_ImportModule("slablog._types");
  if (types == nullptr) return false;
  classes.error = Fetch(types, "Error");
  classes.not_found = Fetch(types, "NotFoundError");
  classes.io = Fetch(types, "LogIOError");
  classes.corrupt = Fetch(types, "CorruptLogError");
  classes.unsupported = Fetch(types, "UnsupportedError");
  classes.decode = Fetch(types, "DecodeError");
  classes.damage_warning = Fetch(types, "DamageWarning");
  classes.problem = Fetch(types, "Problem");
  classes.stream = Fetch(types, "Stream");
  Py_DECREF(types);
  PyObject* json = PyImport_ImportModule("json");
  if (json == nullptr) return false;
  classes.json_loads = Fetch(json, "loads");
  Py_DECREF(json);
  return !PyErr_Occurred();
}

PyObject* RaiseLogError(const Error& error) {
  PyObject* cls = classes.error;
  switch (error.code) {
    case Errc::kNotFound: cls = classes.not_found; break;
    case Errc::kIo: cls = classes.io; break;
    case Errc::kCorruption: cls = classes.corrupt; break;
    case Errc::kUnsupported: cls = classes.unsupported; break;
    case Errc::kInvalidArgument:
    case Errc::kFull: break;
  }
  return RaiseWithPlace(cls, Describe(error), error.file, error.offset);
}

// The exception being raised, normalised and taken (new reference), traceback attached.
PyObject* TakeException() {
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  if (value != nullptr && traceback != nullptr) PyException_SetTraceback(value, traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return value;
}

PyObject* RaiseDecodeError(const std::string& file, uint64_t offset, const std::string& what) {
  PyObject* cause = TakeException();
  RaiseWithPlace(classes.decode, file + ": offset " + std::to_string(offset) + ": " + what, file, offset);
  if (cause != nullptr) {
    PyObject* exc = TakeException();
    if (exc == nullptr) {
      Py_DECREF(cause);
      return nullptr;
    }
    PyException_SetCause(exc, cause);  // steals `cause`
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
    Py_DECREF(exc);
  }
  return nullptr;
}

PyObject* NewProblem(const Corruption& c) {
  PyObject* stream = Py_NewRef(Py_None);
  if (c.stream != Corruption::kNoStream) {
    Py_DECREF(stream);
    stream = c.stream_name.empty()
                 ? PyUnicode_FromFormat("#%u", c.stream)
                 : PyUnicode_DecodeUTF8(c.stream_name.data(), static_cast<Py_ssize_t>(c.stream_name.size()), "replace");
    if (stream == nullptr) return nullptr;
  }
  PyObject* file = PyUnicode_DecodeFSDefault(c.file.c_str());
  if (file == nullptr) {
    Py_DECREF(stream);
    return nullptr;
  }
  PyObject* detail = PyUnicode_DecodeUTF8(c.detail.data(), static_cast<Py_ssize_t>(c.detail.size()), "replace");
  if (detail == nullptr) {
    Py_DECREF(stream);
    Py_DECREF(file);
    return nullptr;
  }
  return PyObject_CallFunction(classes.problem, "NIKKNsN", file, c.slab, static_cast<unsigned long long>(c.offset),
                               static_cast<unsigned long long>(c.bytes_dropped), stream,
                               CorruptionKindName(c.kind), detail);
}

PyObject* JsonLoads() { return classes.json_loads; }
PyObject* DamageWarning() { return classes.damage_warning; }
PyObject* StreamType() { return classes.stream; }

}  // namespace slablog::python
