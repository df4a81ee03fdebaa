// libFuzzer target: the Reader over every slab, section, frame and record of a log (one file, or
// two slab files), with every view touched so that AddressSanitizer sees a view past its bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.h"
#include "slablog/reader.h"

namespace {

class CountingReporter : public slablog::Reporter {
 public:
  void OnCorruption(const slablog::Corruption& c) override { sum += c.offset + c.bytes_dropped + c.detail.size(); }
  uint64_t sum = 0;
};

uint64_t Touch(std::span<const uint8_t> bytes) {
  uint64_t sum = 0;
  for (uint8_t b : bytes) sum += b;
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  CountingReporter reporter;
  slablog::ReaderOptions options;
  options.frames = true;
  options.threads = log.threads();
  options.background_prefault = false;
  auto reader = slablog::Reader::Open(log.path(), options, &reporter);
  if (!reader) return 0;
  slablog::Item item;
  volatile uint64_t sink = 0;
  while (reader.value()->Next(&item)) {
    switch (item.kind) {
      case slablog::ItemKind::kSlab: sink = sink + item.slab->bytes; break;
      case slablog::ItemKind::kSection: sink = sink + item.section->stream_name.size(); break;
      case slablog::ItemKind::kFrame: sink = sink + Touch(item.frame.payload); break;
      case slablog::ItemKind::kRecord:
        sink = sink + Touch(item.record.payload) + item.record.stream_name.size();
        break;
    }
  }
  for (const slablog::CatalogEntry* e : reader.value()->streams()) sink = sink + e->name.size();
  sink = sink + reader.value()->summary().records + reporter.sum;
  return 0;
}
