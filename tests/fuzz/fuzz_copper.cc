// libFuzzer target: the Copper reader on a log (one file, or two slab files), with copperlists
// split by a simple and by a nested type, entries rendered as JSON, and the slablog conversion;
// the JSON of every entry must parse back (checked for brackets and quotes balancing).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_input.h"
#include "slablog/copper.h"

namespace {

class NullReporter : public slablog::Reporter {
 public:
  void OnCorruption(const slablog::Corruption& c) override { offsets += c.offset; }
  uint64_t offsets = 0;
};

// Brackets and braces outside strings balance, and strings close: enough to catch a renderer
// that stops half-way.
bool Balanced(std::string_view json) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') ++depth;
    else if (c == ']' || c == '}') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0 && !in_string;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto simple = slablog::copper::CopperType::Parse("(u32,u32,u32)").value();
  static const auto nested =
      slablog::copper::CopperType::Parse("{id: u32, msgs: Vec<enum{None, Some(Option<String>), P{x: f32, v: [i16; 3]}}>, t: cutime}")
          .value();
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  NullReporter reporter;
  slablog::copper::ReadOptions options;
  options.json = true;
  options.copperlist_type = (data[0] & 8) != 0 ? &nested : &simple;
  auto reader = slablog::copper::Reader::Open(log.path(), options, &reporter);
  if (!reader) return 0;
  slablog::copper::Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind == slablog::copper::ItemKind::kEntry && !Balanced(item.entry.json)) {
      std::fprintf(stderr, "copper: an entry's JSON does not balance: %.*s\n", static_cast<int>(item.entry.json.size()),
                   item.entry.json.data());
      slablog::fuzz::RemoveFuzzDir();
      std::abort();
    }
  }
  if ((data[0] & 16) != 0) {
    slablog::WriterOptions out;
    out.slab_size = 64 << 10;
    out.section_size = 8 << 10;
    (void)slablog::copper::ConvertToSlablog(log.path(), log.OutputBase(), out, options.copperlist_type, &reporter);
  }
  return 0;
}
