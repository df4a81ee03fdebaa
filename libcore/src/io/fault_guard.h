// Reads of a mapped file that fault (the file was cut short under the map, or the disk could not
// read a page) must not kill the process by SIGBUS. Mappings registered here are guarded: a
// SIGBUS inside one maps a page of zeros over the faulting page, so the read goes on and sees
// zeros, and the lowest faulting offset is kept for the reader to report. A SIGBUS anywhere else
// goes to the handler installed before, or kills the process as it would have.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace slablog::fault_guard {

inline constexpr uint64_t kNoFault = UINT64_MAX;

// Guards [begin, begin + size) and returns its slot, or -1 when every slot is taken (the mapping
// is then unguarded). Installs the SIGBUS handler on first use. Thread-safe.
int Register(const void* begin, size_t size);
// Ends the guard; call before unmapping.
void Unregister(int slot);
// The lowest offset (from the mapping's start, rounded down to a page) at which a read faulted,
// or kNoFault.
uint64_t FaultOffset(int slot);
// Where that offset is kept, for readers that look at it once per frame; a word that always
// holds kNoFault for an unguarded mapping (slot -1). Valid until the slot is unregistered.
const std::atomic<uint64_t>* FaultWord(int slot);

}  // namespace slablog::fault_guard
