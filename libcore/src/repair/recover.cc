// Recover: read everything that can be read, write it to a new log, and account for what could
// not be.
#include <map>

#include "damage_tally.h"

#include "slablog/reader.h"
#include "slablog/recovery.h"
#include "slablog/writer.h"

namespace slablog {
namespace {

class LossTally : public Reporter {
 public:
  explicit LossTally(Reporter* next) : next_(next) {}
  void OnCorruption(const Corruption& c) override {
    ++total;
    RecoverStream& s = streams[c.stream];
    s.bytes_dropped += c.bytes_dropped;
    ++s.problems;
    if (s.offsets.size() < 100) s.offsets.push_back(c.offset);
    if (next_ != nullptr) next_->OnCorruption(c);
  }
  std::map<uint32_t, RecoverStream> streams;
  uint64_t total = 0;

 private:
  Reporter* next_;
};

}  // namespace

Result<RecoverResult> Recover(std::string_view path, const std::string& out, const WriterOptions& options,
                              Reporter* reporter, const std::function<void(uint64_t, uint64_t)>& progress) {
  LossTally tally(reporter);
  auto opened = Reader::Open(path, ReaderOptions{}, &tally);
  if (!opened) return opened.error();
  Reader& reader = *opened.value();
  // Where each file starts in the log as a whole, for progress.
  std::map<std::string, uint64_t> file_start;
  uint64_t log_bytes = 0;
  for (const std::string& f : reader.files()) {
    file_start[f] = log_bytes;
    log_bytes += FileSize(f);
  }
  WriterOptions wo = options;
  wo.append = false;
  auto writer = Writer::Open(out, wo);
  if (!writer) return writer.error();
  std::map<uint32_t, StreamHandle> handles;
  std::map<uint32_t, uint64_t> expected;  // records closed sections say they hold
  Item item;
  while (reader.Next(&item)) {
    if (progress && item.kind == ItemKind::kSection) progress(file_start[item.section->slab->file] + item.section->offset, log_bytes);
    if (item.kind == ItemKind::kSection && item.section->close) {
      expected[item.section->open.stream_id] += item.section->close->record_count;
      continue;
    }
    if (item.kind != ItemKind::kRecord) continue;
    const RecordView& r = item.record;
    auto it = handles.find(r.stream_id);
    if (it == handles.end()) {
      const CatalogEntry* e = reader.stream(r.stream_id);
      StreamOptions so;
      so.name = e != nullptr ? e->name : "stream-" + std::to_string(r.stream_id);
      so.encoding = e != nullptr ? e->encoding : Encoding::kBinary;
      so.type = e != nullptr ? e->type : 0;
      auto h = writer.value()->OpenStream(so);
      if (!h) return h.error();
      it = handles.emplace(r.stream_id, h.value()).first;
    }
    if (Status s = writer.value()->Append(it->second, r.payload, r.timestamp); !s) return s.error();
    RecoverStream& st = tally.streams[r.stream_id];
    ++st.records;
    st.bytes += r.payload.size();
  }
  if (Status s = writer.value()->Close(); !s) return s.error();
  RecoverResult result;
  result.problems = tally.total;
  for (auto& [id, st] : tally.streams) {
    if (id == Corruption::kNoStream || id == kCatalogStream) {
      if (st.problems == 0) continue;
    }
    st.id = id;
    const CatalogEntry* e = reader.stream(id);
    st.name = id == Corruption::kNoStream ? "(no stream)" : id == kCatalogStream ? "catalog"
              : e != nullptr ? e->name : "stream-" + std::to_string(id);
    const uint64_t want = expected[id];
    // Records of closed sections that did not come back (records of open sections are not counted
    // anywhere, so this is a lower bound).
    st.records_lost = want > st.records ? want - st.records : 0;
    result.records += st.records;
    result.streams.push_back(st);
  }
  return result;
}

}  // namespace slablog
