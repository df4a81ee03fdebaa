#include "slablog/writer.h"

#include <algorithm>
#include <mutex>

#include "mapped_file.h"
#include "slablog/new_log_lock.h"
#include "stream_state.h"
#include "writer_impl.h"

namespace slablog {

using detail::StreamState;

uint32_t StreamHandle::id() const { return state_->entry.stream_id; }

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Writer::~Writer() {
  if (impl_) (void)Close();
}

const LogId& Writer::log_id() const { return impl_->log_id; }
uint32_t Writer::slab_count() const { return impl_->slabs_begun.load(std::memory_order_acquire); }
uint64_t Writer::page_size() const { return impl_->page_size; }

Result<std::unique_ptr<Writer>> Writer::Open(std::string base, const WriterOptions& options) {
  if (options.section_size > kMaxSectionBytes) {
    return Error{Errc::kInvalidArgument, base, 0,
                 "section size " + std::to_string(options.section_size) +
                     " exceeds the format's limit of " + std::to_string(kMaxSectionBytes) +
                     " bytes (4 GiB)"};
  }
  // Past this a slab's size is no file size (off_t), and rounding it up to a page would wrap.
  constexpr uint64_t kMaxSlabBytes = uint64_t{1} << 62;
  if (options.slab_size > kMaxSlabBytes) {
    return Error{Errc::kInvalidArgument, base, 0,
                 "slab size " + std::to_string(options.slab_size) + " exceeds the limit of " +
                     std::to_string(kMaxSlabBytes) + " bytes"};
  }
  if (options.ring_slabs == 1) {
    return Error{Errc::kInvalidArgument, base, 0, "a ring needs at least 2 slabs"};
  }
  if (options.ring_slabs != 0 && options.max_slabs != 0) {
    return Error{Errc::kInvalidArgument, base, 0, "a ring (ring_slabs) has no max_slabs: it reuses its slabs instead"};
  }
  auto impl = std::make_unique<Impl>();
  impl->base = std::move(base);
  impl->options = options;
  // First: a second writer (or a truncate at work) must find the log as it was.
  auto lock = LogLock::Acquire(impl->base, "another writer (or a truncate)");
  if (!lock) return lock.error();
  impl->log_lock = std::move(lock.value());
  if (!options.recycle.empty()) {
    auto recycler = SlabRecycler::Open(options.recycle, impl->base);
    if (!recycler) return recycler.error();
    impl->recycler = std::move(recycler.value());
  }
  // A new log's name is checked and its slab 0 made under the directory's NewLogLock: a writer
  // making run_1.slog (or run.slog) at the same instant would otherwise pass its own check too.
  NewLogLock naming;
  if (!options.append) {
    auto locked = NewLogLock::Acquire({impl->base});
    if (!locked) return locked.error();
    naming = std::move(locked.value());
  }
  Status s = options.append ? impl->Resume() : impl->Create();
  naming.Release();
  if (!s) return s.error();
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

Result<StreamHandle> Writer::OpenStream(const StreamOptions& options) {
  Impl& w = *impl_;
  if (options.name.empty() || options.name.size() > 0xFFFF) {
    return Error{Errc::kInvalidArgument, w.base, 0,
                 "stream name must be 1 to 65535 bytes, got " + std::to_string(options.name.size())};
  }
  std::lock_guard lock(w.mu);
  if (w.closed.load()) return Error{Errc::kInvalidArgument, w.base, 0, "log is closed"};
  if (auto it = w.by_name.find(options.name); it != w.by_name.end()) {
    StreamState* s = it->second;
    if (s->entry.encoding != options.encoding || s->entry.type != options.type) {
      return Error{Errc::kInvalidArgument, w.base, 0,
                   "stream '" + options.name + "' exists with encoding " +
                       EncodingName(s->entry.encoding) + " and type " +
                       std::to_string(s->entry.type)};
    }
    return StreamHandle(s);
  }
  if (w.next_stream_id == kEndStream) {
    return Error{Errc::kInvalidArgument, w.base, 0, "too many streams"};
  }
  auto state = std::make_unique<StreamState>();
  state->entry = CatalogEntry{w.next_stream_id, options.encoding, options.type, options.name};
  // The catalog entry is written before the stream's first section is allocated, so a reader
  // walking the log in order always learns a stream's name before its first record.
  if (Status st = w.AppendCatalogLocked(state->entry); !st) return st.error();
  ++w.next_stream_id;
  StreamState* raw = state.get();
  w.by_name.emplace(options.name, raw);
  w.streams.push_back(std::move(state));
  return StreamHandle(raw);
}

Status Writer::Append(StreamHandle stream, std::span<const uint8_t> payload, int64_t timestamp) {
  StreamState& s = *stream.state_;
  // No section is larger than kMaxSectionBytes, so a payload that passes this one compare fits a
  // frame's u32 length; every other goes to AppendRecord, which refuses what is too large.
  if (s.room() >= kFrameHeaderSize + payload.size() && !s.roll_requested.load(std::memory_order_relaxed)) [[likely]] {
    s.WriteFrame(FragmentKind::kFull, payload, timestamp);
    return Status();
  }
  return AppendSlow(s, payload, timestamp);
}

Status Writer::AppendSlow(StreamState& s, std::span<const uint8_t> payload, int64_t timestamp) {
  if (impl_->closed.load(std::memory_order_acquire)) {
    return Error{Errc::kInvalidArgument, impl_->base, 0, "log is closed"};
  }
  return impl_->AppendRecord(s, payload, timestamp, /*locked=*/false);
}

Status Writer::Sync() {
  Impl& w = *impl_;
  std::unique_lock sync_lock(w.sync_mu);
  const uint64_t ticket = ++w.sync_requested;
  bool served = false;
  while (!served && !w.sync_closed) {
    if (w.flushing) {
      // The flush running may have begun before this call's appends: the next one serves it.
      w.sync_cv.wait(sync_lock);
    } else {
      w.flushing = true;
      const uint64_t covers = w.sync_requested;
      {
        // Marked done however Flush ends (were its allocations to fail): a flush left marked
        // running would stall every later Sync and Close.
        struct Done {
          Impl& w;
          std::unique_lock<std::mutex>& lock;
          uint64_t served = 0;  // the tickets the flush served, once it has returned
          ~Done() {
            lock.lock();
            w.flushing = false;
            w.sync_served = std::max(w.sync_served, served);
            w.sync_cv.notify_all();
          }
        } done{w, sync_lock};
        sync_lock.unlock();
        (void)w.Flush();
        done.served = covers;
      }
    }
    served = w.sync_served >= ticket;
  }
  if (served) {
    sync_lock.unlock();
    std::lock_guard lock(w.mu);
    return w.io_error;
  }
  // Close() began first: its own sync serves this call, so its outcome is awaited, not assumed.
  w.sync_cv.wait(sync_lock, [&] { return w.close_done; });
  sync_lock.unlock();
  std::lock_guard lock(w.mu);
  if (w.close_result.ok() && w.options.sync == SyncPolicy::kManual) {
    return Error{Errc::kInvalidArgument, w.base, 0, "log is closed (and Close() does not sync under kManual)"};
  }
  return w.close_result;
}

Status Writer::Close() {
  Impl& w = *impl_;
  {
    // No flush is running once this returns, and none starts: Close closes the files.
    std::unique_lock sync_lock(w.sync_mu);
    w.sync_cv.wait(sync_lock, [&] { return !w.flushing; });
    w.sync_closed = true;
    w.sync_cv.notify_all();
  }
  Status result;
  {
    std::lock_guard lock(w.mu);
    result = w.CloseLocked();
  }
  {
    std::lock_guard sync_lock(w.sync_mu);
    w.close_done = true;
  }
  w.sync_cv.notify_all();
  return result;
}

}  // namespace slablog
