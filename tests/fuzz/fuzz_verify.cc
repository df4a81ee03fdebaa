// libFuzzer target: Verify on a log (one file, or two slab files).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.h"
#include "slablog/recovery.h"

namespace {

class CountingReporter : public slablog::Reporter {
 public:
  void OnCorruption(const slablog::Corruption& c) override { sum += c.offset + c.detail.size(); }
  uint64_t sum = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  CountingReporter reporter;
  slablog::VerifyOptions options;
  options.threads = log.threads();
  auto v = slablog::Verify(log.path(), options, &reporter);
  volatile uint64_t sink = reporter.sum + (v ? v->records + v->damage + v->torn : 0);
  (void)sink;
  return 0;
}
