// A background thread that faults in the pages a writer is about to fill, or a reader about to
// read. A new page of a shared file mapping costs a page fault (and, for writing, the kernel's
// zeroing of it); done here, on another core, that cost leaves the threads that append or scan.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>
#include <pthread.h>

namespace slablog {

class Prefaulter {
 public:
  enum class Access : uint8_t { kRead, kWrite };
  // Null when no thread can be started (the caller then goes on without one).
  static std::unique_ptr<Prefaulter> Start(Access access);
  ~Prefaulter();
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;

  // Asks for [begin, end) of a mapping to be faulted in, replacing any earlier request. Returns
  // at once.
  void Request(const uint8_t* begin, const uint8_t* end);
  // True when [begin, end) is known to be faulted in already.
  bool Covers(const uint8_t* begin, const uint8_t* end) const;
  // Drops [begin, end) from this process's page tables (the page cache keeps the pages), on the
  // thread. Only for read-only mappings.
  void Release(const uint8_t* begin, const uint8_t* end);
  // Unmaps [begin, end), a whole mapping handed over by its owner, on the thread (at the latest
  // when the Prefaulter is destroyed). Unmapping a written slab took a third as long as the CRCs
  // and streaming copies that filled it with 64 KiB records (perf, here): the kernel marks every
  // block of every page dirty again.
  void Unmap(uint8_t* begin, uint8_t* end);
  // Cancels work on [begin, end) and waits until none is running: call before unmapping it.
  void Forget(const uint8_t* begin, const uint8_t* end);

 private:
  explicit Prefaulter(Access access);
  void Run();

  const int advice_;
  std::mutex mu_;
  std::condition_variable cv_;
  const uint8_t* next_ = nullptr;  // the next page to fault in
  const uint8_t* end_ = nullptr;
  const uint8_t* window_ = nullptr;  // start of the requested range: [window_, done_) is done
  std::atomic<const uint8_t*> done_{nullptr};
  const uint8_t* busy_begin_ = nullptr;  // the chunk being faulted in, if any
  const uint8_t* busy_end_ = nullptr;
  struct Drop {
    const uint8_t* begin;
    const uint8_t* end;
    bool unmap;  // munmap, rather than dropping the pages from the page tables
  };
  std::vector<Drop> drops_;
  void Queue(const Drop& drop);
  static void Perform(const Drop& drop);
  bool stop_ = false;
  pthread_t thread_{};
};

}  // namespace slablog
