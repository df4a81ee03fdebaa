#include "writer_impl.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace slablog {

using detail::StreamState;

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

namespace {

// Stores the `n` encoded bytes of a header, which begin with its `magic` bytes, at `at` in a map
// readers share, the magic last: a reader of the live log sees zeros where the magic goes (no
// header yet) until the header is whole, never a header that fails its CRC.
void StoreMagicLast(uint8_t* at, const uint8_t* encoded, size_t n, size_t magic) {
  std::memcpy(at + magic, encoded + magic, n - magic);
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(at, encoded, magic);
}

}  // namespace

void PublishHeader(uint8_t* at, const LogId& id, const SectionOpen& open, const SectionClose* close) {
  uint8_t header[kSectionHeaderSize] = {};
  EncodeSectionOpen(id, open, std::span<uint8_t, 32>(header, 32));
  if (close != nullptr) EncodeSectionClose(id, *close, std::span<uint8_t, kSectionHeaderSize>(header));
  StoreMagicLast(at, header, kSectionHeaderSize, kSectionMagic.size());
}

void PublishSlabHeader(uint8_t* at, const SlabHeader& h) {
  uint8_t header[kSlabHeaderSize];
  EncodeSlabHeader(h, std::span<uint8_t, kSlabHeaderSize>(header));
  StoreMagicLast(at, header, kSlabHeaderSize, kSlabMagic.size());
}

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<LogId> RandomLogId() {
  LogId id;
  size_t got = 0;
  while (got < id.size()) {
    const ssize_t n = getrandom(id.data() + got, id.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{Errc::kIo, "", 0, std::string("cannot get random bytes for the log id: ") + std::strerror(errno)};
    got += static_cast<size_t>(n);
  }
  return id;
}

namespace {

// A slab holds its header page, a catalog page, at least one data page, and its last page is kept
// free for the end marker.
constexpr uint64_t kMinSlabPages = 4;

// How far past the newest section the prefaulter prepares pages.
constexpr uint64_t kPrefaultAhead = uint64_t{16} << 20;

}  // namespace

Writer::Impl::~Impl() {
  if (dir_fd >= 0) ::close(dir_fd);
}

Status Writer::Impl::OpenDirectory() {
  const std::string dir = DirectoryOf(base);
  dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return IoError(dir, "cannot open the log's directory", errno);
  return Status();
}

Prefaulter::Access Writer::Impl::PrefaultAccess() const {
  // Pages faulted in for writing are dirty: a sync would write them, zeros and all.
  return options.sync_often ? Prefaulter::Access::kRead : Prefaulter::Access::kWrite;
}

uint64_t SystemPageSize() {
  return std::max<uint64_t>(kMinPageSize, static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
}

uint64_t DefaultSectionSize(uint64_t slab_size, uint64_t page_size) {
  // A 32nd: a small slab still holds sections of many streams at once (an eighth left a ring of
  // 64K slabs with 20 streams keeping a few records per slab); from 32M slabs on, 1M as before.
  return std::min(uint64_t{1} << 20, std::max(page_size, slab_size / 32 / page_size * page_size));
}

uint64_t SectionSizeOf(uint64_t wanted, uint64_t slab, uint64_t page) {
  return wanted == 0 ? DefaultSectionSize(slab, page) : RoundUp(wanted, page);
}

bool SectionFitsSlab(uint64_t section, uint64_t slab, uint64_t page) {
  return slab >= section + 3 * page && slab >= kMinSlabPages * page;
}

namespace {

// A new log's sizes as it will be written, or why they cannot work together.
Result<LogSizes> NewLogSizes(const WriterOptions& options) {
  LogSizes sizes;
  sizes.page = SystemPageSize();
  sizes.slab = RoundUp(std::max<uint64_t>(options.slab_size, 1), sizes.page);
  sizes.section = SectionSizeOf(options.section_size, sizes.slab, sizes.page);
  if (!SectionFitsSlab(sizes.section, sizes.slab, sizes.page)) {
    return Error{Errc::kInvalidArgument, "", 0,
                 "slab size " + std::to_string(sizes.slab) + " is too small for section size " +
                     std::to_string(sizes.section) + " (needs at least section size + " +
                     std::to_string(3 * sizes.page) + ")"};
  }
  return sizes;
}

}  // namespace

Status CheckLogSizes(const WriterOptions& options) {
  auto sizes = NewLogSizes(options);
  if (!sizes) return sizes.error();
  return Status();
}

Status Writer::Impl::Create() {
  auto sizes = NewLogSizes(options);
  if (!sizes) {
    Error e = sizes.error();
    e.file = base;
    return e;
  }
  // Under the log's lock, however long ago a caller checked: a ring made meanwhile (its slab 0
  // reused, so no slab 0 to collide with) must not get a second log's slab 0.
  if (Status st = CheckNewLogName(base); !st) return st;
  if (Status st = OpenDirectory(); !st) return st;
  page_size = sizes.value().page;
  section_size = sizes.value().section;
  slab_capacity = sizes.value().slab;
  if (options.log_id) {
    log_id = *options.log_id;
  } else {
    auto id = RandomLogId();
    if (!id) return id.error();
    log_id = id.value();
  }
  if (options.background_prefault) prefaulter = Prefaulter::Start(PrefaultAccess());
  catalog.entry.stream_id = kCatalogStream;
  return NewSlabLocked();
}

Status Writer::Impl::NewSlabLocked() {
  const uint32_t index = first_slab + static_cast<uint32_t>(slabs.size());
  auto file = SlabFileLocked(SlabPath(base, index));
  if (!file) {
    // Sizing or allocating the file failed (or another I/O step of making it): sticky as well.
    if (file.error().code == Errc::kIo) return NoteIo(file.error());
    return file.error();
  }
  if (options.sync_often) file.value()->PreferSmallWrites();
  if (file.value()->reused()) {
    // Where readers look before any section is there, from the moment the slab has its name:
    // the header page, the first section's header (the page after), and the last page, which no
    // section takes (the end marker's). Each section zeroes where readers look in it as it is
    // handed out (RollSectionLocked).
    // A reader of a live ring checks the header after it copies a record (GuardLiveRing): the
    // zeroed header must be seen before any other store to the file, the zeros after it
    // included (one memset of both pages would let a reader see the first section's zeros
    // under the old header, and report records of the old slab as damaged).
    file.value()->Zero(0, page_size);
    std::atomic_thread_fence(std::memory_order_release);
    file.value()->Zero(page_size, page_size);
    file.value()->Zero(slab_capacity - page_size, page_size);
  }
  SlabHeader header;
  header.flags = options.ring_slabs != 0 ? kSlabFlagRing : 0;
  header.page_size = static_cast<uint32_t>(page_size);
  header.log_id = log_id;
  header.slab_index = index;
  header.capacity = slab_capacity;
  header.created_ns = options.created_ns.value_or(WallClockNs());
  PublishSlabHeader(file.value()->data(), header);
  if (options.ring_slabs != 0) {
    // A ring's slab names are durable one after another (its header first): a reader then takes
    // any slab missing before a ring slab for one the ring reused, never for one a power cut
    // lost, and a slab never appears under its name with a header that is not its own. Only the
    // header's page: a sync of the whole reused file would write back its older slab's dirty
    // pages, and appends into them would wait for the disk (64 KiB appends into a wrapped ring
    // ran at 2.0 GB/s so). The directory is synced once per slab, before the slab is named: that
    // makes the slab before it durably named (a reused file's sync, in RecycleOwnSlabLocked,
    // is that one). The newest slab's name waits for the next slab, Sync() or Close().
    if (Status st = file.value()->SyncRange(0, kSlabHeaderSize); !st) return NoteIo(st);
    if (!file.value()->reused()) {
      if (Status st = SyncDirectoryOf(file.value()->path()); !st) return NoteIo(st);
    }
  }
  if (Status st = file.value()->Publish(); !st) return st;
  slabs.push_back(Slab{std::move(file.value()), page_size, 0, false, false, header.flags, {}});
  slabs_begun.store(index + 1, std::memory_order_release);
  dir_dirty = true;
  if (slabs.size() >= 2) RetireIfDoneLocked(slabs.size() - 2);

  // Every slab starts with the whole catalog, so that one slab can be read on its own.
  uint64_t snapshot = kSectionHeaderSize;
  std::vector<std::string> encoded;
  for (const auto& s : streams) {
    encoded.emplace_back();
    EncodeCatalogEntry(s->entry, &encoded.back());
    snapshot += kFrameHeaderSize + encoded.back().size();
  }
  // A ring's slab also says where each stream stands: sections a power cut takes from it then
  // read as lost, not as sections the ring reused (which are all numbered below these).
  if ((header.flags & kSlabFlagRing) != 0) {
    std::vector<StreamPosition>& moved = slabs.back().moved_on;
    for (const auto& s : streams) {
      const StreamPosition p{s->entry.stream_id, s->next_seq, std::nullopt};
      encoded.emplace_back();
      EncodeStreamPosition(p, &encoded.back());
      snapshot += kFrameHeaderSize + encoded.back().size();
      // Kept only for what AddKeptSlabsPositionsLocked repeats (never with one appender).
      if (s->next_seq != s->next_seq_at_slab && !options.one_appender) moved.push_back(p);
      s->next_seq_at_slab = s->next_seq;
    }
    AddKeptSlabsPositionsLocked(&encoded, &snapshot);
  }
  if (Status st = RollSectionLocked(catalog, RoundUp(snapshot, page_size), false); !st) return st;
  for (const std::string& e : encoded) {
    catalog.WriteFrame(FragmentKind::kFull,
                       {reinterpret_cast<const uint8_t*>(e.data()), e.size()}, 0);
  }
  return Status();
}

// A slab an idle stream's open section holds is kept while the ring reuses the slabs after it:
// a reader then finds a gap after it, and takes the streams' sections missing there for reused
// ones. Those a power cut took from the end of the kept slab are told apart by where each stream
// stood when the next slab began: that slab's own position records may be gone with it, so each
// new slab repeats them while the slab before it holds an open section (and so may be kept past
// its reuse). Only for streams that began sections in the kept slab (for the others, the kept
// slab's own records say the same, and readers use those), and only into half the room the
// snapshot's last page leaves: the catalog section never takes more of the slab than it would
// without them (what slabs are sized for), and streams opened while the slab is the newest
// still find room for their entries there. Past that, such a loss reads as reuse. With one
// appender the ring closes a stream's section before it reuses the slab: none is kept.
void Writer::Impl::AddKeptSlabsPositionsLocked(std::vector<std::string>* encoded, uint64_t* snapshot) {
  if (options.one_appender || slabs.size() < 3) return;  // (the new slab is the last)
  const uint64_t room_end = *snapshot + (RoundUp(*snapshot, page_size) - *snapshot) / 2;
  // Newest kept slab first: the gap after it is the one a reader meets next; older ones have
  // had slabs after their gaps repeat them already.
  for (size_t kept = slabs.size() - 2; kept-- > ring_oldest;) {
    if (slabs[kept].recycled || slabs[kept].open_sections == 0) continue;
    for (StreamPosition p : slabs[kept + 1].moved_on) {
      if (*snapshot + kFrameHeaderSize + kSlabStartPositionSize > room_end) return;
      p.slab_index = first_slab + static_cast<uint32_t>(kept + 1);
      encoded->emplace_back();
      EncodeStreamPosition(p, &encoded->back());
      *snapshot += kFrameHeaderSize + kSlabStartPositionSize;
    }
  }
}

// A slab's moved_on serves while the slab before it is in the ring.
void Writer::Impl::ForgetMovedOnLocked(size_t recycled) {
  if (recycled + 1 < slabs.size()) std::vector<StreamPosition>().swap(slabs[recycled + 1].moved_on);
}

uint64_t Writer::Impl::RingSlabsAvailableLocked(const StreamState& s) const {
  uint64_t n = ring_older.size() + (options.ring_slabs > live_slabs() ? options.ring_slabs - live_slabs() : 0);
  for (size_t i = ring_oldest; i + 1 < slabs.size(); ++i) {
    // (The appending stream's own section is closed before a slab is needed; with one appender,
    // the ring closes the others' itself.)
    const uint32_t own = s.section != nullptr && s.slab == i ? 1 : 0;
    if (!slabs[i].recycled && (options.one_appender || slabs[i].open_sections == own)) ++n;
  }
  return n;
}

uint32_t Writer::Impl::live_slabs() const {
  return static_cast<uint32_t>(ring_older.size() + slabs.size() - ring_recycled);
}

Result<std::unique_ptr<WritableSlab>> Writer::Impl::RecycleOwnSlabLocked(const std::string& path) {
  if (options.ring_slabs == 0 || live_slabs() < options.ring_slabs) return std::unique_ptr<WritableSlab>();
  std::string old;
  if (!ring_older.empty()) {
    old = SlabPath(base, ring_older.front());
    ring_older.pop_front();
  } else {
    // The oldest slab no open section holds. A stream whose section holds an older one has not
    // appended for a whole wrap: it is asked to move on to a new section at its next append (its
    // appending thread owns the section; only it may close it), which frees that slab.
    while (ring_oldest < slabs.size() && slabs[ring_oldest].recycled) ++ring_oldest;
    size_t pick = slabs.size();
    // Never a slab that holds a fragment of the record being written (fragments_from on).
    const size_t limit = std::min(slabs.size() - 1, fragments_from);
    for (size_t i = ring_oldest; i < limit; ++i) {
      if (slabs[i].recycled) continue;
      for (auto& s : streams) {
        if (s->section == nullptr || s->slab != i) continue;
        if (options.one_appender) {
          CloseSectionLocked(*s);  // no append is running: this thread is the only appender
        } else {
          s->roll_requested.store(true, std::memory_order_relaxed);
        }
      }
      if (slabs[i].open_sections == 0 && slabs[i].retired) {
        pick = i;
        break;
      }
    }
    if (pick == slabs.size()) {
      return Error{Errc::kFull, base, 0,
                   "ring is full: each of its older slabs holds a section of a stream that has not appended "
                   "since (they move on at their next append)"};
    }
    Slab& slab = slabs[pick];
    slab.recycled = true;
    ForgetMovedOnLocked(pick);
    ++ring_recycled;
    // Its descriptor (and the writer's lock on it) goes now: the file is locked again as the new
    // slab. A flush holding it meanwhile only syncs it.
    std::erase(retired_open, pick);
    std::erase(ring_open, pick);
    slab.file.reset();
    old = SlabPath(base, first_slab + static_cast<uint32_t>(pick));
  }
  const int fd = ::open(old.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return IoError(old, "cannot reuse the ring's oldest slab", errno);
  // Readers see a writer at work in any slab it holds. (They take the lock shared only for a
  // moment, to test it: waited for.)
  (void)flock(fd, LOCK_EX);
  auto adopted = WritableSlab::Adopt(fd, old, path, slab_capacity);
  if (!adopted) return adopted;
  // The old slab leaves the log for good before any of its bytes change: a power cut from here
  // on leaves its records all gone, never some of them under a name of the log.
  if (Status st = SyncDirectoryOf(path); !st) return NoteIo(st);
  return adopted;
}

Result<std::unique_ptr<WritableSlab>> Writer::Impl::SlabFileLocked(const std::string& path) {
  {
    auto own = RecycleOwnSlabLocked(path);
    if (!own || own.value() != nullptr) return own;
  }
  if (recycler != nullptr) {
    auto reused = recycler->Take(path, slab_capacity, log_id);
    if (!reused || reused.value() != nullptr) return reused;
  }
  return WritableSlab::Create(path, slab_capacity);
}

void Writer::Impl::CloseSectionLocked(StreamState& s) {
  if (s.section == nullptr) return;
  s.totals.filled = static_cast<uint64_t>(s.pos - s.section) - kSectionHeaderSize;
  uint8_t header[kSectionHeaderSize];
  std::memcpy(header, s.section, kSectionHeaderSize);
  EncodeSectionClose(SlabKey(s.slab), s.totals, std::span<uint8_t, kSectionHeaderSize>(header));
  // The close block goes in with its CRC last: torn, it reads as absent and the section as open,
  // whose frames a reader still recovers one by one.
  std::memcpy(s.section + 36, header + 36, kSectionHeaderSize - 36);
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(s.section + 32, header + 32, 4);
  s.section = s.pos = s.end = s.zeroed = nullptr;
  Slab& slab = slabs[s.slab];
  --slab.open_sections;
  RetireIfDoneLocked(s.slab);
}

void Writer::Impl::RetireIfDoneLocked(size_t index) {
  Slab& slab = slabs[index];
  if (slab.retired || slab.open_sections != 0 || index + 1 == slabs.size()) return;
  if (prefaulter != nullptr) {
    prefaulter->Forget(slab.file->data(), slab.file->data() + slab_capacity);
    uint8_t* mapping = slab.file->HandOverMapping();
    prefaulter->Unmap(mapping, mapping + slab_capacity);
  } else {
    slab.file->Unmap();
  }
  slab.retired = true;
  // A ring keeps the descriptors of its newest kMaxRetiredOpen slabs, and with them the writer's
  // lock, until it reuses the file: a reader that lists the ring finds a writer at work in its
  // newest slabs (the first slab, locked for the writer's life elsewhere, is reused too). The
  // older ones are let go, so that a ring of thousands of slabs needs no more descriptors.
  if (options.ring_slabs != 0) {
    ring_open.push_back(index);
    if (ring_open.size() > kMaxRetiredOpen) {
      const size_t old = ring_open.front();
      ring_open.pop_front();
      if (!slabs[old].recycled) slabs[old].file.reset();
    }
  } else if (index != 0) {
    retired_open.push_back(index);
  }
  if (options.sync == SyncPolicy::kEverySlab) {
    // The slab's name too, if it (or a slab since) was named after the last directory sync: else
    // a power cut may keep its bytes and lose the file. A failure is not lost: it fails the next
    // Sync() or Close() (io_error).
    (void)NoteIo(slab.file->Sync());
    if (dir_dirty) {
      (void)NoteIo(SyncDirectoryOf(slab.file->path()));
      dir_dirty = false;
    }
  }
  // A retired slab keeps its descriptor until a sync has its bytes on disk: a descriptor opened
  // later need not see an error of the writeback (PostgreSQL's fsync lesson). With no Sync() for
  // long (--sync close), that would be a descriptor per slab until the process has none left:
  // past kMaxRetiredOpen, the retired slabs are let go unsynced (no policy but kEverySlab syncs
  // while appending), and the next flush syncs the file system instead, whose error reporting
  // reaches files already closed (SyncFileSystem). The first slab keeps its descriptor: its lock
  // tells readers, all the writer's life, that the log is being written.
  if (retired_open.size() > kMaxRetiredOpen) {
    for (const size_t i : retired_open) slabs[i].file.reset();
    retired_open.clear();
    if (options.sync != SyncPolicy::kEverySlab) closed_unsynced = true;
  }
}

Status Writer::Impl::RollSectionLocked(StreamState& s, uint64_t min_bytes, bool allow_new_slab) {
  CloseSectionLocked(s);
  min_bytes = std::max(min_bytes, page_size);
  // The slab's last page stays free for the end marker.
  auto room = [&] { return slab_capacity - page_size - current().pos; };
  // Every slab begins with the catalog of every stream: slabs that hold a few streams' may be
  // too small for the catalog of many and a section. Errc::kFull, as for a log at max_slabs: the
  // sizes ran out for this input, the records before are whole and the log closes cleanly.
  auto too_small = [&] {
    return Error{Errc::kFull, base, 0,
                 "slab size " + std::to_string(slab_capacity) + " cannot hold the catalog of " +
                     std::to_string(streams.size()) + " streams and a section of " + std::to_string(min_bytes) +
                     " bytes: the slabs are too small for this many streams"};
  };
  if (room() < min_bytes) {
    if (!allow_new_slab) return too_small();
    if (Status st = NewSlabLocked(); !st) return st;
    // Rolling the catalog: the new slab's snapshot gave it a section, which it goes on in (the
    // caller checks its room). Another one opened over it would leave it open for good.
    if (s.section != nullptr) return Status();
    if (room() < min_bytes) return too_small();
  }
  const uint64_t size = SectionSizeFor(s, min_bytes, room());
  Slab& slab = current();
  uint8_t* p = slab.file->data() + slab.pos;
  uint8_t* limit = slab.file->data() + slab_capacity - page_size;
  // The section's pages are faulted in before its header is published, with the page after it,
  // where the next section's header goes (unless the prefaulter did it); only mapped, not
  // dirtied, for a writer that syncs often (WritableSlab::PreferSmallWrites). In a reused file, the
  // places readers look are zeroed first, so that they find zeros there as in a new file, not the
  // retired log's bytes: this section's first frame header and the next section's header. Each
  // frame then zeroes the header after it (StreamState::ZeroFrameHeaderAt).
  const uint64_t ready = static_cast<uint64_t>(std::min(limit, p + size + page_size) - p);
  if (prefaulter == nullptr || !prefaulter->Covers(p, p + ready)) slab.file->Prefault(slab.pos, ready);
  s.section = p;
  s.pos = p + kSectionHeaderSize;
  s.end = p + size;
  s.zeroed = slab.file->reused() ? s.pos : s.end;
  if (slab.file->reused()) {
    s.ZeroFrameHeaderAt(s.pos, detail::kZeroAhead);
    if (p + size < limit) slab.file->Zero(slab.pos + size, kSectionHeaderSize);
  }
  s.seq = s.next_seq++;
  s.slab = slabs.size() - 1;
  PublishHeader(p, SlabKey(s.slab), SectionOpen{s.entry.stream_id, s.seq, size}, nullptr);
  if (prefaulter != nullptr) prefaulter->Request(p + size, std::min(limit, p + size + kPrefaultAhead));
  s.seed = SectionSeed(SlabKey(s.slab), s.entry.stream_id, s.seq);
  s.totals = SectionClose{};
  slab.pos += size;
  ++slab.open_sections;
  return Status();
}

uint64_t Writer::Impl::SectionSizeFor(const StreamState& s, uint64_t min_bytes, uint64_t slab_room) const {
  // A slab's tail smaller than a full section still becomes one, rather than going to waste.
  // Catalog sections are small: entries are few and written rarely. No frame outgrows its u32
  // length: section_size is at most kMaxSectionBytes (Writer::Open), min_bytes above it only for
  // a slab's catalog snapshot, whose frames are one entry each.
  const uint64_t preferred = s.entry.stream_id == kCatalogStream ? page_size : section_size;
  return std::min(std::max(preferred, min_bytes), slab_room);
}

namespace {

// A sliver at the end of a section is not worth a frame header: a fragment that would carry
// fewer than this many payload bytes (and is not the record's last) goes to the next section.
constexpr uint64_t kMinFragmentPayload = 256;

// A fragment's bytes besides its payload: the frame header, and a FIRST's record length.
uint64_t FragmentOverhead(bool first) { return kFrameHeaderSize + (first ? kFirstPrefixSize : 0); }

bool NextFragmentNeedsSection(uint64_t room, uint64_t payload_left, bool first) {
  return room < FragmentOverhead(first) + std::min(payload_left, kMinFragmentPayload);
}

}  // namespace

bool Writer::Impl::FitsInSlabLocked(const StreamState& s, uint64_t payload) const {
  // AppendRecord's layout, played out on sizes only (with RollSectionLocked's sizing); the slab's
  // last page is kept for the end marker.
  uint64_t slab_room = slab_capacity - page_size - slabs.back().pos;
  const uint64_t need = kFrameHeaderSize + payload;
  if (kSectionHeaderSize + need <= section_size) {
    return slab_room >= std::max(RoundUp(kSectionHeaderSize + need, page_size), page_size);
  }
  uint64_t room = s.room();
  bool first = true;
  while (payload > 0 || first) {
    if (NextFragmentNeedsSection(room, payload, first)) {
      if (slab_room < page_size) return false;
      const uint64_t size = SectionSizeFor(s, page_size, slab_room);
      slab_room -= size;
      room = size - kSectionHeaderSize;
    }
    const uint64_t overhead = first && payload + kFrameHeaderSize <= room ? kFrameHeaderSize
                                                                          : FragmentOverhead(first);
    const uint64_t n = std::min(payload, room - overhead);
    payload -= n;
    room -= overhead + n;
    first = false;
  }
  return true;
}

Status Writer::Impl::AppendRecord(StreamState& s, std::span<const uint8_t> payload,
                                  int64_t timestamp, bool locked) {
  if (payload.size() > kMaxRecordBytes) {
    return Fail("record of " + std::to_string(payload.size()) +
                " bytes exceeds the format's limit of " + std::to_string(kMaxRecordBytes) +
                " bytes (4 GiB - 1)");
  }
  std::unique_lock lock(mu, std::defer_lock);
  if (!locked) lock.lock();
  if (closed.load()) return Fail("log is closed");
  const uint64_t need = kFrameHeaderSize + payload.size();
  if (options.ring_slabs != 0 && payload.size() > RingRecordLimit()) {
    return Fail("record of " + std::to_string(payload.size()) + " bytes is too large for a ring of " +
                std::to_string(options.ring_slabs) + " slabs of " + std::to_string(slab_capacity) +
                " bytes (at most " + std::to_string(RingRecordLimit()) + ")");
  }
  // A ring asked the stream to leave the section it holds in an old slab (RecycleOwnSlabLocked).
  const bool move_on = s.roll_requested.exchange(false, std::memory_order_relaxed) && s.section != nullptr;
  if (!move_on && s.room() >= need) {
    s.WriteFrame(FragmentKind::kFull, payload, timestamp);
    return Status();
  }
  if (options.max_slabs != 0 && first_slab + slabs.size() >= options.max_slabs &&
      !FitsInSlabLocked(s, payload.size())) {
    return Error{Errc::kFull, base, 0,
                 "log is full: a record of " + std::to_string(payload.size()) +
                     " bytes does not fit in its " + std::to_string(options.max_slabs) + " slab" +
                     (options.max_slabs == 1 ? "" : "s") + " of " + std::to_string(slab_capacity) +
                     " bytes"};
  }
  // A record that fits in a fresh section starts one instead of being split: readers then get
  // it without a copy.
  if (kSectionHeaderSize + need <= section_size) {
    if (Status st = RollSectionLocked(s, RoundUp(kSectionHeaderSize + need, page_size), true); !st) {
      return st;
    }
    // The catalog, rolled into a new slab, goes on in the section its snapshot filled: the entry
    // may not fit there, and written anyway it would run past the section's end.
    if (s.room() < need) {
      if (Status st = RollSectionLocked(s, RoundUp(kSectionHeaderSize + need, page_size), true); !st) return st;
      // A catalog whose snapshot leaves a new slab no room for the entry (huge names, tiny slabs).
      if (s.room() < need) {
        return Fail("slab size " + std::to_string(slab_capacity) + " cannot hold a catalog entry of " +
                    std::to_string(payload.size()) + " bytes after the catalog's snapshot");
      }
    }
    s.WriteFrame(FragmentKind::kFull, payload, timestamp);
    return Status();
  }
  // Larger than a section: FIRST (with the record's length), MIDDLE..., LAST across as many
  // consecutive sections as it takes, each numbered. A FIRST or MIDDLE fills its section to the
  // end, so a reader knows nothing of this stream can follow it there.
  const uint64_t record_length = payload.size();
  uint32_t index = 0;
  if (options.ring_slabs != 0) {
    // Nothing is written unless the ring can take the whole record: enough slabs it may reuse
    // (or make) for its fragments, none of which it then reuses before the record is whole.
    // What fragments take of a slab: its sections but for their headers (the least a new slab
    // holds: all but its header, catalog and last pages). Counted low, the check errs on refusing.
    const uint64_t per_section = section_size - kSectionHeaderSize - kFrameHeaderSize;
    const uint64_t usable = std::max<uint64_t>(1, (slab_capacity - 4 * page_size) / section_size * per_section);
    const uint64_t left = slab_capacity - page_size - current().pos;
    const uint64_t in_current = left / section_size * per_section;
    const uint64_t bytes = payload.size() + kFirstPrefixSize;
    const uint64_t slabs_needed = bytes > in_current ? (bytes - in_current + usable - 1) / usable : 0;
    if (RingSlabsAvailableLocked(s) < slabs_needed) {
      // The streams holding older slabs are asked to move on, so that a later try may succeed.
      for (auto& other : streams) {
        if (other.get() != &s && other->section != nullptr && other->slab + 1 < slabs.size()) {
          other->roll_requested.store(true, std::memory_order_relaxed);
        }
      }
      return Error{Errc::kFull, base, 0,
                   "ring is full: a record of " + std::to_string(payload.size()) + " bytes needs " +
                       std::to_string(slabs_needed) + " slabs it may reuse, and the others hold sections of streams "
                       "that have not appended since (they move on at their next append); nothing was written"};
    }
  }
  fragments_from = slabs.size() - 1;
  struct Unpin {
    size_t* from;
    ~Unpin() { *from = SIZE_MAX; }
  } unpin{&fragments_from};
  // The pin covers the newest slab on. A first fragment put in the stream's section in an older
  // slab would be outside it: the ring could reuse that slab for the later fragments, and the
  // record, appended without an error, would be gone. So in a ring the record starts in a new
  // section (the older slab's section is closed, as when the ring asks the stream to move on).
  const bool section_in_older_slab =
      options.ring_slabs != 0 && s.section != nullptr && s.slab + 1 < slabs.size();
  if (move_on || section_in_older_slab) {
    if (Status st = RollSectionLocked(s, page_size, true); !st) return st;
  }
  while (!payload.empty() || index == 0) {
    const bool first = index == 0;
    if (NextFragmentNeedsSection(s.room(), payload.size(), first)) {
      if (Status st = RollSectionLocked(s, page_size, true); !st) return st;
    }
    if (first && s.room() >= kFrameHeaderSize + payload.size()) {
      s.WriteFrame(FragmentKind::kFull, payload, timestamp);
      break;
    }
    const size_t n = std::min<size_t>(payload.size(), s.room() - FragmentOverhead(first));
    const bool last = n == payload.size();
    const FragmentKind kind = first ? FragmentKind::kFirst : last ? FragmentKind::kLast : FragmentKind::kMiddle;
    s.WriteFrame(kind, payload.first(n), timestamp, index, record_length);
    payload = payload.subspan(n);
    ++index;
    if (last) break;
  }
  return Status();
}

Status Writer::Impl::AppendCatalogLocked(const CatalogEntry& entry) {
  std::string encoded;
  EncodeCatalogEntry(entry, &encoded);
  return AppendRecord(catalog, {reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size()},
                      0, /*locked=*/true);
}

Writer::Impl::FlushPlan Writer::Impl::PlanFlushLocked() {
  FlushPlan plan;
  for (const Slab& slab : slabs) {
    if (slab.file != nullptr) plan.files.push_back(slab.file);
  }
  plan.retired = retired_open;
  plan.directory = std::exchange(dir_dirty, false);
  plan.file_system = std::exchange(closed_unsynced, false);
  return plan;
}

Status Writer::Impl::RunFlush(const FlushPlan& plan) const {
  Status first_error;
  auto note = [&](Status s) {
    if (!s && first_error.ok()) first_error = std::move(s);
  };
  for (const auto& file : plan.files) note(file->Sync());
  if (plan.directory) note(SyncDirectoryOf(base));
  if (plan.file_system) note(SyncFileSystem(dir_fd, DirectoryOf(base)));
  return first_error;
}

Status Writer::Impl::FinishFlushLocked(const FlushPlan& plan, Status outcome) {
  if (!outcome.ok()) return NoteIo(outcome);
  // The retired slabs flushed are on disk: their descriptors are needed no more.
  for (const size_t i : plan.retired) slabs[i].file.reset();
  std::erase_if(retired_open, [&](size_t i) { return slabs[i].file == nullptr; });
  return io_error;
}

Status Writer::Impl::Flush() {
  FlushPlan plan;
  {
    std::lock_guard lock(mu);
    if (!io_error.ok() || closed.load()) return io_error;
    plan = PlanFlushLocked();
  }
  Status outcome = RunFlush(plan);
  plan.files.clear();  // a file let go meanwhile is closed here, not under the lock
  std::lock_guard lock(mu);
  return FinishFlushLocked(plan, std::move(outcome));
}

Status Writer::Impl::SyncLocked() {
  if (!io_error.ok()) return io_error;
  const FlushPlan plan = PlanFlushLocked();
  return FinishFlushLocked(plan, RunFlush(plan));
}

Status Writer::Impl::WriteEndMarkerLocked() {
  Slab& slab = current();
  const SectionClose empty;
  PublishHeader(slab.file->data() + slab.pos, SlabKey(slabs.size() - 1),
                SectionOpen{kEndStream, first_slab + slabs.size(), kSectionHeaderSize}, &empty);
  return Status();
}

Status Writer::Impl::CloseLocked() {
  if (closed.load()) return close_result;
  closed.store(true, std::memory_order_release);
  close_result = CloseOnceLocked();
  prefaulter.reset();  // (when CloseOnceLocked failed early) before the mappings go
  // Whatever failed, the files are let go now: their locks would keep readers waiting (the trim
  // lock) or believing the log is still being written (the first slab's) for as long as this
  // object lived.
  for (Slab& slab : slabs) {
    if (slab.file == nullptr) continue;
    if (Status s = slab.file->CloseFile(); !s && close_result.ok()) close_result = NoteIo(s);
  }
  recycler.reset();  // and with it the retired log's lock
  log_lock.Release();
  return close_result;
}

Status Writer::Impl::CloseOnceLocked() {
  for (auto& s : streams) CloseSectionLocked(*s);
  CloseSectionLocked(catalog);
  // After an I/O failure no end marker vouches for records that may not be on disk: the log
  // reads as not closed cleanly, which is the truth.
  if (!io_error.ok()) return io_error;
  const bool durable = options.sync != SyncPolicy::kManual;
  // Records and close blocks reach the disk before the end marker that vouches for them.
  if (durable) {
    if (Status s = SyncLocked(); !s) return s;
  }
  prefaulter.reset();  // stops its thread before the mappings go and before the zeroing below
  Slab& last = current();
  // Nothing but zeros should follow the end marker. So the slab is trimmed to end with the
  // marker's place before the marker is written (stopped in between, the writer leaves a log that
  // was closing: a torn tail truncate repairs), and in a reused file the new size reaches the
  // disk first, or a power cut could keep the marker with the retired log's bytes after it. Not
  // under kManual, where a sync here writes back the whole slab (64 KiB appends into reused slabs
  // ran at half speed): readers take such bytes for a tail, since nothing of a log ever follows
  // its own end marker, and truncate trims them. A reader with the slab mapped
  // would take SIGBUS past a new end: then the slab keeps its size, a reused file is zeroed after
  // the marker's place (a new one is zeros) and synced, and a later truncate trims it.
  const bool trim = last.file->TryTrimLock();
  if (trim) {
    if (Status s = last.file->Truncate(last.pos + kSectionHeaderSize); !s) return NoteIo(s);
    if (durable && last.file->reused()) {
      if (Status s = last.file->Sync(); !s) return NoteIo(s);
    }
  } else if (last.file->reused()) {
    last.file->Zero(last.pos, slab_capacity - last.pos);
    if (durable) {
      if (Status s = last.file->Sync(); !s) return NoteIo(s);
    }
  }
  if (Status s = WriteEndMarkerLocked(); !s) return s;
  if (durable) {
    if (Status s = last.file->Sync(); !s) return NoteIo(s);
  }
  return Status();
}

}  // namespace slablog
