#include "prefaulter.h"

#include <sys/mman.h>

#include <algorithm>

namespace slablog {
namespace {

// Small enough that Forget() never waits long, large enough that the system calls are few.
constexpr size_t kChunk = size_t{1} << 20;

bool Overlaps(const uint8_t* a, const uint8_t* b, const uint8_t* c, const uint8_t* d) {
  return a < d && c < b;
}

int Advice(Prefaulter::Access access) {
#if defined(MADV_POPULATE_WRITE) && defined(MADV_POPULATE_READ)
  return access == Prefaulter::Access::kWrite ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
#else
  (void)access;
  return MADV_WILLNEED;
#endif
}

}  // namespace

Prefaulter::Prefaulter(Access access) : advice_(Advice(access)) {}

// pthread rather than std::thread: a thread that cannot be started is an error code here, not an
// exception crossing the library's boundary.
std::unique_ptr<Prefaulter> Prefaulter::Start(Access access) {
  std::unique_ptr<Prefaulter> p(new Prefaulter(access));
  auto run = [](void* self) -> void* {
    static_cast<Prefaulter*>(self)->Run();
    return nullptr;
  };
  if (pthread_create(&p->thread_, nullptr, run, p.get()) != 0) return nullptr;
  return p;
}

Prefaulter::~Prefaulter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  pthread_join(thread_, nullptr);
  // Mappings handed over and not yet unmapped go now; pages not yet released need not.
  for (const Drop& drop : drops_) {
    if (drop.unmap) Perform(drop);
  }
}

void Prefaulter::Request(const uint8_t* begin, const uint8_t* end) {
  {
    std::lock_guard lock(mu_);
    const uint8_t* done = done_.load(std::memory_order_relaxed);
    if (window_ != nullptr && begin >= window_ && begin <= done) {
      // The same mapping, further on: keep what is done, extend the end.
      next_ = std::max(next_, done);
    } else {
      window_ = begin;
      done_.store(begin, std::memory_order_relaxed);
      next_ = begin;
    }
    end_ = end;
  }
  cv_.notify_one();
}

void Prefaulter::Release(const uint8_t* begin, const uint8_t* end) { Queue(Drop{begin, end, false}); }

void Prefaulter::Unmap(uint8_t* begin, uint8_t* end) { Queue(Drop{begin, end, true}); }

void Prefaulter::Queue(const Drop& drop) {
  {
    std::lock_guard lock(mu_);
    drops_.push_back(drop);
  }
  cv_.notify_one();
}

void Prefaulter::Perform(const Drop& drop) {
  void* begin = const_cast<uint8_t*>(drop.begin);
  const auto n = static_cast<size_t>(drop.end - drop.begin);
  if (drop.unmap) {
    munmap(begin, n);
  } else {
    madvise(begin, n, MADV_DONTNEED);
  }
}

bool Prefaulter::Covers(const uint8_t* begin, const uint8_t* end) const {
  // window_ is only written under mu_ by the allocating thread, which is the caller here.
  return window_ != nullptr && begin >= window_ && end <= done_.load(std::memory_order_acquire);
}

void Prefaulter::Forget(const uint8_t* begin, const uint8_t* end) {
  std::unique_lock lock(mu_);
  if (next_ != nullptr && Overlaps(next_, end_, begin, end)) {
    next_ = end_ = nullptr;
    window_ = nullptr;
    done_.store(nullptr, std::memory_order_relaxed);
  }
  cv_.wait(lock, [&] { return busy_begin_ == nullptr || !Overlaps(busy_begin_, busy_end_, begin, end); });
}

void Prefaulter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !drops_.empty() || (next_ != nullptr && next_ < end_); });
    if (stop_) return;
    // Pages asked for come first: a writer may soon need them, while dropping pages or a
    // mapping only gives memory back.
    if (!drops_.empty() && (next_ == nullptr || next_ >= end_)) {
      const Drop drop = drops_.back();
      drops_.pop_back();
      lock.unlock();
      Perform(drop);
      lock.lock();
      continue;
    }
    const uint8_t* begin = next_;
    const uint8_t* end = std::min(end_, begin + kChunk);
    next_ = end;
    busy_begin_ = begin;
    busy_end_ = end;
    lock.unlock();
    // A failure only means the pages fault in later, one by one.
    madvise(const_cast<uint8_t*>(begin), static_cast<size_t>(end - begin), advice_);
    lock.lock();
    busy_begin_ = busy_end_ = nullptr;
    if (window_ != nullptr && begin >= window_ && begin <= done_.load(std::memory_order_relaxed)) {
      done_.store(end, std::memory_order_release);
    }
    cv_.notify_all();
  }
}

}  // namespace slablog
