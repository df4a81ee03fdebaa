// Reopening a cleanly closed log for appending: its catalog, each stream's section sequence and
// the end marker come from one pass over the section headers.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "log_files.h"
#include "slablog/reader.h"
#include "writer_impl.h"

namespace slablog {

Status Writer::Impl::Resume() {
  // Only slab files named after `base` itself grow: a single file of joined slabs cannot, and
  // new slabs of a slab's name (run_0.slog) would be files no reader takes as that log's.
  auto named = ResolveLogFiles(base, false);
  if (!named) return named.error();
  if (named.value().base.empty()) {
    return Fail("cannot append to " + base + ": it is a single file, not slab files named after a base name");
  }
  if (named.value().base != base) {
    return Fail("cannot append to " + base + ": it is the name of slab " +
                std::to_string(SlabIndexOfPath(base).value_or(0)) + " of the log " + named.value().base +
                ", which is how readers take it; append to " + named.value().base);
  }
  ReaderOptions ro;
  ro.records = false;
  auto opened = Reader::Open(base, ro, nullptr);
  if (!opened) return opened.error();
  Reader& reader = *opened.value();
  std::map<uint32_t, uint64_t> next_seq;
  uint32_t last_flags = 0;  // the last slab's header flags
  Item item;
  while (reader.Next(&item)) {
    if (item.kind == ItemKind::kSlab) last_flags = item.slab->header.flags;
    if (item.kind != ItemKind::kSection) continue;
    uint64_t& n = next_seq[item.section->open.stream_id];
    n = std::max(n, item.section->open.seq + 1);
    reader.SkipSection();  // only the catalog's frames are needed
  }
  const LogSummary& summary = reader.summary();
  if (summary.corruptions != 0) {
    return Fail("cannot append: the log has " + std::to_string(summary.corruptions) +
                " problems; run slablog verify");
  }
  if (!summary.clean) {
    return Fail("cannot append: the log was not closed cleanly; run slablog truncate first");
  }
  // A compressed log is written whole (CompressedWriter): its slabs are sized to what they hold,
  // and nothing in them may be a crash's torn tail.
  if ((last_flags & kSlabFlagCompressed) != 0) {
    return Fail("cannot append to a compressed log (slablog compress writes it whole): append to the log it "
                "was made from, or write a new one");
  }
  log_id = *summary.log_id;
  page_size = summary.page_size;
  slab_capacity = summary.slab_capacity;
  section_size = SectionSizeOf(options.section_size, slab_capacity, page_size);
  // The slab size is the log's, not a choice made now: a section too large for its slabs (one
  // chosen for the default 64M slabs, in a log of 64K ones) gives way to the default for them,
  // the size a new log of these slabs gets.
  if (!SectionFitsSlab(section_size, slab_capacity, page_size)) {
    section_size = DefaultSectionSize(slab_capacity, page_size);
  }
  if (!SectionFitsSlab(section_size, slab_capacity, page_size)) {
    return Fail("section size " + std::to_string(section_size) + " does not fit the log's slabs of " +
                std::to_string(slab_capacity) + " bytes");
  }
  first_slab = summary.last_slab_index;
  // Logs named so are refused while this one exists (CheckNewLogName), but one may predate that.
  const auto other = FindLogNamedLikeASlab(base, first_slab + 1);
  if (!other) return other.error();
  if (other.value()) {
    const std::string& slab = *other.value();
    return Fail("cannot append: the log " + BaseOfSlabPath(slab).value_or("") + " (" + slab +
                ") has the name of a slab this log would grow, which would hide it from its readers");
  }
  if (options.ring_slabs != 0) {
    // The slabs before the last are the ring's oldest, all closed: the first to be reused.
    // (Not listed through, the ring would keep slabs it no longer counts, and outgrow its size.)
    auto files = ResolveLogFiles(base, false);
    if (!files) return files.error();
    for (uint32_t index : files.value().indexes) {
      if (index < first_slab) ring_older.push_back(index);
    }
    // A ring reopened smaller: its oldest slabs beyond the new size go, as the ring would have
    // reused them (the newest records stay).
    bool removed = false;
    while (!ring_older.empty() && ring_older.size() + 1 > options.ring_slabs) {
      const std::string old = SlabPath(base, ring_older.front());
      ring_older.pop_front();
      if (::unlink(old.c_str()) != 0 && errno != ENOENT) return IoError(old, "cannot remove a slab the smaller ring drops", errno);
      removed = true;
    }
    if (removed) {
      if (Status st = SyncDirectoryOf(base); !st) return NoteIo(st);
    }
  }
  if (Status st = OpenDirectory(); !st) return st;
  if (options.background_prefault) prefaulter = Prefaulter::Start(PrefaultAccess());
  auto file = WritableSlab::Reopen(SlabPath(base, first_slab), slab_capacity);
  if (!file) return file.error();
  if (options.sync_often) file.value()->PreferSmallWrites();
  // Removing the end marker first: if the writer dies from here on, the log reads as one that
  // was not closed cleanly, which is the truth.
  std::memset(file.value()->data() + summary.end_marker_offset, 0, kSectionHeaderSize);
  // ...and on disk before any new section is: otherwise a power cut could bring the marker back
  // in front of sections that survived, and readers would stop at it (man slablog.5, G3).
  if (Status st = file.value()->Sync(); !st) return NoteIo(st);
  slabs.push_back(Slab{std::move(file.value()), summary.end_marker_offset, 0, false, false, last_flags, {}});
  slabs_begun.store(first_slab + 1, std::memory_order_release);

  catalog.entry.stream_id = kCatalogStream;
  catalog.next_seq = next_seq[kCatalogStream];
  for (const CatalogEntry* e : reader.streams()) {
    auto state = std::make_unique<detail::StreamState>();
    state->entry = *e;
    state->next_seq = next_seq[e->stream_id];
    by_name.emplace(e->name, state.get());
    streams.push_back(std::move(state));
    next_stream_id = std::max(next_stream_id, e->stream_id + 1);
  }
  return Status();
}

}  // namespace slablog
