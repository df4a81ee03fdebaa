#include "io_faults.h"

#include <atomic>

namespace slablog::io_faults {
namespace {

std::atomic<Hook> g_hook{nullptr};

}  // namespace

void SetHook(Hook hook) { g_hook.store(hook, std::memory_order_release); }

int Injected(Op op, const char* path) {
  const Hook hook = g_hook.load(std::memory_order_acquire);
  return hook == nullptr ? 0 : hook(op, path);
}

}  // namespace slablog::io_faults
