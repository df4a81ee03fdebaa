#include "fault_guard.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace slablog::fault_guard {
namespace {

// Open mappings at once: a reader maps one file per slab (sliding along a long log), a few
// readers may run in one process. Beyond this, mappings go unguarded rather than failing.
constexpr int kSlots = 4096;

// Read by the signal handler: lock-free atomics only. `begin` is set last on registering and
// cleared first on unregistering, so the handler never sees a half-made slot.
struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uint64_t> fault{kNoFault};
  std::atomic<bool> taken{false};
};
static_assert(std::atomic<uintptr_t>::is_always_lock_free && std::atomic<uint64_t>::is_always_lock_free);

Slot g_slots[kSlots];
std::atomic<int> g_high{0};  // slots at or above this were never used
uintptr_t g_page = 4096;
struct sigaction g_previous {};

void PassOn(int sig, siginfo_t* info, void* context) {
  // A handler installed after ours that passes SIGBUS back to us must not loop.
  static thread_local bool passing = false;
  if (!passing) {
    passing = true;
    if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, context);
      passing = false;
      return;
    }
    if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
        g_previous.sa_handler != nullptr) {
      g_previous.sa_handler(sig);
      passing = false;
      return;
    }
    passing = false;
  }
  // Not ours and no one else's: die of it, as without this handler. The signal is blocked while
  // the handler runs, so the raise is delivered (with the default action) on return.
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const int high = g_high.load(std::memory_order_acquire);
  for (int i = 0; i < high; ++i) {
    Slot& s = g_slots[i];
    const uintptr_t begin = s.begin.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin || addr >= s.end.load(std::memory_order_acquire)) continue;
    const uintptr_t page = addr & ~(g_page - 1);
    // A private page of zeros in place of the one that cannot be read; it goes with the mapping.
    void* p = mmap(reinterpret_cast<void*>(page), g_page, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;
    const uint64_t offset = page > begin ? page - begin : 0;
    uint64_t seen = s.fault.load(std::memory_order_relaxed);
    while (offset < seen && !s.fault.compare_exchange_weak(seen, offset, std::memory_order_relaxed)) {
    }
    return;
  }
  PassOn(sig, info, context);
}

// Installs the handler unless it is in place. Checked at every Register: whoever installed a
// SIGBUS handler since (a test framework, the application) is chained to, not left to take over.
void EnsureInstalled() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  struct sigaction current {};
  sigaction(SIGBUS, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == &OnSigbus) return;
  g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction sa {};
  sa.sa_sigaction = &OnSigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  // Blocked while g_previous changes, so this thread's handler never sees it half-copied.
  sigset_t bus, old;
  sigemptyset(&bus);
  sigaddset(&bus, SIGBUS);
  pthread_sigmask(SIG_BLOCK, &bus, &old);
  g_previous = current;
  sigaction(SIGBUS, &sa, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

int Register(const void* begin, size_t size) {
  EnsureInstalled();
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    bool expected = false;
    if (!s.taken.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) continue;
    s.fault.store(kNoFault, std::memory_order_relaxed);
    s.end.store(reinterpret_cast<uintptr_t>(begin) + size, std::memory_order_relaxed);
    s.begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_release);
    int high = g_high.load(std::memory_order_relaxed);
    while (high < i + 1 && !g_high.compare_exchange_weak(high, i + 1, std::memory_order_release)) {
    }
    return i;
  }
  return -1;
}

void Unregister(int slot) {
  if (slot < 0) return;
  g_slots[slot].begin.store(0, std::memory_order_release);
  g_slots[slot].taken.store(false, std::memory_order_release);
}

uint64_t FaultOffset(int slot) {
  return slot < 0 ? kNoFault : g_slots[slot].fault.load(std::memory_order_acquire);
}

const std::atomic<uint64_t>* FaultWord(int slot) {
  static const std::atomic<uint64_t> never{kNoFault};
  return slot < 0 ? &never : &g_slots[slot].fault;
}

}  // namespace slablog::fault_guard
