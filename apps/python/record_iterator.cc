#include "record_iterator.h"

#include <fnmatch.h>

#include <cstring>
#include <unordered_map>

#include "file_mapping.h"
#include "py_errors.h"
#include "slablog/reader.h"

namespace slablog::python {

namespace {

// Problems the Reader met since the iterator last looked; turned into Python objects between
// records, where raising is allowed.
class ProblemCollector : public Reporter {
 public:
  void OnCorruption(const Corruption& c) override { pending.push_back(c); }
  std::vector<Corruption> pending;
};

struct StreamSlot {
  bool wanted = true;
  bool name_known = false;
  Encoding encoding = Encoding::kBinary;
  PyObject* name = nullptr;  // owned
};

struct FileSlot {
  std::string file;
  PyObject* mapping = nullptr;  // owned; null: the file could not be mapped, payloads are copied
};

PyTypeObject* record_type = nullptr;
PyTypeObject* iterator_type = nullptr;

PyStructSequence_Field record_fields[] = {
    {"stream", "the stream's name"},
    {"t", "the record's timestamp, nanoseconds since the Unix epoch"},
    {"index", "the record's number in its stream, counting from 0"},
    {"payload", "memoryview (default), bytes, or the decoded value (decode=True)"},
    {nullptr, nullptr},
};
PyStructSequence_Desc record_desc = {"slablog.Record", "One record of a log", record_fields, 4};

// Items between checks for Ctrl-C while a filter passes over records without returning.
constexpr unsigned kSignalCheckInterval = 4096;

}  // namespace

struct RecordIterState {
  std::shared_ptr<LogState> log;
  RecordIterOptions options;
  ProblemCollector reporter;
  std::unique_ptr<Reader> reader;  // declared after the reporter it reports to: destroyed first
  bool closed_by_log = false;
  // In IterNext. Python code can run there (a warning's handler, a signal handler, a finalizer
  // that a collection runs during an allocation): it must neither step this iterator again nor
  // have the Reader released under the record being built, whose payload points into it.
  bool busy = false;
  bool warned = false;
  std::unordered_map<uint32_t, StreamSlot> streams;
  uint32_t last_stream_id = 0;
  StreamSlot* last_stream = nullptr;
  std::vector<std::unique_ptr<FileSlot>> files;
  const SlabInfo* last_slab = nullptr;
  uint32_t last_slab_index = 0;
  FileSlot* last_file = nullptr;

  ~RecordIterState() {
    for (auto& [id, s] : streams) Py_XDECREF(s.name);
    for (auto& f : files) Py_XDECREF(f->mapping);
  }

  // Ends the pass: the Reader and its own mappings go (views handed out keep theirs).
  void Finish() {
    reader.reset();
    log->iterators.erase(this);
  }
};

namespace {

struct RecordIterObject {
  PyObject_HEAD
  RecordIterState* state;
};

bool Wanted(const RecordFilter& f, const std::string& name) {
  if (f.stream_globs.empty()) return true;
  for (const std::string& g : f.stream_globs) {
    if (fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

PyObject* DecodeName(std::string_view name) {
  return PyUnicode_DecodeUTF8(name.data(), static_cast<Py_ssize_t>(name.size()), "replace");
}

// The stream's slot, made on first sight; its name is filled in once the catalog knows it.
StreamSlot* SlotFor(RecordIterState* st, uint32_t id) {
  if (st->last_stream != nullptr && st->last_stream_id == id && st->last_stream->name_known) return st->last_stream;
  StreamSlot& s = st->streams[id];
  if (!s.name_known) {
    const CatalogEntry* e = st->reader->stream(id);
    PyObject* name = e != nullptr ? DecodeName(e->name) : PyUnicode_FromFormat("#%u", id);
    if (name == nullptr) return nullptr;
    Py_XSETREF(s.name, name);
    s.name_known = e != nullptr;
    s.wanted = Wanted(st->options.filter, e != nullptr ? e->name : "#" + std::to_string(id));
    if (e != nullptr) s.encoding = e->encoding;
  }
  st->last_stream_id = id;
  st->last_stream = &s;
  return &s;
}

// Hands the Reader's pending problems to Python: Log.problems, then the policy. False with an
// exception set (CorruptLogError under kRaise, or a warning turned into an error).
bool FlushProblems(RecordIterState* st) {
  std::vector<Corruption> pending;
  pending.swap(st->reporter.pending);
  for (const Corruption& c : pending) {
    std::string key = c.file + '\0' + std::to_string(c.offset) + '\0' + CorruptionKindName(c.kind) + '\0' + c.detail;
    if (st->log->problems_seen.insert(std::move(key)).second) {
      PyObject* problem = NewProblem(c);
      if (problem == nullptr) return false;
      const int rc = PyList_Append(st->log->problems, problem);
      Py_DECREF(problem);
      if (rc < 0) return false;
    }
    const std::string where = c.file + ": offset " + std::to_string(c.offset) + ": " + CorruptionKindName(c.kind) +
                              ": " + c.detail;
    if (st->options.problems == ProblemPolicy::kRaise) {
      RaiseLogError(Error{Errc::kCorruption, c.file, c.offset, std::string(CorruptionKindName(c.kind)) + ": " + c.detail});
      return false;
    }
    if (st->options.problems == ProblemPolicy::kWarn && !st->warned) {
      st->warned = true;
      const std::string text = where + " (damaged bytes are skipped; Log.problems lists every problem)";
      if (PyErr_WarnEx(DamageWarning(), text.c_str(), 1) < 0) return false;
    }
  }
  return true;
}

// The mapping of the file a slab is in, made on first use (null: copy instead).
FileSlot* FileFor(RecordIterState* st, const SlabInfo* slab) {
  if (slab == st->last_slab && slab->header.slab_index == st->last_slab_index) return st->last_file;
  FileSlot* found = nullptr;
  for (auto& f : st->files) {
    if (f->file == slab->file) found = f.get();
  }
  if (found == nullptr) {
    st->files.push_back(std::make_unique<FileSlot>(FileSlot{slab->file, MapFile(slab->file)}));
    found = st->files.back().get();
  }
  st->last_slab = slab;
  st->last_slab_index = slab->header.slab_index;
  st->last_file = found;
  return found;
}

PyObject* CopiedView(std::span<const uint8_t> payload) {
  PyObject* bytes =
      PyBytes_FromStringAndSize(reinterpret_cast<const char*>(payload.data()), static_cast<Py_ssize_t>(payload.size()));
  if (bytes == nullptr) return nullptr;
  PyObject* view = PyMemoryView_FromObject(bytes);
  Py_DECREF(bytes);
  return view;
}

// A record that lies whole in the file (one frame, in a section not compressed) is viewed where
// it is, in this module's own mapping of the file; any other is copied first.
PyObject* PayloadView(RecordIterState* st, const Item& item) {
  const RecordView& r = item.record;
  const SlabInfo* slab = r.slab != nullptr ? r.slab : item.slab;
  if (r.fragments != 1 || item.section == nullptr || item.section->open.compressed() || slab == nullptr) {
    return CopiedView(r.payload);
  }
  FileSlot* f = FileFor(st, slab);
  const uint64_t start = r.offset + kFrameHeaderSize;
  const size_t length = r.payload.size();
  if (f->mapping != nullptr && start + length > MappedSize(f->mapping)) {
    // The file grew since it was mapped (a live log): map it again. Views of the old mapping
    // keep it.
    Py_CLEAR(f->mapping);
    f->mapping = MapFile(f->file);
  }
  if (f->mapping == nullptr || start + length > MappedSize(f->mapping)) return CopiedView(r.payload);
  // The mapping is made by name, possibly after the Reader opened the file: if the name now
  // points at another file (replaced by a rename), its bytes there were never checked. Only the
  // bytes the Reader checked are handed out.
  if (length > 0 && std::memcmp(MappedData(f->mapping) + start, r.payload.data(), length) != 0) {
    return CopiedView(r.payload);
  }
  return MappedView(f->mapping, static_cast<size_t>(start), length);
}

PyObject* DecodedPayload(RecordIterState* st, const Item& item, const StreamSlot& s) {
  const RecordView& r = item.record;
  const char* data = reinterpret_cast<const char*>(r.payload.data());
  const auto size = static_cast<Py_ssize_t>(r.payload.size());
  if (s.encoding == Encoding::kBinary) return PyBytes_FromStringAndSize(data, size);
  if (s.encoding == Encoding::kText) return PyUnicode_DecodeUTF8(data, size, "replace");
  if (size == 0) Py_RETURN_NONE;  // an empty json record is null, as export prints it
  PyObject* text = PyUnicode_DecodeUTF8(data, size, "strict");
  if (text != nullptr) {
    PyObject* value = PyObject_CallOneArg(JsonLoads(), text);
    Py_DECREF(text);
    if (value != nullptr) return value;
  }
  const std::string file = item.slab != nullptr ? item.slab->file : st->log->path;
  return RaiseDecodeError(file, r.offset,
                          "record " + std::to_string(r.index) + " of json stream '" + PyUnicode_AsUTF8(s.name) +
                              "' is not valid JSON");
}

PyObject* NewRecord(RecordIterState* st, const Item& item, StreamSlot* s) {
  const RecordView& r = item.record;
  PyObject* payload = nullptr;
  switch (st->options.payload) {
    case PayloadMode::kView: payload = PayloadView(st, item); break;
    case PayloadMode::kBytes:
      payload = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(r.payload.data()),
                                          static_cast<Py_ssize_t>(r.payload.size()));
      break;
    case PayloadMode::kDecode: payload = DecodedPayload(st, item, *s); break;
  }
  if (payload == nullptr) return nullptr;
  PyObject* t = PyLong_FromLongLong(r.timestamp);
  PyObject* index = PyLong_FromUnsignedLongLong(r.index);
  PyObject* rec = PyStructSequence_New(record_type);
  if (t == nullptr || index == nullptr || rec == nullptr) {
    Py_XDECREF(t);
    Py_XDECREF(index);
    Py_XDECREF(rec);
    Py_DECREF(payload);
    return nullptr;
  }
  PyStructSequence_SET_ITEM(rec, 0, Py_NewRef(s->name));
  PyStructSequence_SET_ITEM(rec, 1, t);
  PyStructSequence_SET_ITEM(rec, 2, index);
  PyStructSequence_SET_ITEM(rec, 3, payload);
  return rec;
}

// A section of a stream not asked for, or closed and wholly outside the time window, is skipped
// unread (as `slablog export` does).
void OnSection(RecordIterState* st, const SectionInfo& s) {
  if (s.open.stream_id == kCatalogStream) return;
  StreamSlot* slot = SlotFor(st, s.open.stream_id);
  const RecordFilter& f = st->options.filter;
  const bool out_of_range = s.close && s.close->frame_count > 0 && (s.close->last_t < f.since || s.close->first_t > f.until);
  if ((slot != nullptr && !slot->wanted) || out_of_range) st->reader->SkipSection();
}

PyObject* NextRecord(RecordIterState* st) {
  Item item;
  unsigned since_check = 0;
  while (!st->closed_by_log && st->reader->Next(&item)) {
    if (!st->reporter.pending.empty() && !FlushProblems(st)) {
      st->Finish();
      return nullptr;
    }
    if (++since_check == kSignalCheckInterval) {
      since_check = 0;
      if (PyErr_CheckSignals() < 0) return nullptr;
    }
    if (item.kind == ItemKind::kSection) {
      OnSection(st, *item.section);
      continue;
    }
    if (item.kind != ItemKind::kRecord) continue;
    const RecordView& r = item.record;
    if (r.timestamp < st->options.filter.since || r.timestamp > st->options.filter.until) continue;
    StreamSlot* s = SlotFor(st, r.stream_id);
    if (s == nullptr) return nullptr;
    if (!s->wanted) continue;
    return NewRecord(st, item, s);
  }
  if (st->closed_by_log) {
    PyErr_SetString(PyExc_ValueError, "the log was closed");
    return nullptr;
  }
  FlushProblems(st);  // raising instead of StopIteration when the policy says so
  st->Finish();
  return nullptr;
}

PyObject* IterNext(PyObject* self) {
  RecordIterState* st = reinterpret_cast<RecordIterObject*>(self)->state;
  if (st->busy) {
    PyErr_SetString(PyExc_ValueError, "a slablog records iterator was stepped from within its own step");
    return nullptr;
  }
  if (st->reader == nullptr) {
    if (st->closed_by_log) PyErr_SetString(PyExc_ValueError, "the log was closed");
    return nullptr;
  }
  st->busy = true;
  PyObject* rec = NextRecord(st);
  st->busy = false;
  // Log.close() called while the step ran (see `busy`) released nothing: release now.
  if (st->closed_by_log) st->reader.reset();
  return rec;
}

void IterDealloc(PyObject* self) {
  auto* it = reinterpret_cast<RecordIterObject*>(self);
  if (it->state != nullptr) {
    it->state->log->iterators.erase(it->state);
    delete it->state;
  }
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

}  // namespace

bool InitRecordIteratorTypes(PyObject* module) {
  record_type = PyStructSequence_NewType(&record_desc);
  if (record_type == nullptr) return false;
  Py_INCREF(record_type);
  if (PyModule_AddObject(module, "Record", reinterpret_cast<PyObject*>(record_type)) < 0) return false;
  static PyType_Slot slots[] = {
      {Py_tp_dealloc, reinterpret_cast<void*>(IterDealloc)},
      {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
      {Py_tp_iternext, reinterpret_cast<void*>(IterNext)},
      {Py_tp_doc, const_cast<char*>("One pass over a log's records (Log.records())")},
      {0, nullptr},
  };
  static PyType_Spec spec = {"slablog._native.RecordIterator", sizeof(RecordIterObject), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                             slots};
  iterator_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&spec));
  if (iterator_type == nullptr) return false;
  Py_INCREF(iterator_type);
  return PyModule_AddObject(module, "RecordIterator", reinterpret_cast<PyObject*>(iterator_type)) == 0;
}

PyObject* NewRecordIterator(const std::shared_ptr<LogState>& log, RecordIterOptions options) {
  if (log->closed) {
    PyErr_SetString(PyExc_ValueError, "the log was closed");
    return nullptr;
  }
  auto st = std::make_unique<RecordIterState>();
  st->log = log;
  ReaderOptions ro;
  ro.single_file = log->single_file;
  // Sections decoded ahead only when every one is read: those a filter skips are never decoded.
  ro.decode_ahead = options.filter.stream_globs.empty() &&
                    options.filter.since == std::numeric_limits<int64_t>::min() &&
                    options.filter.until == std::numeric_limits<int64_t>::max();
  st->options = std::move(options);
  auto opened = Reader::Open(log->path, ro, &st->reporter);
  if (!opened) return RaiseLogError(opened.error());
  st->reader = std::move(opened.value());
  auto* it = PyObject_New(RecordIterObject, iterator_type);
  if (it == nullptr) return nullptr;
  it->state = st.release();
  log->iterators.insert(it->state);
  return reinterpret_cast<PyObject*>(it);
}

void CloseRecordIterator(RecordIterState* state) {
  state->closed_by_log = true;
  if (!state->busy) state->reader.reset();  // else once the step under way has returned
}

}  // namespace slablog::python
