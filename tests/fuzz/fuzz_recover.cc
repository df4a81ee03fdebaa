// libFuzzer target: Recover a log (one file, or two slab files) into a new log in the same
// temporary directory, then read that log back: it must be intact and closed cleanly, whatever
// the input was.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "slablog/recovery.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  slablog::WriterOptions out;
  out.slab_size = 64 << 10;
  out.section_size = 8 << 10;
  out.sync = slablog::SyncPolicy::kManual;
  out.background_prefault = false;
  auto r = slablog::Recover(log.path(), log.OutputBase(), out, nullptr);
  if (!r) return 0;
  slablog::VerifyOptions vo;
  vo.threads = 1;
  auto v = slablog::Verify(log.OutputBase(), vo, nullptr);
  if (!v || !v->ok() || v->records != r->records) {
    std::fprintf(stderr, "recovered log does not verify: %llu records copied, %llu read back\n",
                 static_cast<unsigned long long>(r->records),
                 static_cast<unsigned long long>(v ? v->records : 0));
    slablog::fuzz::RemoveFuzzDir();
    std::abort();
  }
  return 0;
}
