// libFuzzer target: Verify on a log (one file, or two slab files). With the two-thread flag it
// runs with one thread and with two, which must find the same (VerifyOptions::threads).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "slablog/recovery.h"

namespace {

class CountingReporter : public slablog::Reporter {
 public:
  void OnCorruption(const slablog::Corruption& c) override { sum = sum * 31 + c.offset + c.detail.size(); }
  uint64_t sum = 0;
};

struct Outcome {
  bool opened = false;
  uint64_t records = 0, bytes = 0, damage = 0, torn = 0, sections = 0, open_sections = 0, reports = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome Run(const std::string& path, unsigned threads) {
  CountingReporter reporter;
  slablog::VerifyOptions options;
  options.threads = threads;
  auto v = slablog::Verify(path, options, &reporter);
  if (!v) return {};
  return {true, v->records, v->bytes, v->damage, v->torn, v->sections, v->open_sections, reporter.sum};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  const Outcome one = Run(log.path(), 1);
  if (log.threads() > 1 && !(Run(log.path(), log.threads()) == one)) {
    std::fprintf(stderr, "verify: two threads found otherwise than one\n");
    slablog::fuzz::RemoveFuzzDir();
    std::abort();
  }
  return 0;
}
