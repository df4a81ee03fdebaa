// slablog._native: the compiled half of the `slablog` Python package (slablog/__init__.py is the
// other): a Log over libcore's Reader, its streams, and one iterator per pass over its records.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>

#include "file_mapping.h"
#include "log_state.h"
#include "py_errors.h"
#include "record_iterator.h"
#include "time_input.h"
#include "slablog/reader.h"

namespace py = pybind11;

namespace slablog::python {
namespace {

struct StreamCount {
  const CatalogEntry* entry = nullptr;
  uint64_t records = 0;
};

class NativeLog {
 public:
  // Opens the log once to check it can be read (raising slablog.Error subclasses otherwise) and
  // to learn its files.
  NativeLog(const std::string& path, bool single_file) : state_(std::make_shared<LogState>()) {
    state_->path = path;
    state_->single_file = single_file;
    state_->problems = PyList_New(0);
    if (state_->problems == nullptr) throw py::error_already_set();
    auto reader = Open(nullptr);
    files_ = reader->files();
  }

  // pybind11 gives a Log made by Log.__new__ without __init__ raw memory from this operator
  // new when one of its methods is called: zeroed, its state_ is empty, and State() raises
  // rather than read garbage (that crashed the interpreter).
  static void* operator new(size_t size) {
    void* p = ::operator new(size);
    std::memset(p, 0, size);
    return p;
  }
  static void operator delete(void* p) { ::operator delete(p); }

  const std::string& path() const { return State().path; }
  const std::vector<std::string>& files() const {
    State();
    return files_;
  }
  py::object problems() const { return py::reinterpret_borrow<py::object>(State().problems); }
  bool closed() const { return State().closed; }

  // Every stream with its record count: closed sections are counted from their close blocks
  // without reading them, open ones by reading their records.
  py::list Streams() {
    CheckOpen();
    auto reader = Open(nullptr);
    std::map<uint32_t, uint64_t> counts;
    {
      py::gil_scoped_release unlocked;
      Item item;
      while (reader->Next(&item)) {
        if (item.kind == ItemKind::kSection && item.section->open.stream_id != kCatalogStream) {
          const SectionInfo& s = *item.section;
          counts[s.open.stream_id] += 0;
          if (s.close) {
            counts[s.open.stream_id] += s.close->record_count;
            reader->SkipSection();
          }
        } else if (item.kind == ItemKind::kRecord) {
          ++counts[item.record.stream_id];
        }
      }
    }
    py::list out;
    py::object stream_type = py::reinterpret_borrow<py::object>(StreamType());
    for (const CatalogEntry* e : reader->streams()) {
      auto c = counts.find(e->stream_id);
      out.append(stream_type(py::str(e->name), e->stream_id, EncodingName(e->encoding), e->type,
                             c == counts.end() ? 0 : c->second));
    }
    return out;
  }

  py::object Records(std::vector<std::string> streams, int64_t since, int64_t until, int payload, int problems) {
    CheckOpen();
    RecordIterOptions o;
    o.filter.stream_globs = std::move(streams);
    o.filter.since = since;
    o.filter.until = until;
    o.payload = static_cast<PayloadMode>(payload);
    o.problems = static_cast<ProblemPolicy>(problems);
    PyObject* it = NewRecordIterator(state_, std::move(o));
    if (it == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(it);
  }

  // Ends every pass still under way (their next step raises ValueError). Payload views already
  // handed out stay valid: each keeps the mapping it points into.
  void Close() {
    State().closed = true;
    for (RecordIterState* it : state_->iterators) CloseRecordIterator(it);
    state_->iterators.clear();
  }

 private:
  LogState& State() const {
    if (state_ == nullptr) throw py::type_error("slablog._native.Log was not initialised: use slablog.open()");
    return *state_;
  }
  void CheckOpen() const {
    if (State().closed) throw py::value_error("the log was closed");
  }

  std::unique_ptr<Reader> Open(Reporter* reporter) {
    ReaderOptions ro;
    ro.single_file = state_->single_file;
    auto opened = Reader::Open(state_->path, ro, reporter);
    if (!opened) {
      RaiseLogError(opened.error());
      throw py::error_already_set();
    }
    return std::move(opened.value());
  }

  std::shared_ptr<LogState> state_;
  std::vector<std::string> files_;
};

}  // namespace
}  // namespace slablog::python

PYBIND11_MODULE(_native, m) {
  using slablog::python::NativeLog;
  m.doc() = "slablog's compiled reader; use the slablog package, which wraps it";
  if (!slablog::python::InitFileMappingType(m.ptr()) || !slablog::python::InitRecordIteratorTypes(m.ptr()) ||
      !slablog::python::InitPythonTypes()) {
    throw py::error_already_set();
  }
  py::class_<NativeLog>(m, "Log")
      .def(py::init<const std::string&, bool>(), py::arg("path"), py::arg("single_file") = false)
      // Every method takes the Log by reference: on an object made by Log.__new__ without
      // __init__ (no C++ object behind it) pybind11 then raises, where a member function pointer
      // was called on null and crashed the interpreter.
      .def_property_readonly("path", [](const NativeLog& self) { return self.path(); })
      .def_property_readonly("files", [](const NativeLog& self) { return self.files(); })
      .def_property_readonly("problems", [](const NativeLog& self) { return self.problems(); })
      .def_property_readonly("closed", [](const NativeLog& self) { return self.closed(); })
      .def("streams", [](NativeLog& self) { return self.Streams(); })
      .def("_records", [](NativeLog& self, std::vector<std::string> streams, int64_t since, int64_t until, int payload,
                          int problems) { return self.Records(std::move(streams), since, until, payload, problems); })
      .def("close", [](NativeLog& self) { self.Close(); });
  // slablog.time_ns's strings, read by the very parser --since and write --time-field use.
  m.def("_parse_time_ns", [](const std::string& text) -> py::object {
    int64_t ns = 0;
    if (!slablog::cli::ParseTimeNs(text, &ns)) return py::none();
    return py::int_(ns);
  }, py::arg("text"), "integer nanoseconds or RFC 3339 text as int64 nanoseconds, or None");
}
