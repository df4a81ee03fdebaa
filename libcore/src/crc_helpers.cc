#include "crc_helpers.h"

#include <sched.h>

#include <thread>

#include "frame_scanner.h"
#include "slab_walker.h"

namespace slablog {

namespace {
struct ThreadArg {
  CrcHelpers* self;
  unsigned index;
};
}  // namespace

CrcHelpers::CrcHelpers(const std::vector<MappedFile>* files, std::optional<uint32_t> first_index,
                       unsigned threads)
    : files_(files), first_index_(first_index), count_(threads),
      verdicts_(new std::atomic<uint64_t>[kAhead]) {
  for (uint64_t i = 0; i < kAhead; ++i) verdicts_[i].store(~uint64_t{0}, std::memory_order_relaxed);
}

std::unique_ptr<CrcHelpers> CrcHelpers::Start(const std::vector<MappedFile>* files,
                                              std::optional<uint32_t> first_index, unsigned threads) {
  if (threads == 0) return nullptr;
  std::unique_ptr<CrcHelpers> h(new CrcHelpers(files, first_index, threads));
  for (unsigned i = 0; i < threads; ++i) {
    auto* arg = new ThreadArg{h.get(), i};
    pthread_t t;
    auto run = [](void* p) -> void* {
      std::unique_ptr<ThreadArg> a(static_cast<ThreadArg*>(p));
      a->self->Run(a->index);
      return nullptr;
    };
    if (pthread_create(&t, nullptr, run, arg) != 0) {
      delete arg;
      break;
    }
    h->threads_.push_back(t);
  }
  if (h->threads_.empty()) return nullptr;
  h->count_ = static_cast<unsigned>(h->threads_.size());
  return h;
}

CrcHelpers::~CrcHelpers() {
  stop_.store(true);
  for (pthread_t t : threads_) pthread_join(t, nullptr);
}

bool CrcHelpers::Verified(uint64_t ordinal) {
  reader_at_.store(ordinal, std::memory_order_relaxed);
  const uint64_t v = verdicts_[ordinal % kAhead].load(std::memory_order_acquire);
  return v == ((ordinal << 1) | 1);
}

void CrcHelpers::Run(unsigned index) {
  CorruptionSink quiet(nullptr);  // helpers only judge; the reader reports
  SlabWalker walker(files_, first_index_, &quiet);
  walker.set_release([](const uint8_t*, const uint8_t*) {});  // pages are the reader's to drop
  FrameScanner scanner(&quiet, {true, false});
  uint64_t ordinal = 0;
  for (;;) {
    const SlabWalker::Event e = walker.Next();
    if (e == SlabWalker::Event::kDone || stop_.load(std::memory_order_relaxed)) return;
    if (e != SlabWalker::Event::kSection) continue;
    const uint64_t i = ordinal++;
    if (i % count_ != index) continue;
    // Behind the reader: not worth checking. Too far ahead: wait for it.
    if (i < reader_at_.load(std::memory_order_relaxed) + 1) continue;
    while (i >= reader_at_.load(std::memory_order_relaxed) + kAhead) {
      if (stop_.load(std::memory_order_relaxed)) return;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const SectionInfo& s = walker.section();
    // An open section may still be growing (a live log): frames written after this look would
    // go unchecked if it vouched for them. The reader checks open sections itself.
    if (!s.close) continue;
    const uint64_t before = quiet.count();
    scanner.Start(walker.file(), s, walker.section_bytes(),
                  SectionSeed(*walker.summary().log_id, s.open.stream_id, s.open.seq));
    FrameView frame;
    while (scanner.Next(&frame)) {
    }
    const bool intact = quiet.count() == before && !scanner.damaged();
    verdicts_[i % kAhead].store((i << 1) | (intact ? 1 : 0), std::memory_order_release);
  }
}

}  // namespace slablog
