// The writer's shared state: slabs, streams, the catalog, and the allocation of sections and
// slabs. Everything here is guarded by `mu` except what one stream's appending thread owns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "slablog/log_lock.h"
#include "mapped_file.h"
#include "prefaulter.h"
#include "slab_recycler.h"
#include "slablog/writer.h"
#include "stream_state.h"

namespace slablog {

// A log's page, slab and section sizes, in bytes, as it is written.
struct LogSizes {
  uint64_t page = 0;
  uint64_t slab = 0;
  uint64_t section = 0;
};

// The section size of a log of `slab`-byte slabs: `wanted` rounded up to the page, or, for 0,
// DefaultSectionSize. The one rule of new logs and of appends.
uint64_t SectionSizeOf(uint64_t wanted, uint64_t slab, uint64_t page);
// Whether a slab of `slab` bytes holds a section of `section` besides its fixed pages.
bool SectionFitsSlab(uint64_t section, uint64_t slab, uint64_t page);

struct Writer::Impl {
  // This writer is the log's only one from Open to Close (slablog/log_lock.h).
  LogLock log_lock;
  struct Slab {
    // Shared with a flush in progress (Flush), which syncs it without the writer's lock: the
    // descriptor closes when the last of them lets go.
    std::shared_ptr<WritableSlab> file;
    uint64_t pos = 0;            // the next free (page-aligned) offset
    uint32_t open_sections = 0;  // sections in this slab not yet closed
    bool retired = false;        // unmapped; kept open only until the next sync
    bool recycled = false;       // a ring reused its file for a later slab: gone from the log
    uint32_t flags = 0;          // its header's (kSlabFlagRing)
    // A ring's: where each stream that began sections in the slab before stood when this one
    // began, kept while that slab is in the ring (AddKeptSlabsPositionsLocked).
    std::vector<StreamPosition> moved_on;
  };

  std::string base;
  WriterOptions options;
  LogId log_id{};
  uint64_t page_size = kMinPageSize;
  uint64_t slab_capacity = 0;
  uint64_t section_size = 0;

  std::mutex mu;
  // Set under `mu` by Close(); read without it on the append path's slow branch.
  std::atomic<bool> closed{false};
  // The first failure of fdatasync, a directory fsync, ftruncate or fallocate (or of the other
  // I/O of a slab's creation or close). The kernel may have dropped the pages it could not write
  // and a later fsync may then succeed (PostgreSQL's 2018 lesson), so from then on every Sync()
  // and Close() fails with it: nothing reports success for data that may not be on disk.
  Status io_error;
  // What the first Close() returned; a second one returns it again.
  Status close_result;
  bool dir_dirty = false;        // a slab was created since the last directory sync
  // Retired slabs (indexes into `slabs`) whose descriptors are still open, waiting for a sync
  // (RetireIfDoneLocked).
  std::vector<size_t> retired_open;
  static constexpr size_t kMaxRetiredOpen = 64;
  // Retired slabs were let go without a sync since the last flush: the next one syncs the file
  // system (syncfs on dir_fd), which reaches their pages and reports their write-back errors.
  bool closed_unsynced = false;
  int dir_fd = -1;  // the log's directory, open from the start (SyncFileSystem)

  // Group commit (Writer::Sync). A call takes a ticket; a flush started after a ticket was taken
  // serves it. Guarded by sync_mu, which is never taken while `mu` is held.
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  uint64_t sync_requested = 0;  // tickets handed out
  uint64_t sync_served = 0;     // every ticket up to this one has had its flush
  bool flushing = false;
  bool sync_closed = false;     // Close() has begun: no flush starts any more
  bool close_done = false;      // Close() has returned (close_result is its outcome)
  uint32_t first_slab = 0;       // index of slabs[0] (non-zero when appending)
  std::deque<Slab> slabs;        // slabs[i] has index first_slab + i; a deque keeps references
  // first_slab + slabs.size(), for Writer::slab_count() from threads that do not hold `mu`.
  std::atomic<uint32_t> slabs_begun{0};
  detail::StreamState catalog;   // stream 0
  std::vector<std::unique_ptr<detail::StreamState>> streams;
  std::unordered_map<std::string, detail::StreamState*> by_name;
  uint32_t next_stream_id = 1;
  std::unique_ptr<SlabRecycler> recycler;   // null unless options.recycle
  std::unique_ptr<Prefaulter> prefaulter;  // null unless options.background_prefault

  ~Impl();
  Status Create();
  Status Resume();  // writer_resume.cc

  Status AppendCatalogLocked(const CatalogEntry& entry);
  // Appends a record that does not fit in the stream's current section: closes it, allocates
  // sections (taking `mu` unless `locked`), and fragments records larger than a section.
  Status AppendRecord(detail::StreamState& s, std::span<const uint8_t> payload, int64_t timestamp,
                      bool locked);
  // Opens dir_fd. Create and Resume call it first.
  Status OpenDirectory();
  Prefaulter::Access PrefaultAccess() const;
  // One flush of everything appended so far: every slab file with its descriptor open, the
  // directory if a slab was named since its last sync, the file system if a retired slab was let
  // go unsynced. Takes `mu` only to see what to flush and to note the outcome, not while waiting
  // for the disk. Returns the sticky io_error (ok if none).
  Status Flush();
  // The same, `mu` held throughout (Close).
  Status SyncLocked();
  // The steps of both: what to flush (taken under `mu`), the flush itself, and its outcome noted.
  struct FlushPlan {
    std::vector<std::shared_ptr<WritableSlab>> files;
    std::vector<size_t> retired;  // retired slabs among them, let go once flushed
    bool directory = false;
    bool file_system = false;
  };
  FlushPlan PlanFlushLocked();
  Status RunFlush(const FlushPlan& plan) const;
  Status FinishFlushLocked(const FlushPlan& plan, Status outcome);
  Status CloseLocked();
  // Keeps `s` as io_error if it is the first I/O failure; returns it.
  Status NoteIo(Status s) {
    if (!s.ok() && io_error.ok()) io_error = s;
    return s;
  }

 private:
  // Whether a record of `payload` bytes that does not fit in the stream's current section fits in
  // what is left of the current slab (as AppendRecord would lay it out).
  bool FitsInSlabLocked(const detail::StreamState& s, uint64_t payload) const;
  // The size of the stream's next section: at least `min_bytes`, at most `slab_room`.
  uint64_t SectionSizeFor(const detail::StreamState& s, uint64_t min_bytes, uint64_t slab_room) const;
  Status RollSectionLocked(detail::StreamState& s, uint64_t min_bytes, bool allow_new_slab);
  void CloseSectionLocked(detail::StreamState& s);
  Status NewSlabLocked();
  // A slab file taken from the retired log or, in a ring that is full, from the log's oldest
  // slab; or else a new one.
  Result<std::unique_ptr<WritableSlab>> SlabFileLocked(const std::string& path);
  // A ring's oldest slab that no open section holds, taken as the slab `path`; null when the
  // ring is not full yet. Errc::kFull when every older slab is held.
  Result<std::unique_ptr<WritableSlab>> RecycleOwnSlabLocked(const std::string& path);
  // Slabs of a ring still on disk from before this writer (a resumed ring), oldest first: they
  // are the first to be reused.
  std::deque<uint32_t> ring_older;
  size_t ring_recycled = 0;  // slabs of `slabs` a ring has reused
  std::deque<size_t> ring_open;  // retired ring slabs whose descriptors (and locks) are kept
  size_t ring_oldest = 0;    // no slab of `slabs` before this one is still in the log
  uint32_t live_slabs() const;
  // Slabs a ring could take for new ones now: older ones no open section holds, and the room
  // left before it is full.
  uint64_t RingSlabsAvailableLocked(const detail::StreamState& appending) const;
  // A new ring slab's position records for slabs after kept ones (see the definition).
  void AddKeptSlabsPositionsLocked(std::vector<std::string>* encoded, uint64_t* snapshot);
  void ForgetMovedOnLocked(size_t recycled);
  // While a record is written in fragments: the index in `slabs` of the slab of its first one (no
  // slab from there on is reused until it is whole); SIZE_MAX otherwise.
  size_t fragments_from = SIZE_MAX;
  // The SectionKey of slabs[i]'s section headers.
  LogId SlabKey(size_t i) const {
    return SectionKey(log_id, first_slab + static_cast<uint32_t>(i), slabs[i].flags);
  }
  // The largest record a ring takes: its fragments must never need the slab its first is in.
  uint64_t RingRecordLimit() const {
    return (uint64_t{options.ring_slabs} - 1) * (slab_capacity - 4 * page_size) / 2;
  }
  void RetireIfDoneLocked(size_t slab);
  Status WriteEndMarkerLocked();
  Status CloseOnceLocked();
  Slab& current() { return slabs.back(); }
  Status Fail(const std::string& message) const { return Error{Errc::kInvalidArgument, base, 0, message}; }
};

uint64_t RoundUp(uint64_t v, uint64_t to);
// Writes a section header (and its close block, if given) at `at`, magic last.
void PublishHeader(uint8_t* at, const LogId& id, const SectionOpen& open, const SectionClose* close);
// Writes a slab header at `at` (a slab's first byte), magic last.
void PublishSlabHeader(uint8_t* at, const SlabHeader& h);
int64_t WallClockNs();
// A new log's id, from getrandom(2).
Result<LogId> RandomLogId();

}  // namespace slablog
