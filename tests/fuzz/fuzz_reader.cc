// libFuzzer target: the Reader over every slab, section, frame and record of a log (one file, or
// two slab files), with every view touched so that AddressSanitizer sees a view past its bytes.
// With the two-thread flag the log is read with one thread and with two, which must return the
// same items and reports (ReaderOptions::threads promises it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "slablog/reader.h"

namespace {

// FNV-1a, over everything a pass returns.
struct Hash {
  uint64_t h = 1469598103934665603ULL;
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
  void Add(uint64_t v) { Add(&v, sizeof(v)); }
  void Add(std::span<const uint8_t> bytes) { Add(bytes.data(), bytes.size()); }
  void Add(std::string_view s) { Add(s.data(), s.size()); }
};

class HashingReporter : public slablog::Reporter {
 public:
  explicit HashingReporter(Hash* hash) : hash_(hash) {}
  void OnCorruption(const slablog::Corruption& c) override {
    hash_->Add(c.offset);
    hash_->Add(c.bytes_dropped);
    hash_->Add(static_cast<uint64_t>(c.kind));
    hash_->Add(c.file);
    hash_->Add(c.detail);
  }

 private:
  Hash* hash_;
};

uint64_t Pass(const std::string& path, unsigned threads) {
  Hash hash;
  HashingReporter reporter(&hash);
  slablog::ReaderOptions options;
  options.frames = true;
  options.threads = threads;
  options.background_prefault = false;
  auto reader = slablog::Reader::Open(path, options, &reporter);
  if (!reader) return 0;
  slablog::Item item;
  while (reader.value()->Next(&item)) {
    hash.Add(static_cast<uint64_t>(item.kind));
    switch (item.kind) {
      case slablog::ItemKind::kSlab: hash.Add(item.slab->bytes); break;
      case slablog::ItemKind::kSection:
        hash.Add(item.section->offset);
        hash.Add(item.section->stream_name);
        break;
      case slablog::ItemKind::kFrame:
        hash.Add(item.frame.offset);
        hash.Add(item.frame.payload);
        break;
      case slablog::ItemKind::kRecord:
        hash.Add(item.record.offset);
        hash.Add(item.record.payload);
        hash.Add(item.record.stream_name);
        break;
    }
  }
  for (const slablog::CatalogEntry* e : reader.value()->streams()) hash.Add(e->name);
  hash.Add(reader.value()->summary().records);
  hash.Add(reader.value()->summary().corruptions);
  return hash.h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  const uint64_t one = Pass(log.path(), 1);
  if (log.threads() > 1 && Pass(log.path(), log.threads()) != one) {
    std::fprintf(stderr, "reader: two threads read the log differently from one\n");
    slablog::fuzz::RemoveFuzzDir();
    std::abort();
  }
  return 0;
}
