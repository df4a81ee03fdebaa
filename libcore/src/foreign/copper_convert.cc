// A Copper log written as a slablog log: every entry the Copper reader returns becomes a record,
// so that every slablog command applies to robot logs.
#include <string>

#include "slablog/copper.h"
#include "slablog/writer.h"

namespace slablog::copper {
namespace {

class Counting : public Reporter {
 public:
  explicit Counting(Reporter* next) : next_(next) {}
  void OnCorruption(const Corruption& c) override {
    ++count;
    if (next_ != nullptr) next_->OnCorruption(c);
  }
  uint64_t count = 0;

 private:
  Reporter* next_;
};

}  // namespace

Result<ConvertResult> ConvertToSlablog(std::string_view path, const std::string& out, const WriterOptions& options,
                                       const CopperType* type, Reporter* reporter) {
  Counting counting(reporter);
  ReadOptions ro;
  ro.copperlist_type = type;
  ro.json = true;
  ro.json_types = 1u << static_cast<unsigned>(EntryType::kLogLine);  // copperlists are kept as bytes
  auto opened = Reader::Open(path, ro, &counting);
  if (!opened) return opened.error();
  Reader& reader = *opened.value();
  WriterOptions wo = options;
  wo.append = false;
  auto writer = Writer::Open(out, wo);
  if (!writer) return writer.error();
  Writer& w = *writer.value();
  StreamHandle handles[3];
  auto handle = [&](EntryType t) -> Result<StreamHandle> {
    const int slot = t == EntryType::kLogLine ? 0 : t == EntryType::kCopperList ? 1 : 2;
    if (!handles[slot].valid()) {
      StreamOptions so;
      so.name = StreamName(t);
      so.encoding = t == EntryType::kLogLine ? Encoding::kJson : Encoding::kBinary;
      so.type = static_cast<uint32_t>(t);
      auto h = w.OpenStream(so);
      if (!h) return h.error();
      handles[slot] = h.value();
    }
    return handles[slot];
  };
  ConvertResult result;
  Item item;
  while (reader.Next(&item)) {
    if (item.kind != ItemKind::kEntry && item.kind != ItemKind::kSectionBytes) continue;
    const Entry& e = item.entry;
    auto h = handle(e.type);
    if (!h) return h.error();
    Status s;
    if (e.trailing_zeros_possible || e.zero_sector_possible) ++result.entries_ending_in_zeros;
    if (item.kind == ItemKind::kEntry && e.type == EntryType::kLogLine) {
      s = w.Append(h.value(), e.json, e.time.value_or(0));
      ++result.log_lines;
    } else {
      s = w.Append(h.value(), e.bytes, e.time.value_or(0));
      if (item.kind == ItemKind::kEntry) {
        ++result.copperlists;
      } else if (e.type == EntryType::kCopperList) {
        ++result.copperlist_sections;
      } else {
        ++result.keyframe_sections;
      }
    }
    if (!s) return s.error();
  }
  if (Status s = w.Close(); !s) return s.error();
  result.problems = counting.count;
  result.source_clean = reader.summary().clean;
  return result;
}

}  // namespace slablog::copper
