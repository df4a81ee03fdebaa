// Writes a log: slab files preallocated and written through a shared memory map, one section per
// stream at a time, CRC-framed records. See man/slablog.5 for the bytes it lays down.
//
// Threads: OpenStream, Sync and Close may be called from any thread. Append on one stream must come
// from one thread at a time; different streams append concurrently with no lock and no system
// call, except when a stream needs a new section (then a mutex is taken, and a new slab may be
// created). Close() requires that no Append is running.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "slablog/format.h"
#include "slablog/status.h"

namespace slablog {

enum class SyncPolicy : uint8_t {
  kOnClose,    // data is durable after Sync() and after Close()
  kManual,     // durable only after Sync(); Close() does not wait for the disk
  kEverySlab,  // as kOnClose, and each slab is synced when the writer moves on from it, with
               // the directory if a slab file was named since the directory was last synced
};

struct WriterOptions {
  uint64_t slab_size = uint64_t{64} << 20;    // bytes preallocated per slab file
  // Bytes per section, rounded up to a page; 0: DefaultSectionSize of the log's slab size.
  uint64_t section_size = uint64_t{1} << 20;
  SyncPolicy sync = SyncPolicy::kOnClose;
  // Add to an existing, cleanly closed log instead of creating one. Its slab size and page size
  // are kept; slab_size is then ignored, and a section_size too large for the log's slabs is
  // replaced by DefaultSectionSize of its slab size.
  bool append = false;
  // At most this many slab files (0: no limit). An Append or OpenStream that would need another
  // fails with Errc::kFull and writes nothing, so the log stays whole and at most
  // max_slabs * slab_size bytes: what cuts a log into pieces of a fixed size needs.
  uint32_t max_slabs = 0;
  // A flight recorder: at most this many slab files (0: off; else at least 2), the oldest one's
  // file reused for each new slab once there are this many, so that the log keeps its newest
  // records (at least ring_slabs - 1 slabs of them) in at most ring_slabs * slab_size bytes.
  // A record larger than (ring_slabs - 1) * (slab_size - 4 pages) / 2 is refused; one that the
  // slabs not held by idle streams cannot take whole fails with Errc::kFull, nothing written (no
  // slab holding a fragment of a record is reused before the record is whole).
  // A slab that still holds the open section of another stream (one that has not appended for a
  // whole wrap) is skipped for the next oldest, and that stream starts a new section at its next
  // append: only its appending thread may close its section. When every older slab is held so, an
  // Append or OpenStream that needs a slab fails with Errc::kFull and writes nothing; with
  // ring_slabs at least the number of streams + 2 that cannot happen, nor with one_appender.
  // Each new slab's header and name are synced (and the old file's removal from the log before its
  // bytes are reused), so a crash at any point of a wrap leaves the older slab's records all there
  // or all gone. Readers start at the oldest slab left (man slablog.5, Rings).
  uint32_t ring_slabs = 0;
  // Every Append and OpenStream comes from one thread (slablog write's case): a ring then closes
  // the sections of idle streams in its oldest slab itself.
  bool one_appender = false;
  // The base name of a retired log whose slab files this writer takes over, one each time it needs
  // a new slab, instead of creating files (as RocksDB recycles its log files). While their pages
  // are still cached, appends into them are not bound by the rate the kernel makes fresh pages
  // (measured here: 64 KiB records at 0.6 of memcpy, against 0.05 to 0.14 into new files). The
  // retired log is destroyed slab by slab; a file that is not a slab of another log, or that a
  // writer or a reader of its last slab holds, is left alone. A missing log, or one used up, means
  // new files. After a power cut, the parts of a reused file written since the last Sync() read as
  // damage rather than as a torn tail (man slablog.5). Empty: none.
  std::string recycle;
  // Fault in the pages ahead of the appends on a background thread, so that appending threads do
  // not pay for the kernel's page allocation. Off: no thread is started.
  bool background_prefault = true;
  // Set when Sync() will be called often (say more than once per MiB appended): then a Sync()
  // writes about what was appended since the last one (at most twice that, plus 16 KiB, plus
  // 8 KiB for each stream appended to: its last page, written whole, and the header of a section
  // it closed; plus 8 KiB for each new slab begun: its header and catalog pages), rather
  // than the zero pages made ready ahead of the appends and whole 2 MiB folios around each
  // record (measured here: 1,050 bytes written per byte appended with a Sync() every 10 records
  // of 200 bytes). The price: each 4 KiB page costs the appending thread a page fault, and
  // readers of the log see small folios. Left false, appends and reads are fastest, and a Sync()
  // may write up to ~18 MiB besides what was appended.
  bool sync_often = false;
  // For reproducible files (golden tests): a fixed log id, a fixed slab creation time.
  std::optional<LogId> log_id;
  std::optional<int64_t> created_ns;
};

struct StreamOptions {
  std::string name;
  Encoding encoding = Encoding::kBinary;
  uint32_t type = 0;  // application-defined
};

namespace detail {
struct StreamState;
}

// Identifies an open stream of one Writer; valid until that Writer is destroyed.
class StreamHandle {
 public:
  StreamHandle() = default;
  uint32_t id() const;
  bool valid() const { return state_ != nullptr; }

 private:
  friend class Writer;
  explicit StreamHandle(detail::StreamState* state) : state_(state) {}
  detail::StreamState* state_ = nullptr;
};

// The page size a new log is written with: the system's, or kMinPageSize where that is larger.
uint64_t SystemPageSize();

// The section size when none is chosen (WriterOptions::section_size 0): a 32nd of the slab,
// rounded down to a page, at least one page and at most 1 MiB. A small slab then holds sections
// of many streams at once, any slab the format allows (four pages or more) gets sections that
// fit, and slabs of 32 MiB or more keep the 1 MiB they always had.
uint64_t DefaultSectionSize(uint64_t slab_size, uint64_t page_size);

// Whether a new log's slab and section sizes work together (a slab holds a section and three
// pages more, and at least the format's minimum of pages): what Writer::Open checks first, for
// callers that want to refuse bad sizes before they have a record to write.
Status CheckLogSizes(const WriterOptions& options);

// Whether `base` is free for a new log (Errc::kInvalidArgument when not; Errc::kIo when its
// directory cannot be listed through, ListSlabFilesOrFail, so that a log named like one of its
// slabs may be there unseen): no file of that name
// (readers would open it instead), no slab file of it (a log of that name, or a ring that
// reused its slab 0), not a slab name of a log that exists (run_1.slog beside run.slog's slabs),
// and no log named like one of its slabs (run_1.slog, files run_1_0.slog, ..., beside a new
// run.slog). Then no name ever leads readers to two logs. Writer::Open checks it once it holds
// the log's lock, under NewLogLock; callers may check it first to refuse before they have a
// record to write.
// `replacing`: the log of that name, if any, is to be replaced (split --force, merge --force):
// its own slab files do not make the name taken. Every other rule applies: a file named `base`
// itself is no slab of that log, stays when the log is replaced, and would still hide it.
// The check and the making of the name are one step only under NewLogLock (new_log_lock.h).
Status CheckNewLogName(const std::string& base, bool replacing = false);

class Writer {
 public:
  // `base` is the log's base name ("run.slog" gives run_0.slog, run_1.slog, ...). Creating fails
  // unless CheckNewLogName(base) passes; appending fails unless the log was closed cleanly, or
  // when `base` names a slab of another log, or a log that is named like one of the slabs it
  // would grow exists.
  static Result<std::unique_ptr<Writer>> Open(std::string base, const WriterOptions& options);

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Closes the log if Close() was not called; an error there is lost, so call Close().
  ~Writer();

  // Opens (or, when appending, reopens) a stream by name. Opening a name that is already open
  // returns the same stream if encoding and type match, and an error if they differ.
  Result<StreamHandle> OpenStream(const StreamOptions& options);

  // Appends one record of any size up to kMaxRecordBytes. `timestamp` is in nanoseconds.
  Status Append(StreamHandle stream, std::span<const uint8_t> payload, int64_t timestamp);
  Status Append(StreamHandle stream, std::string_view payload, int64_t timestamp) {
    return Append(stream, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
                  timestamp);
  }

  // Everything appended before the call is on disk when it returns OK. Any number of threads may
  // call it at once (group commit): the disk is flushed without the writer's lock, so appends,
  // section and slab changes and OpenStream go on meanwhile, and one flush serves every call
  // that was waiting when it started. Called during or after Close(), it returns what Close()
  // returned, and under kManual (whose Close() does not sync) an error. I/O errors are sticky:
  // once an fdatasync, a directory fsync, an ftruncate or an fallocate of this writer has failed
  // (here, in Close(), or while making or leaving a slab), every later Sync() and Close() fails
  // with that first error, since the kernel may have dropped the data it could not write.
  Status Sync();
  // Closes every section, writes the end marker, trims the last slab and (policy permitting)
  // syncs. The writer can do nothing more afterwards. After an I/O error no end marker is
  // written (the log reads as not closed cleanly). Calling it again returns what the first call
  // returned.
  Status Close();

  const LogId& log_id() const;
  // The slabs begun so far (the newest one's index + 1; a ring's reused ones count). Any thread
  // may call it, appends going on meanwhile.
  uint32_t slab_count() const;
  uint64_t page_size() const;

 private:
  struct Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  Status AppendSlow(detail::StreamState& s, std::span<const uint8_t> payload, int64_t timestamp);

  std::unique_ptr<Impl> impl_;
};

}  // namespace slablog
