#include "slablog/compressed_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "coding.h"
#include "compressed_section.h"
#include "crc32c.h"
#include "io_faults.h"
#include "mapped_file.h"
#include "slablog/log_lock.h"
#include "slablog/new_log_lock.h"
#include "writer_impl.h"

namespace slablog {
namespace {

using coding::Store;

// A stream's frames waiting for their section, and the close block they will get.
struct PendingSection {
  uint32_t stream = 0;
  uint64_t seq = 0;  // the number the section will have
  std::vector<uint8_t> frames;
  SectionClose close;
  bool empty() const { return close.frame_count == 0; }
};

// A section handed from the appending thread to the one that compresses and places sections,
// with the streams defined since the last one (so that the catalog never lags its sections).
struct SectionJob {
  uint32_t stream = 0;
  uint64_t seq = 0;
  std::vector<uint8_t> frames;
  SectionClose close;
  std::vector<CatalogEntry> new_streams;
};

// Sections waiting for the placing thread at most: bounds memory (each holds up to a section)
// while the appending thread keeps going.
constexpr size_t kMaxQueuedSections = 4;

}  // namespace

struct CompressedWriter::Impl {
  std::string base;
  CompressedWriterOptions options;
  LogLock lock;
  LogId log_id{};
  // The appending thread's: every stream defined, the ones already sent with a section, and
  // each stream's section being filled.
  std::vector<CatalogEntry> streams_defined;
  size_t streams_sent = 0;
  // The placing thread's (a worker, or the appending thread itself without one): sections are
  // compressed and laid out in the order they were handed over.
  SectionCodec codec;
  std::vector<uint8_t> stored;
  std::vector<CatalogEntry> catalog;   // every stream defined by the sections placed so far
  size_t catalog_written = 0;          // entries already in a catalog section of this slab
  uint64_t catalog_seq = 0;
  std::vector<PendingSection> streams;  // index: stream id - 1
  uint64_t buffered = 0;
  int fd = -1;                          // the current slab's NAME.new
  uint32_t slab_index = 0;
  uint64_t slab_pos = 0;                // next free page of the current slab
  bool slab_has_data = false;
  bool slab_has_catalog = false;
  std::vector<std::string> written;     // NAME.new files, in slab order
  Stats stats;  // records and payload_bytes: the appending thread's; the rest the placing one's
  bool closed = false;
  Status failed;  // the placing thread's first error

  // Handing sections over.
  std::thread worker;
  std::mutex mu;
  std::condition_variable queued;  // a job, or the end
  std::condition_variable room;    // space in the queue
  std::deque<SectionJob> queue;
  bool no_more_jobs = false;
  std::atomic<bool> worker_failed{false};
  std::vector<std::vector<uint8_t>> spare_buffers;  // frame buffers to reuse (under mu)

  ~Impl() {
    StopWorker();
    if (fd >= 0) ::close(fd);
    if (!closed) {
      for (const std::string& f : written) ::unlink(f.c_str());
    }
  }

  static Error IoError(const std::string& file, uint64_t offset, const std::string& what) {
    return Error{Errc::kIo, file, offset, what + ": " + std::strerror(errno)};
  }
  uint64_t page() const { return options.page_size; }

  Status WriteAt(uint64_t offset, const uint8_t* data, size_t size) {
    while (size > 0) {
      const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return IoError(written.back(), offset, "cannot write");
      data += n;
      size -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return {};
  }

  Status StartSlab() {
    const std::string path = SlabPath(base, slab_index) + ".new";
    // A NAME.new that a stopped run left is not part of any log: replaced.
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    written.push_back(path);
    if (fd < 0) return IoError(path, 0, "cannot create");
    slab_pos = page();  // the header's page; the header is written last, when the size is known
    slab_has_data = false;
    slab_has_catalog = false;
    catalog_written = 0;
    return {};
  }

  // Before a slab's first section, and before a section of a stream it does not define yet: a
  // catalog section (the first of a slab repeats every stream, so the slab reads on its own).
  Status CatalogFirst() {
    if (slab_has_catalog && catalog_written == catalog.size()) return {};
    slab_has_catalog = true;
    return WriteCatalog();
  }

  // A catalog section with the entries this slab does not have yet (at its start: all).
  Status WriteCatalog() {
    std::vector<uint8_t> frames;
    std::string entry;
    const uint32_t seed = SectionSeed(log_id, kCatalogStream, catalog_seq);
    SectionClose close;
    for (size_t i = catalog_written; i < catalog.size(); ++i) {
      entry.clear();
      EncodeCatalogEntry(catalog[i], &entry);
      AddFrame(&frames, &close, seed, FragmentKind::kFull, 0, 0,
               {reinterpret_cast<const uint8_t*>(entry.data()), entry.size()}, {});
    }
    catalog_written = catalog.size();
    return WriteSection(SectionOpen{kCatalogStream, catalog_seq++, 0}, close, frames, nullptr);
  }

  static void AddFrame(std::vector<uint8_t>* frames, SectionClose* close, uint32_t seed, FragmentKind kind,
                       uint32_t index, int64_t t, std::span<const uint8_t> data, std::span<const uint8_t> prefix) {
    const size_t at = frames->size();
    const uint32_t length = static_cast<uint32_t>(prefix.size() + data.size());
    frames->resize(at + kFrameHeaderSize + length);
    uint8_t* p = frames->data() + at;
    Store<uint32_t>(p + 4, length);
    Store<int64_t>(p + 8, t);
    Store<uint32_t>(p + 16, static_cast<uint32_t>(kind) | (index << 8));
    if (!prefix.empty()) std::memcpy(p + kFrameHeaderSize, prefix.data(), prefix.size());
    if (!data.empty()) std::memcpy(p + kFrameHeaderSize + prefix.size(), data.data(), data.size());
    Store<uint32_t>(p, crc32c::Extend(seed, p + 4, kFrameHeaderSize - 4 + length));
    if (close->frame_count == 0) close->first_t = t;
    close->last_t = t;
    ++close->frame_count;
    close->payload_bytes += length;
    if (kind == FragmentKind::kFull || kind == FragmentKind::kLast) ++close->record_count;
    close->filled = frames->size();
  }

  // Writes one section at the current slab's next free page: compressed (`stored` given) or not.
  Status WriteSection(SectionOpen open, SectionClose close, std::span<const uint8_t> frames,
                      const std::vector<uint8_t>* compressed) {
    const std::span<const uint8_t> body = compressed != nullptr ? std::span<const uint8_t>(*compressed) : frames;
    open.size = RoundUp(kSectionHeaderSize + body.size(), page());
    close.filled = body.size();
    uint8_t header[kSectionHeaderSize] = {};
    EncodeSectionOpen(log_id, open, std::span<uint8_t, 32>(header, 32));
    EncodeSectionClose(log_id, close, std::span<uint8_t, kSectionHeaderSize>(header, kSectionHeaderSize));
    if (Status s = WriteAt(slab_pos, header, sizeof header); !s) return s;
    if (Status s = WriteAt(slab_pos + kSectionHeaderSize, body.data(), body.size()); !s) return s;
    slab_pos += open.size;
    return {};
  }

  // The appending thread: the stream's waiting frames become its next section, handed to the
  // placing thread (or placed at once without one).
  Status Flush(PendingSection& p) {
    if (p.empty()) return {};
    if (worker_failed.load(std::memory_order_acquire)) return WorkerError();
    SectionJob job;
    job.stream = p.stream;
    job.seq = p.seq;
    job.close = p.close;
    job.new_streams.assign(streams_defined.begin() + static_cast<std::ptrdiff_t>(streams_sent), streams_defined.end());
    streams_sent = streams_defined.size();
    buffered -= p.frames.size();
    job.frames = std::move(p.frames);
    p.frames = SpareBuffer();
    p.close = SectionClose{};
    ++p.seq;
    if (!worker.joinable()) {
      Status s = Place(job);
      Recycle(std::move(job.frames));
      if (!s) Failed(s);
      return s;
    }
    {
      std::unique_lock guard(mu);
      room.wait(guard, [&] { return queue.size() < kMaxQueuedSections; });
      queue.push_back(std::move(job));
    }
    queued.notify_one();
    return {};
  }

  std::vector<uint8_t> SpareBuffer() {
    std::lock_guard guard(mu);
    if (spare_buffers.empty()) return {};
    std::vector<uint8_t> b = std::move(spare_buffers.back());
    spare_buffers.pop_back();
    b.clear();
    return b;
  }
  void Recycle(std::vector<uint8_t> buffer) {
    std::lock_guard guard(mu);
    if (spare_buffers.size() < kMaxQueuedSections + 2) spare_buffers.push_back(std::move(buffer));
  }
  Status WorkerError() {
    std::lock_guard guard(mu);
    return failed;
  }
  // The first error of placing sections: every later call returns it.
  void Failed(const Status& s) {
    std::lock_guard guard(mu);
    if (failed.ok()) failed = s;
    worker_failed.store(true, std::memory_order_release);
  }

  void RunWorker() {
    for (;;) {
      SectionJob job;
      {
        std::unique_lock guard(mu);
        queued.wait(guard, [&] { return !queue.empty() || no_more_jobs; });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      room.notify_one();
      if (!worker_failed.load(std::memory_order_relaxed)) {
        if (Status s = Place(job); !s) Failed(s);
      }
      Recycle(std::move(job.frames));
    }
  }
  // Waits for the placing thread to finish every section handed over.
  void StopWorker() {
    if (!worker.joinable()) return;
    {
      std::lock_guard guard(mu);
      no_more_jobs = true;
    }
    queued.notify_all();
    worker.join();
  }

  // The placing thread: compresses the section (kept as it is when that saves no page) and lays
  // it out after the last one, in a new slab once this one holds about slab_bytes.
  Status Place(SectionJob& job) {
    catalog.insert(catalog.end(), job.new_streams.begin(), job.new_streams.end());
    SectionClose close = job.close;
    const uint64_t raw = job.frames.size();
    uint32_t raw_size = 0;
    if (!codec.Encode(job.frames, close.frame_count, options.level, &stored, &raw_size)) {
      return Error{Errc::kIo, base, 0, "zstd cannot compress a section (out of memory?)"};
    }
    // Sections take whole pages: compressed only when that takes fewer of them.
    const bool compress = RoundUp(kSectionHeaderSize + stored.size(), page()) < RoundUp(kSectionHeaderSize + raw, page());
    SectionOpen open{job.stream, job.seq, 0, compress ? kSectionFlagZstd : 0};
    if (compress) {
      close.raw_size = raw_size;
      close.data_crc = StoredDataCrc(SectionSeed(log_id, job.stream, job.seq), stored);
    }
    const uint64_t need = RoundUp(kSectionHeaderSize + (compress ? stored.size() : raw), page());
    // A section larger than slab_bytes gets a slab of its own. The catalog goes first in each slab.
    if (slab_has_data && slab_pos + need + page() > options.slab_bytes) {
      if (Status s = FinishSlab(false); !s) return s;
      ++slab_index;
      if (Status s = StartSlab(); !s) return s;
    }
    if (Status s = CatalogFirst(); !s) return s;
    if (Status s = WriteSection(open, close, job.frames, compress ? &stored : nullptr); !s) return s;
    slab_has_data = true;
    ++stats.sections;
    stats.compressed_sections += compress ? 1 : 0;
    stats.raw_bytes += raw;
    stats.stored_bytes += need;
    return {};
  }

  // Closes the current slab: its header (now that its size is known), and for the last one the
  // end marker; then syncs it.
  Status FinishSlab(bool last) {
    const uint64_t capacity = slab_pos + page();  // the last page is kept for the end marker
    uint64_t size = capacity;
    if (last) {
      uint8_t marker[kSectionHeaderSize] = {};
      const SectionOpen open{kEndStream, uint64_t{slab_index} + 1, kSectionHeaderSize};
      EncodeSectionOpen(log_id, open, std::span<uint8_t, 32>(marker, 32));
      EncodeSectionClose(log_id, SectionClose{}, std::span<uint8_t, kSectionHeaderSize>(marker, kSectionHeaderSize));
      if (Status s = WriteAt(slab_pos, marker, sizeof marker); !s) return s;
      size = slab_pos + kSectionHeaderSize;
    }
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return IoError(written.back(), size, "cannot size");
    SlabHeader h;
    h.flags = kSlabFlagCompressed;
    h.page_size = options.page_size;
    h.log_id = log_id;
    h.slab_index = slab_index;
    h.capacity = capacity;
    h.created_ns = WallClockNs();
    uint8_t header[kSlabHeaderSize];
    EncodeSlabHeader(h, std::span<uint8_t, kSlabHeaderSize>(header, kSlabHeaderSize));
    if (Status s = WriteAt(0, header, sizeof header); !s) return s;
    if (options.sync &&
        io_faults::Checked(io_faults::Op::kFdatasync, written.back(), [&] { return ::fdatasync(fd); }) != 0) {
      return IoError(written.back(), 0, "cannot sync");
    }
    ::close(fd);
    fd = -1;
    ++stats.slabs;
    return {};
  }
};

CompressedWriter::CompressedWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompressedWriter::~CompressedWriter() = default;
const CompressedWriter::Stats& CompressedWriter::stats() const { return impl_->stats; }

Result<std::unique_ptr<CompressedWriter>> CompressedWriter::Create(std::string base,
                                                                   const CompressedWriterOptions& options) {
  auto fail = [&](const std::string& m) { return Error{Errc::kInvalidArgument, base, 0, m}; };
  if (options.level < 1 || options.level > 19) return fail("zstd level must be 1 to 19");
  if (options.page_size < kMinPageSize || options.page_size > kMaxPageSize ||
      (options.page_size & (options.page_size - 1)) != 0) {
    return fail("page size must be a power of two from 4096 to 65536");
  }
  // Smaller sections would cost more in headers and padding than they save.
  if (options.section_bytes < options.page_size || options.section_bytes > kMaxCompressedSectionRaw / 2) {
    return fail("section size must be " + std::to_string(options.page_size) + " to " +
                std::to_string(kMaxCompressedSectionRaw / 2) + " bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->base = std::move(base);
  impl->options = options;
  auto lock = LogLock::Acquire(impl->base, "another writer (or a truncate)");
  if (!lock) return lock.error();
  impl->lock = std::move(*lock);
  // Checked now to refuse before any work, and again as the slabs are named (Close): nothing
  // of this log has a name meanwhile, so a log named like it or like one of its slabs can
  // still be made.
  if (Status s = CheckNewLogName(impl->base); !s) return s.error();
  auto id = RandomLogId();
  if (!id) return id.error();
  impl->log_id = *id;
  if (Status s = impl->StartSlab(); !s) return s.error();
  if (options.threads > 1) impl->worker = std::thread([w = impl.get()] { w->RunWorker(); });
  return std::unique_ptr<CompressedWriter>(new CompressedWriter(std::move(impl)));
}

Result<uint32_t> CompressedWriter::AddStream(const std::string& name, Encoding encoding, uint32_t type) {
  Impl& w = *impl_;
  if (w.closed) return Error{Errc::kInvalidArgument, w.base, 0, "the compressed log is closed"};
  if (w.worker_failed.load(std::memory_order_acquire)) return w.WorkerError().error();
  if (name.empty() || name.size() > 0xFFFF) {
    return Error{Errc::kInvalidArgument, w.base, 0, "a stream name must be 1 to 65535 bytes"};
  }
  for (const CatalogEntry& e : w.streams_defined) {
    if (e.name == name) return Error{Errc::kInvalidArgument, w.base, 0, "stream '" + name + "' is defined twice"};
  }
  const uint32_t id = static_cast<uint32_t>(w.streams_defined.size() + 1);
  w.streams_defined.push_back(CatalogEntry{id, encoding, type, name});
  w.streams.push_back(PendingSection{id, 0, {}, {}});
  return id;
}

Status CompressedWriter::Append(uint32_t stream, std::span<const uint8_t> payload, int64_t timestamp) {
  Impl& w = *impl_;
  // After Close the slabs are named and their descriptor is gone: a record would be dropped
  // silently (or fail on a file that no longer has that name).
  if (w.closed) return Error{Errc::kInvalidArgument, w.base, 0, "the compressed log is closed"};
  if (w.worker_failed.load(std::memory_order_acquire)) return w.WorkerError();
  if (stream == 0 || stream > w.streams.size()) {
    return Error{Errc::kInvalidArgument, w.base, 0, "no stream " + std::to_string(stream)};
  }
  if (payload.size() > kMaxRecordBytes) {
    return Error{Errc::kInvalidArgument, w.base, 0, "a record is at most 4294967295 bytes"};
  }
  PendingSection& p = w.streams[stream - 1];
  const uint64_t cap = w.options.section_bytes;
  auto add = [&](FragmentKind kind, uint32_t index, std::span<const uint8_t> data, std::span<const uint8_t> prefix) {
    const uint64_t before = p.frames.size();
    Impl::AddFrame(&p.frames, &p.close, SectionSeed(w.log_id, p.stream, p.seq), kind, index, timestamp, data, prefix);
    w.buffered += p.frames.size() - before;
  };
  const uint64_t whole = kFrameHeaderSize + payload.size();
  if (whole <= cap) {
    // A record that fits in an empty section is never split.
    if (p.frames.size() + whole > cap) {
      if (Status s = w.Flush(p); !s) return s;
    }
    add(FragmentKind::kFull, 0, payload, {});
  } else {
    // FIRST fills the rest of this section, each MIDDLE a whole one, and the LAST takes the rest.
    if (cap - p.frames.size() < kFrameHeaderSize + kFirstPrefixSize + 1) {
      if (Status s = w.Flush(p); !s) return s;
    }
    uint8_t prefix[kFirstPrefixSize];
    Store<uint64_t>(prefix, payload.size());
    size_t take = cap - p.frames.size() - kFrameHeaderSize - kFirstPrefixSize;
    add(FragmentKind::kFirst, 0, payload.first(take), prefix);
    size_t done = take;
    for (uint32_t index = 1; done < payload.size(); ++index) {
      if (Status s = w.Flush(p); !s) return s;
      const size_t left = payload.size() - done;
      take = std::min<size_t>(left, cap - kFrameHeaderSize);
      add(take == left ? FragmentKind::kLast : FragmentKind::kMiddle, index, payload.subspan(done, take), {});
      done += take;
    }
  }
  ++w.stats.records;
  w.stats.payload_bytes += payload.size();
  // Too much waiting: the fullest streams' sections go out early.
  while (w.buffered > w.options.max_buffered) {
    auto fullest = std::max_element(w.streams.begin(), w.streams.end(), [](const auto& a, const auto& b) {
      return a.frames.size() < b.frames.size();
    });
    if (Status s = w.Flush(*fullest); !s) return s;
  }
  return {};
}

Status CompressedWriter::Close() {
  Impl& w = *impl_;
  if (w.closed) return {};
  for (PendingSection& p : w.streams) {
    if (Status s = w.Flush(p); !s) return s;
  }
  w.StopWorker();
  if (w.worker_failed.load(std::memory_order_acquire)) return w.WorkerError();
  // From here on this thread places: the streams no section has brought yet join the catalog.
  w.catalog.insert(w.catalog.end(), w.streams_defined.begin() + static_cast<std::ptrdiff_t>(w.streams_sent),
                   w.streams_defined.end());
  w.streams_sent = w.streams_defined.size();
  auto finish = [&]() -> Status {
    if (Status s = w.CatalogFirst(); !s) return s;
    if (Status s = w.FinishSlab(true); !s) return s;
    // Named only now, in slab order, each one complete and synced; the name checked again, under
    // the lock every new log's name is made under (a Writer's slab 0, split and merge outputs).
    auto naming = NewLogLock::Acquire({w.base});
    if (!naming) return naming.error();
    if (Status s = CheckNewLogName(w.base); !s) return s;
    for (uint32_t i = 0; i < w.written.size(); ++i) {
      const std::string final_name = SlabPath(w.base, i);
      if (::renameat2(AT_FDCWD, w.written[i].c_str(), AT_FDCWD, final_name.c_str(), RENAME_NOREPLACE) != 0) {
        return Impl::IoError(final_name, 0, "cannot name");
      }
    }
    if (w.options.sync) return SyncDirectoryOf(SlabPath(w.base, 0));
    return {};
  };
  if (Status s = finish(); !s) {
    w.Failed(s);
    return s;
  }
  w.closed = true;
  w.lock.Release();
  return {};
}

}  // namespace slablog
