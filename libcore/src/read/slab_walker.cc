#include "slab_walker.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>
#include <string>

namespace slablog {
namespace {

// Slabs start at multiples of 8 in a file: the first at 0, a following one after an end marker
// (page-aligned offset + 96) or after a full slab.
constexpr uint64_t kSlabAlign = 8;

uint64_t FindSlabMagic(std::span<const uint8_t> bytes, uint64_t from) {
  from = (from + kSlabAlign - 1) / kSlabAlign * kSlabAlign;
  while (from + kSlabMagic.size() <= bytes.size()) {
    const void* hit = memmem(bytes.data() + from, bytes.size() - from, kSlabMagic.data(),
                             kSlabMagic.size());
    if (hit == nullptr) break;
    const auto at = static_cast<uint64_t>(static_cast<const uint8_t*>(hit) - bytes.data());
    if (at % kSlabAlign == 0) return at;
    from = (at + kSlabAlign) / kSlabAlign * kSlabAlign;
  }
  return bytes.size();
}

// The offset of the first slab at or after `from` whose header is valid and of log `id`, or the
// end of `bytes`.
uint64_t NextSlabOfLog(std::span<const uint8_t> bytes, uint64_t from, const LogId& id) {
  for (uint64_t at = FindSlabMagic(bytes, from); at < bytes.size(); at = FindSlabMagic(bytes, at + 1)) {
    const auto header = DecodeSlabHeader(bytes.subspan(at));
    if (header && header->log_id == id) return at;
  }
  return bytes.size();
}

}  // namespace

bool AllZero(std::span<const uint8_t> bytes) {
  static constexpr uint8_t kZeros[256] = {};
  if (bytes.empty()) return true;  // an empty span may have no data pointer for memcmp
  size_t i = 0;
  for (; i + sizeof(kZeros) <= bytes.size(); i += sizeof(kZeros)) {
    if (std::memcmp(bytes.data() + i, kZeros, sizeof(kZeros)) != 0) return false;
  }
  return std::memcmp(bytes.data() + i, kZeros, bytes.size() - i) == 0;
}

SlabHeaderCopy CopySlabHeader(std::span<const uint8_t> file, uint64_t at) {
  SlabHeaderCopy copy;
  if (at < file.size()) {
    copy.size = std::min<size_t>(kSlabHeaderSize, file.size() - at);
    std::memcpy(copy.bytes.data(), file.data() + at, copy.size);
  }
  return copy;
}

SectionHeaderCopy CopySectionHeader(std::span<const uint8_t> file, uint64_t at) {
  constexpr size_t kMagic = sizeof(uint32_t);
  static_assert(kSectionMagic.size() == kMagic);
  SectionHeaderCopy copy;
  const uint8_t* p = file.data() + at;
  // A section starts on a page of its slab, and a slab at a multiple of 8 of its file, which is
  // mapped on a page: the magic's word is aligned, as atomic_ref needs.
  assert(reinterpret_cast<uintptr_t>(p) % alignof(uint32_t) == 0);
  auto& word = *reinterpret_cast<uint32_t*>(const_cast<uint8_t*>(p));
  const uint32_t magic = std::atomic_ref<uint32_t>(word).load(std::memory_order_acquire);
  std::memcpy(copy.bytes.data(), &magic, kMagic);
  std::memcpy(copy.bytes.data() + kMagic, p + kMagic, kSectionHeaderSize - kMagic);
  return copy;
}

bool TakenOverSinceMapped(const MappedFile& f, const SlabHeaderCopy& head) {
  const std::optional<uint32_t> named = SlabIndexOfPath(f.path());
  if (!named) return false;
  const std::optional<SlabHeader> header = DecodeSlabHeader(head.view());
  if (header && header->slab_index == *named) return false;
  // The copy's loads before the name is looked up: a name that still leads to the file then
  // says that no reuse had begun when the copy was made.
  std::atomic_thread_fence(std::memory_order_acquire);
  return !f.StillAtItsPath();
}

bool TakenOverSinceRead(const MappedFile& f) {
  std::atomic_thread_fence(std::memory_order_acquire);
  return TakenOverSinceMapped(f, CopySlabHeader(f.bytes(), 0));
}

SlabWalker::SlabWalker(const std::vector<MappedFile>* files, std::optional<uint32_t> first_index,
                       CorruptionSink* sink)
    : files_(files), sink_(sink), expected_index_(first_index) {}

void SlabWalker::Report(uint64_t offset, uint64_t dropped, CorruptionKind kind,
                        std::string detail) {
  Corruption c;
  c.file = file();
  c.slab = in_slab_ ? slab_.header.slab_index : (expected_index_ ? *expected_index_ : 0);
  c.offset = offset;
  c.bytes_dropped = dropped;
  c.stream = Corruption::kNoStream;
  c.kind = kind;
  c.detail = std::move(detail);
  sink_->Report(c);
}

SlabWalker::Event SlabWalker::Next() {
  while (file_ < files_->size()) {
    if (file_ + 1 == files_->size() && !in_slab_ && pos_ >= bytes().size()) CheckLastSlab();
    if (in_slab_) {
      if (NextSectionInSlab()) return Event::kSection;
      continue;
    }
    if (pos_ >= bytes().size()) {
      if (!file_had_slab_) {
        // The last slab file, empty or all zeros, is one the writer was creating when it stopped.
        const bool abandoned = file_ > 0 && file_ + 1 == files_->size() && AllZero(bytes());
        Report(0, bytes().size(), abandoned ? CorruptionKind::kTornTail : CorruptionKind::kBadFileHeader,
               abandoned ? "slab file was being created when the writer stopped (" +
                               std::string(bytes().empty() ? "empty" : "all zeros") + ")"
                         : bytes().empty() ? "file is empty" : "no slab header in the file");
      }
      ReportReadFaults(file_ + 1);
      ++file_;
      pos_ = 0;
      file_had_slab_ = false;
      continue;
    }
    if (StartSlab() == Event::kSlab) return Event::kSlab;
  }
  ReportReadFaults(files_->size());  // also those of helper threads that read ahead
  return Event::kDone;
}

void SlabWalker::ReportReadFaults(size_t up_to) {
  for (; faults_checked_ < up_to; ++faults_checked_) {
    const MappedFile& f = (*files_)[faults_checked_];
    const std::optional<uint64_t> at = f.fault_offset();
    if (!at) continue;
    Corruption c;
    c.file = f.path();
    c.slab = in_slab_ ? slab_.header.slab_index : 0;
    c.offset = *at;
    c.bytes_dropped = f.bytes().size() > *at ? f.bytes().size() - *at : 0;
    c.stream = Corruption::kNoStream;
    c.kind = CorruptionKind::kIoError;
    c.detail = ReadFaultDetail(*at);
    sink_->Report(c);
  }
}

// A writer's last slab has an open section, or the end marker once Close() has closed them all.
// A last slab with neither is the log of a writer stopped inside Close() (every section closed,
// the end marker not yet written), or one whose next slab is not here: created since the last
// sync and lost to a power cut, or not copied. Nothing after it survived, so it is a torn tail
// (what truncate repairs), not a hole; a later slab that is here would make the gap damage.
void SlabWalker::CheckLastSlab() {
  if (live_ || checked_last_ || summary_.slabs == 0 || summary_.clean || slab_open_sections_ > 0 ||
      slab_sections_ == 0) {
    return;
  }
  checked_last_ = true;
  const uint32_t next = summary_.last_slab_index + 1;
  Report(slab_.file_offset + slab_.bytes, 0, CorruptionKind::kTornTail,
         "slab " + std::to_string(next - 1) + " has no open section and no end marker: the writer "
             "stopped while closing the log, or slab " + std::to_string(next) +
             " (and any after it) is missing");
}

SlabWalker::Event SlabWalker::StartSlab() {
  const std::span<const uint8_t> all = bytes();
  if (ended_ && pos_ > 0) {
    // Right after this log's end marker, in its file. Nothing of the log is ever there (a writer
    // removes the marker, on disk, before it appends, and zeroes or trims what follows it before
    // writing it), so up to a slab of this log (reported below as continuing after the marker),
    // these bytes were never its records, whatever they look like: what a reused file held
    // before, kept by a power cut that lost the trim of Close under SyncPolicy::kManual (which
    // does not sync there), slab headers of other logs stored in its records included. Not
    // damage: a tail that truncate trims.
    const uint64_t next = NextSlabOfLog(all, pos_, *summary_.log_id);
    if (next > pos_) {
      if (!AllZero(all.subspan(pos_, next - pos_))) {
        Report(pos_, next - pos_, CorruptionKind::kTornTail,
               std::to_string(next - pos_) + " bytes after the end marker are not zeros (left from the "
               "file's earlier use; nothing of the log follows its end marker)");
        file_had_slab_ = true;
      }
      pos_ = next;
      return Event::kDone;
    }
  }
  // Judged on one copy of its bytes (CopySlabHeader).
  const SlabHeaderCopy head = CopySlabHeader(all, pos_);
  // A slab file the ring's writer took over for a later slab while the walk was on its way to
  // it: renamed, then its header zeroed and rewritten. Its bytes are the later slab's, which the
  // walk meets in order under their own name: passed over, and counted. Only a file that really
  // was (TakenOverSinceMapped), and only while a writer holds the log (none holds a crashed one):
  // damage is reported below whoever holds a lock.
  if (live_ && pos_ == 0 && TakenOverSinceMapped(mapped_file(), head)) {
    ++summary_.ring_overtaken;
    NoteRingGap();
    pos_ = all.size();
    file_had_slab_ = true;
    return Event::kDone;
  }
  if (!HasSlabMagic(head.view())) {
    const uint64_t next = FindSlabMagic(all, pos_ + 1);
    // Zeros after a slab are padding (a writer killed while trimming, or a shorter slab).
    if (!AllZero(all.subspan(pos_, next - pos_))) {
      Report(pos_, next - pos_, CorruptionKind::kBadFileHeader,
             pos_ == 0 ? "not a slablog file: no slab header at the start"
                       : "no slab header where the next slab should start; " +
                             std::to_string(next - pos_) + " bytes skipped");
      file_had_slab_ = true;  // reported; no second message for the file
    }
    pos_ = next;
    return Event::kDone;
  }
  const std::optional<SlabHeader> header = DecodeSlabHeader(head.view());
  std::string problem;
  if (auto unsupported = UnsupportedSlab(head.view())) {
    problem = *unsupported;
  } else if (!header) {
    problem = "slab header is damaged (crc, a field out of range, or a reserved field not zero)";
  } else if (summary_.log_id && header->log_id != *summary_.log_id) {
    problem = "slab " + std::to_string(header->slab_index) + " belongs to another log (id " +
              LogIdHex(header->log_id) + ", this log is " + LogIdHex(*summary_.log_id) + ")";
  } else if (expected_index_ && header->slab_index < *expected_index_) {
    problem = "slab " + std::to_string(header->slab_index) + " is a duplicate or out of order (" +
              "expected slab " + std::to_string(*expected_index_) + ")";
  }
  if (!problem.empty()) {
    // The whole slab is dropped: its page size, capacity or log id cannot be trusted or used.
    const uint64_t next = FindSlabMagic(all, pos_ + kSlabHeaderSize);
    Report(pos_, next - pos_, CorruptionKind::kBadFileHeader, problem);
    file_had_slab_ = true;
    pos_ = next;
    return Event::kDone;
  }
  if (ended_) {
    Report(pos_, 0, CorruptionKind::kBadSection,
           "the log continues after an end marker (slab " + std::to_string(header->slab_index) +
               " follows a cleanly closed slab)");
    ended_ = false;
  }
  if ((header->flags & kSlabFlagRing) != 0) summary_.ring = true;
  if (expected_index_ && header->slab_index > *expected_index_ && (header->flags & kSlabFlagRing) != 0) {
    // Reused by the ring for later slabs: its writer names each slab durably before the next, so
    // none missing before a ring slab was lost otherwise (man slablog.5, Rings).
    summary_.ring_slabs_gone += header->slab_index - *expected_index_;
    ++ring_gaps_;
    ring_gap_from_ = *expected_index_;
  } else if (expected_index_ && header->slab_index > *expected_index_) {
    Report(pos_, 0, CorruptionKind::kBadFileHeader,
           header->slab_index == *expected_index_ + 1
               ? "slab " + std::to_string(*expected_index_) + " is missing"
               : "slabs " + std::to_string(*expected_index_) + " to " +
                     std::to_string(header->slab_index - 1) + " are missing");
  }
  sink_->set_written_whole((header->flags & kSlabFlagCompressed) != 0);
  expected_index_ = header->slab_index + 1;
  summary_.log_id = header->log_id;
  section_key_ = SectionKey(header->log_id, *header);
  summary_.page_size = header->page_size;
  summary_.slab_capacity = header->capacity;
  summary_.last_slab_index = header->slab_index;
  ++summary_.slabs;
  summary_.clean = false;
  file_had_slab_ = true;
  in_slab_ = true;
  slab_capacity_end_ = pos_ + header->capacity;
  slab_end_ = std::min<uint64_t>(slab_capacity_end_, all.size());
  section_pos_ = pos_ + header->page_size;
  slab_ = SlabInfo{file(), pos_, *header, slab_end_ - pos_};
  slab_sections_ = slab_open_sections_ = 0;
  slab_has_catalog_ = false;
  return Event::kSlab;
}

std::optional<uint64_t> SlabWalker::FindSectionAhead(uint64_t from) const {
  const uint64_t page = slab_.header.page_size;
  const uint64_t start = slab_.file_offset;
  uint64_t p = start + (from - start + page - 1) / page * page;
  for (; p + kSectionHeaderSize <= slab_end_; p += page) {
    if (DecodeSectionOpen(section_key_, bytes().subspan(p, kSectionHeaderSize))) return p;
  }
  return std::nullopt;
}

void SlabWalker::ReleasePages(uint64_t begin, uint64_t end) {
  // Nothing returned from this slab is valid any more (views last until the next call), so its
  // pages can leave this process: memory stays the same however many slabs a log has. The page
  // cache keeps them.
  // A small slab is not worth the system call (and the TLB shootdown it costs other threads).
  if (end - begin < (uint64_t{4} << 20)) return;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  begin = begin / page * page;
  end = std::min<uint64_t>(bytes().size(), (end + page - 1) / page * page);
  if (end <= begin) return;
  const uint8_t* base = bytes().data();
  if (release_) {
    release_(base + begin, base + end);
  } else {
    madvise(const_cast<uint8_t*>(base) + begin, end - begin, MADV_DONTNEED);
  }
}

bool SlabWalker::NextSectionInSlab() {
  const LogId& id = section_key_;
  const uint64_t page = slab_.header.page_size;
  while (section_pos_ + kSectionHeaderSize <= slab_end_) {
    const uint64_t at = section_pos_;
    const SectionHeaderCopy head = CopySectionHeader(bytes(), at);  // judged on one copy
    const std::span<const uint8_t> header = head.view();
    const auto open = DecodeSectionOpen(id, header);
    if (!open) {
      // A zero magic ahead of other bytes is a header being published (writers store the magic
      // last) or one a crash interrupted: no section yet, like free space. A flipped bit cannot
      // zero a magic.
      const bool unpublished = AllZero(header.first(kSectionMagic.size()));
      // A running writer publishes sections in order (under its lock, magic last), so nothing
      // follows an unpublished header: the rest of the slab, often tens of MiB, is not searched
      // page by page, which would make every look at a live log (follow) cost that much.
      if (unpublished && live_) break;
      const auto next = FindSectionAhead(at + page);
      if (unpublished && !next) break;  // free space at the end of the slab
      const uint64_t resume = next ? *next : slab_end_;
      Report(at, resume - at, CorruptionKind::kBadSection,
             AllZero(header) ? "no section header at a page where sections continue later; " +
                                   std::to_string(resume - at) + " bytes skipped"
                             : "section header is damaged; " + std::to_string(resume - at) +
                                   " bytes skipped to the next section");
      section_pos_ = resume;
      continue;
    }
    if (open->stream_id == kEndStream) {
      if (open->size == kSectionHeaderSize && DecodeSectionClose(id, header)) {
        if (open->seq != uint64_t{slab_.header.slab_index} + 1) {
          Report(at, 0, CorruptionKind::kBadSection,
                 "end marker counts " + std::to_string(open->seq) + " slabs but is in slab " +
                     std::to_string(slab_.header.slab_index));
        }
        LeaveSlab(at);
        return false;
      }
      Report(at, kSectionHeaderSize, CorruptionKind::kBadSection, "end marker is damaged");
      section_pos_ = at + page;
      continue;
    }
    if (open->size < page || open->size % page != 0 || open->size > slab_capacity_end_ - at) {
      const auto next = FindSectionAhead(at + page);
      const uint64_t resume = next ? *next : slab_end_;
      Report(at, resume - at, CorruptionKind::kBadSection,
             "section claims " + std::to_string(open->size) + " bytes; the slab has " +
                 std::to_string(slab_capacity_end_ - at) + " left and sections are whole pages of " +
                 std::to_string(page));
      section_pos_ = resume;
      continue;
    }
    section_ = SectionInfo{};
    section_.slab = &slab_;
    section_.offset = at;
    section_.open = *open;
    section_.close = DecodeSectionClose(id, header);
    if (section_.close && section_.close->filled > open->size - kSectionHeaderSize) {
      Report(at, 0, CorruptionKind::kBadSection,
             "close block claims " + std::to_string(section_.close->filled) +
                 " filled bytes in a section of " + std::to_string(open->size));
      section_.close.reset();
    }
    ++slab_sections_;
    if (open->stream_id == kCatalogStream) slab_has_catalog_ = true;
    if (open->compressed()) {
      ++summary_.compressed_sections;
      summary_.compressed_stored_bytes += open->size;
      // Frames once decompressed: a 20-byte header each, the payloads (from the close block).
      if (section_.close) {
        summary_.compressed_raw_bytes += section_.close->frame_count * kFrameHeaderSize + section_.close->payload_bytes;
      }
    }
    if (!section_.close) ++slab_open_sections_;
    const uint64_t present = std::min(open->size, slab_end_ - at);
    section_bytes_ = bytes().subspan(at, present);
    section_pos_ = at + open->size;
    return true;
  }
  LeaveSlab(std::nullopt);
  return false;
}

void SlabWalker::LeaveSlab(std::optional<uint64_t> end_marker) {
  in_slab_ = false;
  if (!live_ && (slab_.header.flags & kSlabFlagRing) != 0 && !slab_has_catalog_ && file_ + 1 < files_->size()) {
    // Every slab begins with a catalog section. In a ring, streams may start anywhere, so the
    // sections a power cut took from a slab that later slabs follow are not seen as gaps in
    // their streams: a slab without its catalog lost them, and says so.
    Report(slab_.file_offset + slab_.header.page_size, 0, CorruptionKind::kMissingData,
           "ring slab " + std::to_string(slab_.header.slab_index) + " has no catalog section, which every slab "
           "begins with: its sections were lost (a power cut?), and later slabs follow");
  }
  if (live_ && (slab_.header.flags & kSlabFlagRing) != 0 && slab_.file_offset == 0 &&
      TakenOverSinceRead(mapped_file())) {
    // Its writer reused the slab while the walk was in it: the sections the walk did not reach
    // are gone, and where they were it found zeros, or the later slab's headers, which do not
    // verify here. (Its header is zeroed before any other byte is changed.)
    NoteRingGap();
  }
  ReleasePages(slab_.file_offset, slab_end_);
  if (end_marker) {
    ended_ = true;
    summary_.clean = true;
    summary_.end_marker_offset = *end_marker;
    pos_ = *end_marker + kSectionHeaderSize;
    return;
  }
  if (slab_end_ < slab_capacity_end_) {
    // Only the last slab of a cleanly closed log is shorter than its capacity, and it ends with
    // its end marker (a crash never shortens a slab: it is sized before its header is written).
    // A last slab cut short lost its tail; any other slab that claims more than is there lies.
    const bool last = file_ + 1 == files_->size() && slab_end_ == bytes().size();
    Report(slab_end_, 0, last ? CorruptionKind::kTornTail : CorruptionKind::kBadFileHeader,
           "slab " + std::to_string(slab_.header.slab_index) + " ends after " +
               std::to_string(slab_end_ - slab_.file_offset) + " of its " +
               std::to_string(slab_.header.capacity) + " bytes, with no end marker" +
               (last ? "" : ", and the log goes on after it"));
  }
  pos_ = slab_end_;
}

}  // namespace slablog
