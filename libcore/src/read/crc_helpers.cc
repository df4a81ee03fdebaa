#include "crc_helpers.h"

#include <sched.h>

#include <chrono>
#include <cstring>
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
                       unsigned threads, bool reader_shares, bool decode_compressed)
    : files_(files), first_index_(first_index), count_(threads), reader_shares_(reader_shares),
      decode_compressed_(decode_compressed), decoded_(new std::vector<uint8_t>[kDecodeAhead]),
      slots_(new Slot[kAhead]) {}

std::unique_ptr<CrcHelpers> CrcHelpers::Start(const std::vector<MappedFile>* files,
                                              std::optional<uint32_t> first_index, unsigned threads,
                                              bool reader_shares, bool decode_compressed) {
  if (threads == 0) return nullptr;
  std::unique_ptr<CrcHelpers> h(new CrcHelpers(files, first_index, threads, reader_shares, decode_compressed));
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
  // (Helpers already read count_: written only when fewer started, and then they stop.)
  if (h->threads_.size() != threads) {
    h->stop_.store(true);
    for (pthread_t t : h->threads_) pthread_join(t, nullptr);
    h->threads_.clear();
    return nullptr;
  }
  return h;
}

CrcHelpers::~CrcHelpers() {
  stop_.store(true);
  for (pthread_t t : threads_) pthread_join(t, nullptr);
}

bool CrcHelpers::Verified(uint64_t ordinal, const uint8_t* section, FrameScanner::Tally* tally) {
  // Release: what the reader did with the sections before this one (TakeDecoded's swap, reading
  // the buffer it gave back) happens before a helper that sees it here reuses their places.
  reader_at_.store(ordinal, std::memory_order_release);
  Slot& slot = slots_[ordinal % kAhead];
  uint64_t v = slot.verdict.load(std::memory_order_acquire);
  for (;;) {
    if (v != kNone && (v >> 2) == ordinal) {
      if ((v & 3) == kHelperChecking) {
        // A helper is half-way through it: its verdict comes sooner than a second check would.
        sched_yield();
        v = slot.verdict.load(std::memory_order_acquire);
        continue;
      }
      if ((v & 3) != kIntact || slot.section != section) return false;
      *tally = slot.tally;
      return true;
    }
    // No helper has it: the reader takes it, and no helper will start it now.
    if (slot.verdict.compare_exchange_weak(v, (ordinal << 2) | kReaderChecking, std::memory_order_acq_rel)) {
      return false;
    }
  }
}

void CrcHelpers::TakeDecoded(uint64_t ordinal, std::vector<uint8_t>* buffer) {
  // The helper wrote it before its verdict, which the reader loaded with acquire order; no helper
  // touches it again before the reader has gone past this section (kDecodeAhead).
  decoded_[ordinal % kDecodeAhead].swap(*buffer);
}

bool CrcHelpers::DecodeAndCheck(const SlabWalker& walker, SectionCodec* codec, FrameScanner* scanner,
                                uint64_t ordinal, FrameScanner::Tally* tally) {
  const SectionInfo& s = walker.section();
  const std::span<const uint8_t> bytes = walker.section_bytes();
  if ((s.slab->header.flags & kSlabFlagCompressed) == 0) return false;
  const uint32_t seed = SectionSeed(walker.section_key(), s.open.stream_id, s.open.seq);
  std::vector<uint8_t>& out = decoded_[ordinal % kDecodeAhead];
  const uint64_t present = bytes.size() - kSectionHeaderSize;
  if (codec->Decode(bytes.subspan(kSectionHeaderSize, std::min<uint64_t>(present, s.close->filled)), *s.close, seed,
                    &out)) {
    return false;  // damaged: the reader decodes it again and reports
  }
  std::memcpy(out.data(), bytes.data(), kSectionHeaderSize);
  SectionInfo inflated = s;
  inflated.close->filled = out.size() - kSectionHeaderSize;
  scanner->Start(walker.file(), inflated, out, seed);
  return scanner->CheckRest(tally) && !scanner->damaged();
}

bool CrcHelpers::Claim(uint64_t ordinal) {
  std::atomic<uint64_t>& verdict = slots_[ordinal % kAhead].verdict;
  uint64_t v = verdict.load(std::memory_order_acquire);
  while (v == kNone || (v >> 2) != ordinal) {
    if (verdict.compare_exchange_weak(v, (ordinal << 2) | kHelperChecking, std::memory_order_acq_rel)) {
      return true;
    }
  }
  return false;  // the reader got there first
}

void CrcHelpers::Run(unsigned index) {
  CorruptionSink quiet(nullptr);  // helpers only judge; the reader reports
  SlabWalker walker(files_, first_index_, &quiet);
  walker.set_release([](const uint8_t*, const uint8_t*) {});  // pages are the reader's to drop
  FrameScanner scanner(&quiet, {true, false});
  SectionCodec codec;
  uint64_t ordinal = 0;
  for (;;) {
    const SlabWalker::Event e = walker.Next();
    if (e == SlabWalker::Event::kDone || stop_.load(std::memory_order_relaxed)) return;
    if (e != SlabWalker::Event::kSection) continue;
    const uint64_t i = ordinal++;
    if (reader_shares_ ? i % (count_ + 1) != index + 1 : i % count_ != index) continue;
    // Behind the reader: not worth checking. Too far ahead: wait for it.
    if (i < reader_at_.load(std::memory_order_acquire) + 1) continue;
    while (i >= reader_at_.load(std::memory_order_acquire) + kAhead) {
      if (stop_.load(std::memory_order_relaxed)) return;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const SectionInfo& s = walker.section();
    // An open section may still be growing (a live log): frames written after this look would
    // go unchecked if it vouched for them. The reader checks open sections itself.
    if (!s.close) continue;
    const bool compressed = s.open.compressed();
    if (compressed) {
      // Decoded only a few sections ahead, so that few are held decoded at once.
      if (!decode_compressed_) continue;
      while (i >= reader_at_.load(std::memory_order_acquire) + kDecodeAhead) {
        if (stop_.load(std::memory_order_relaxed)) return;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      // The reader may have gone past it while this helper slept.
      if (i < reader_at_.load(std::memory_order_acquire) + 1) continue;
    }
    if (!Claim(i)) continue;
    const uint64_t before = quiet.count();
    FrameScanner::Tally tally;
    bool intact;
    if (compressed) {
      intact = DecodeAndCheck(walker, &codec, &scanner, i, &tally) && quiet.count() == before;
    } else {
      scanner.Start(walker.file(), s, walker.section_bytes(),
                    SectionSeed(walker.section_key(), s.open.stream_id, s.open.seq));
      intact = scanner.CheckRest(&tally) && quiet.count() == before && !scanner.damaged();
    }
    Slot& slot = slots_[i % kAhead];
    slot.tally = tally;
    slot.section = walker.section_bytes().data();
    slot.verdict.store((i << 2) | (intact ? kIntact : kDamaged), std::memory_order_release);
  }
}

}  // namespace slablog
