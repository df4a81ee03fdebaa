#include "slablog/reader.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <optional>
#include <unordered_map>

#include "compressed_section.h"
#include "crc_helpers.h"
#include "frame_scanner.h"
#include "log_files.h"
#include "mapped_file.h"
#include "prefaulter.h"
#include "record_assembler.h"
#include "slab_walker.h"

namespace slablog {
namespace {

// A section read while it was open, up to where its frames ended then. Its own copies of the
// slab's and section's details: the walker's are the next ones' by the time they are needed.
struct OpenSectionRead {
  size_t file_index = 0;
  SlabInfo slab;
  SectionInfo section;       // section.slab is not kept: it points at the walker's
  uint64_t frames_end = 0;   // file offset
  uint64_t frames = 0;       // frames read in it
  uint64_t section_end() const { return section.offset + section.open.size; }
};

// Per-stream state of the walk: where its section sequence is, and its record in progress.
struct StreamCursor {
  RecordAssembler assembler;
  uint64_t expected_seq = 0;
  uint64_t records = 0;
  bool seen = false;
  uint32_t ring_gaps = 0;  // SlabWalker::ring_gaps() at its last section
  // Set when the stream's last section read was open (and read to its end): where its frames
  // ended, to tell, if the stream goes on after it, whether frames there may have been lost, or
  // on a live log to read the rest of it (Reader::Impl::PlanCatchUp).
  std::optional<OpenSectionRead> open_end;
};

// Whether `name` is the name of slab `min_index` or a later one of the log whose slab file is
// named `own_name`.
bool IsLaterSlabName(std::string_view name, const std::string& own_name, uint32_t min_index) {
  const std::optional<uint32_t> index = SlabIndexOfPath(name);
  return index && *index >= min_index && BaseOfSlabPath(name) == BaseOfSlabPath(own_name);
}

// Whether `m` is found in its directory under the name of slab `min_index` or a later one of its
// log, or that name with kSlabTempSuffix (the writer's name for a slab it is making). nullopt
// when the directory cannot be read through.
std::optional<bool> FoundUnderALaterSlabName(const MappedFile& m, uint32_t min_index) {
  const std::string& path = m.path();
  const size_t slash = path.rfind('/');
  const std::string own_name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (!SlabIndexOfPath(own_name)) return false;
  std::error_code ec;
  std::filesystem::directory_iterator it(DirectoryOf(path), ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // As it is, and without the suffix: a log's own names may end in it (base "cap.new").
    const std::string_view bare = name.ends_with(kSlabTempSuffix)
                                      ? std::string_view(name).substr(0, name.size() - kSlabTempSuffix.size())
                                      : std::string_view();
    const bool later = IsLaterSlabName(name, own_name, min_index) ||
                       (!bare.empty() && IsLaterSlabName(bare, own_name, min_index));
    if (later && m.IsFileAt(it->path().string())) return true;
  }
  if (ec) return std::nullopt;
  return false;
}

// Whether the mapped slab file `m`, gone from its name, was taken over by its ring's writer since
// the log was listed: `min_index` is one past the last slab listed. The writer renames a file it
// reuses to the name of a slab past every one there (first with kSlabTempSuffix after it), and
// nothing else gives a file of a log a later slab name of that log: a file deleted, or moved
// elsewhere (a retention job dropping the oldest slab, an archiver), says nothing of a writer,
// and a crashed log whose file goes so while it is opened must still have its damage reported.
// Looks through the file's directory, only ever for a file that left its name; three times at
// most, as the writer's second rename (from the temporary name to the slab's) can move the file
// to a name the scan has passed. A directory that cannot be read through cannot tell: taken as
// the writer's work, as StillAtItsPath takes a name it cannot look up.
bool TakenOverForALaterSlab(const MappedFile& m, uint32_t min_index) {
  for (int scan = 0; scan < 3; ++scan) {
    const std::optional<bool> found = FoundUnderALaterSlabName(m, min_index);
    if (!found || *found) return true;
  }
  return false;
}

}  // namespace

struct Reader::Impl {
  ReaderOptions options;
  LogFiles log_files;
  std::vector<MappedFile> files;
  CorruptionSink sink;
  SlabWalker walker;
  FrameScanner scanner;
  std::map<uint32_t, CatalogEntry> catalog;
  std::unordered_map<uint32_t, StreamCursor> cursors;
  bool partial = false;      // the walk started after slab 0 of the log
  std::set<std::string> overtaken_files;  // ring slabs reused under the walk, problems not told
  size_t last_checked = 0;                // where SlabReusedSince found its file last
  std::vector<uint8_t> ring_copy;         // a live ring's record, copied (GuardLiveRing)
  // Where each stream stood when the first ring slab read since the last run of reused slabs
  // began (its catalog's stream positions): the sections numbered from there on are all in that
  // slab or later ones, none reused. With the walker's ring_gaps() when learned.
  struct RingFloor {
    uint64_t next_seq = 0;
    uint32_t gaps = 0;
  };
  std::unordered_map<uint32_t, RingFloor> ring_floors;
  // Losses before a gap the ring left after a slab it kept (man slablog.5, Rings, "Positions of
  // kept slabs"). For the gap being read (gap_gaps, beginning at slab gap_from): what the walk
  // accounted for of each stream before it. positions_gaps: the ring_gaps() of the last ring
  // floors learned; last_positions: the position records of the last ring slab read.
  std::optional<uint32_t> gap_gaps;
  uint32_t gap_from = 0;
  std::unordered_map<uint32_t, uint64_t> gap_accounted;
  bool gap_opened_from_zero = false;
  std::optional<uint32_t> positions_gaps;
  std::unordered_map<uint32_t, uint32_t> named_at_gaps;  // ring_gaps() when a stream was first named
  struct SlabPositions {
    uint32_t slab_index = 0;
    std::unordered_map<uint32_t, uint64_t> next_seq;
  };
  SlabPositions last_positions;
  void BeginGap(const SectionInfo& s);
  void NoteGapStart(uint32_t id, uint64_t start, const std::string& file, uint32_t slab_index, uint64_t offset);
  bool in_section = false;   // frames of the current section are being read
  bool skip_frames = false;
  bool finished = false;
  StreamCursor* cursor = nullptr;
  FrameView pending_frame;   // a frame returned as an item, still to be fed to its record
  bool has_pending = false;
  bool frames_started = false;  // the current section's frames are being read
  const uint8_t* mapped_from = nullptr;   // without a prefault thread: the stretch mapped last
  const uint8_t* mapped_until = nullptr;
  // Declared after `files`, so it stops before the mappings it works on go away.
  std::unique_ptr<Prefaulter> prefaulter;
  std::unique_ptr<CrcHelpers> helpers;
  uint64_t section_ordinal = 0;  // sections met so far, in walk order
  // Where frames are being read: the walker's section, or, catching up, a copy of an earlier one.
  const std::string* scan_file = nullptr;
  const SlabInfo* scan_slab = nullptr;
  const SectionInfo* scan_section = nullptr;
  // On a live log, a stream went on in a new section while its previous one, open when the walk
  // went past it, was being filled: the frames the writer added to it since are read before
  // those of the new section, or they would be skipped (and record numbers would shift).
  std::optional<OpenSectionRead> catch_up;
  bool catching_up = false;
  // A compressed section is decoded when its frames are first wanted (not when export --since
  // skips it by its header): its frames then, as they were written, after a copy of its header.
  bool compressed_pending = false;
  SectionCodec codec;
  std::vector<uint8_t> inflated;
  SectionInfo inflated_section;

  Impl(const ReaderOptions& opt, LogFiles lf, std::vector<MappedFile> mapped, Reporter* reporter)
      : options(opt),
        log_files(std::move(lf)),
        files(std::move(mapped)),
        sink(reporter),
        walker(&files, log_files.first_index, &sink),
        scanner(&sink, {opt.verify_checksums, opt.frames}) {
    sink.set_overtaken([this](const Corruption& c) { return SlabReusedSince(c.file); });
    sink.set_namer([this](uint32_t id) -> std::string {
      if (id == kCatalogStream) return "catalog";
      auto it = catalog.find(id);
      return it == catalog.end() ? std::string() : it->second.name;
    });
    // Extra threads check CRCs of sections ahead, which also maps their pages; without CRCs to
    // check, one maps pages ahead.
    const unsigned extra = opt.threads == 0 ? 1u : opt.threads - 1;
    const bool prefault = opt.background_prefault && extra > 0 && !opt.verify_checksums;
    const unsigned crc_threads = opt.verify_checksums ? extra : 0u;
    if (prefault) prefaulter = Prefaulter::Start(Prefaulter::Access::kRead);
    if (crc_threads > 0) {
      helpers = CrcHelpers::Start(&files, log_files.first_index, crc_threads,
                                  /*reader_shares=*/!opt.records && !opt.frames, opt.decode_ahead);
    }
    if (prefaulter != nullptr) {
      walker.set_release([p = prefaulter.get()](const uint8_t* b, const uint8_t* e) { p->Release(b, e); });
    }
  }

  // How far ahead of the frames being read the pages are mapped.
  static constexpr uint64_t kPrefaultAhead = uint64_t{16} << 20;

  void Report(const std::string& file, uint32_t slab, uint64_t offset, uint64_t dropped,
              uint32_t stream, CorruptionKind kind, std::string detail) {
    sink.Report(Corruption{file, slab, offset, dropped, stream, {}, kind, std::move(detail)});
  }

  std::string StreamLabel(uint32_t id) const {
    auto it = catalog.find(id);
    if (id == kCatalogStream) return "catalog";
    return it == catalog.end() ? "#" + std::to_string(id) : "'" + it->second.name + "'";
  }

  void ReportDropped(StreamCursor& c, uint32_t stream, CorruptionKind kind, uint64_t offset,
                     uint64_t bytes, const std::string& why) {
    const SlabInfo* slab = c.assembler.start_slab();
    Report(slab != nullptr ? slab->file : walker.file(), slab != nullptr ? slab->header.slab_index : 0,
           offset, bytes, stream, kind,
           "record of stream " + StreamLabel(stream) + " begun here dropped after " +
               std::to_string(bytes) + " bytes: " + why);
  }

  void AbandonRecord(StreamCursor& c, uint32_t stream, CorruptionKind kind, const std::string& why) {
    if (!c.assembler.active()) return;
    const uint64_t offset = c.assembler.start_offset();
    const uint32_t fragments = c.assembler.fragments();
    const uint64_t bytes = c.assembler.Abandon();
    ReportDropped(c, stream, kind, offset, bytes,
                  why + " (" + std::to_string(fragments) + " fragments read)");
  }
  // Whether the slab file `path` of a live ring was taken over by its writer for a later slab
  // since it was mapped (slablog.5, Rings; TakenOverSinceMapped).
  bool SlabReusedSince(const std::string& path) {
    if (!walker.summary().ring || !walker.live()) return false;
    if (overtaken_files.count(path) != 0) return true;  // (a file taken over stays so)
    for (size_t i = 0; i < files.size(); ++i) {
      // (Most calls are for the file of the last one: records of a live ring, GuardLiveRing.)
      const MappedFile& f = files[(i + last_checked) % files.size()];
      if (f.path() != path) continue;
      last_checked = (i + last_checked) % files.size();
      const bool reused = TakenOverSinceRead(f);
      // Counted once per file (the walker counts those it passes over before entering them).
      if (reused && overtaken_files.insert(path).second) {
        ++walker.summary().ring_overtaken;
        walker.NoteRingGap();
      }
      return reused;
    }
    return false;
  }

  // Data of the stream was lost here: its record in progress is dropped, and the MIDDLE and LAST
  // frames that would have continued it are dropped quietly after it.
  void DropAcrossLoss(StreamCursor& c, uint32_t stream, CorruptionKind kind, const std::string& why) {
    AbandonRecord(c, stream, kind, why);
    c.assembler.set_quiet_orphans(true);
  }

  bool Wanted(const SectionInfo& s) const {
    if (options.only_streams.empty() || s.open.stream_id == kCatalogStream) return true;
    return std::find(options.only_streams.begin(), options.only_streams.end(), s.stream_name) !=
           options.only_streams.end();
  }
  // Every record completed, returned or not; gives its number in its stream.
  uint64_t CountRecord(size_t payload_bytes) {
    LogSummary& s = walker.summary();
    ++s.records;
    s.record_bytes += payload_bytes;
    return cursor->records++;
  }
  // Whether a FULL frame of stream `id` is returned as the record it is, without the assembler.
  bool ReturnsWholeAsIs(uint32_t id) const {
    return !options.frames && id != kCatalogStream && !cursor->assembler.active();
  }
  // The FULL frame as a record in `item`; false when only counting (SkipFullFrames stopped short
  // of it: on a live log, the writer finished it since).
  // On a live ring, a record's bytes in the map may be the writer's next slab's by the time the
  // caller reads them: they are copied, then the slab's header looked at. Unchanged, the copy was
  // made before the writer began to reuse the file (it zeroes the header before any other byte).
  // False when it was reused: the record is not returned.
  bool GuardLiveRing(std::span<const uint8_t>* payload, bool in_map) {
    if (!walker.live() || !walker.summary().ring) return true;
    if (in_map) {
      ring_copy.assign(payload->begin(), payload->end());
      *payload = ring_copy;
    }
    return !SlabReusedSince(*scan_file);  // (its header copied after the copy: TakenOverSinceRead)
  }
  bool TakeWhole(const FrameView& frame, uint32_t id, Item* item) {
    cursor->assembler.set_quiet_orphans(false);
    if (!options.records) {
      CountRecord(frame.payload.size());
      return false;
    }
    RecordView& r = item->record;
    r.timestamp = frame.header.timestamp;
    r.offset = frame.offset;
    // (section_offset is left alone: the record's section is the item's, and one more store per
    // record here cost a quarter of the single-threaded reading speed.)
    r.slab = item->slab;
    r.fragments = 1;
    r.payload = frame.payload;
    if (!GuardLiveRing(&r.payload, true)) return false;
    FinishRecord(id, item->section->stream_name, item);
    return true;
  }
  // The fields every returned record gets, whichever way it was read.
  void FinishRecord(uint32_t id, std::string_view name, Item* item) {
    RecordView& r = item->record;
    r.stream_id = id;
    r.stream_name = name;
    r.index = CountRecord(r.payload.size());
    item->kind = ItemKind::kRecord;
  }
  // Whole records passed over without being returned (only counting).
  void CountWholeRecords(const FrameScanner::Tally& t) {
    LogSummary& summary = walker.summary();
    summary.records += t.full_frames;
    summary.record_bytes += t.full_payload_bytes;
    cursor->records += t.full_frames;
    if (t.full_frames > 0) cursor->assembler.set_quiet_orphans(false);
  }
  // Only counting, no frame wanted, no record half-assembled: whole records need nothing but
  // their CRCs checked.
  bool OnlyCountingWholeRecords(uint32_t stream) const {
    return !options.records && !options.frames && stream != kCatalogStream && !cursor->assembler.active();
  }
  // A closed section a helper found intact and holding only whole records needs no reading when
  // records are only counted.
  void SkipCountedSection(const SectionInfo& s, const FrameScanner::Tally& tally) {
    if (!OnlyCountingWholeRecords(s.open.stream_id) || !s.close || tally.full_frames != tally.frames ||
        tally.frames != s.close->frame_count) {
      return;
    }
    CountWholeRecords(tally);
    in_section = false;
  }
  void OnSection(const SectionInfo& s);
  void ReportOpenGap(StreamCursor& c, uint32_t id, const SectionInfo& next);
  void PlanCatchUp(const OpenSectionRead& open);
  void StartCatchUp();
  void BeginSection(Item* item);
  bool StartCompressed();
  void StartDecoded(const SectionInfo& s);
  // Decoded frames are in memory, never in a mapped file that a fault could cut.
  static inline const std::atomic<uint64_t> kNeverFaults{fault_guard::kNoFault};
  bool ReadFrame(Item* item);
  bool Feed(FrameView frame, Item* item);
  void LearnCatalog(std::span<const uint8_t> payload, uint64_t offset);
  void Finish();
};

void Reader::Impl::OnSection(const SectionInfo& s) {
  const uint32_t id = s.open.stream_id;
  if (!walker.live() && walker.ring_gap_from() && gap_gaps != walker.ring_gaps()) BeginGap(s);
  StreamCursor& c = cursors[id];
  cursor = &c;
  skip_frames = false;
  const uint64_t seq = s.open.seq;
  // In a ring, sections gone with slabs the ring reused before this one are no loss: the stream
  // starts, or goes on, at its oldest section left. A record begun in them is dropped quietly.
  const bool ring_gap = (s.slab->header.flags & kSlabFlagRing) != 0 && c.ring_gaps != walker.ring_gaps();
  c.ring_gaps = walker.ring_gaps();
  // Sections below this one were in the ring's reused slabs, except from the stream's position
  // in the ring slab read last on: those were lost (a power cut), however the ring went on.
  std::optional<uint64_t> lost_from;
  if (ring_gap && !walker.live()) {
    auto f = ring_floors.find(id);
    if (f != ring_floors.end() && f->second.gaps == walker.ring_gaps()) {
      const uint64_t from = std::max(f->second.next_seq, c.seen ? c.expected_seq : 0);
      if (seq > from) lost_from = from;
    }
  }
  if (!c.seen) {
    c.seen = true;
    if (seq != 0) {
      if (!partial && !ring_gap) {
        Report(walker.file(), s.slab->header.slab_index, s.offset, 0, id, CorruptionKind::kBadSection,
               "stream " + StreamLabel(id) + " starts at section " + std::to_string(seq) +
                   "; sections 0 to " + std::to_string(seq - 1) + " are missing");
      }
      c.assembler.set_quiet_orphans(true);
    }
  } else if (seq > c.expected_seq && ring_gap) {
    if (c.assembler.active()) ++walker.summary().ring_partial_records;
    c.assembler.Abandon();
    c.assembler.set_quiet_orphans(true);
    c.open_end.reset();  // an open section the stream left: the ring took what followed it
  } else if (seq > c.expected_seq) {
    Report(walker.file(), s.slab->header.slab_index, s.offset, 0, id, CorruptionKind::kBadSection,
           "stream " + StreamLabel(id) + " jumps from section " + std::to_string(c.expected_seq - 1) +
               " to " + std::to_string(seq) + "; " + std::to_string(seq - c.expected_seq) +
               " missing");
    DropAcrossLoss(c, id, CorruptionKind::kUnfinishedFragment, "the sections after it are missing");
  } else if (seq < c.expected_seq) {
    Report(walker.file(), s.slab->header.slab_index, s.offset, s.open.size, id,
           CorruptionKind::kBadSection,
           "stream " + StreamLabel(id) + " section " + std::to_string(seq) +
               " appears again after section " + std::to_string(c.expected_seq - 1) +
               "; its frames are skipped");
    skip_frames = true;
  }
  if (c.open_end && seq == c.expected_seq) {
    if (walker.live()) {
      // Not the catalog's: a stream named part-way through a pass would have its first sections
      // taken as unwanted by a reader of named streams only (follow -s), and then skipped for
      // good. Unnamed for the pass, it is read whole by the next one.
      if (id != kCatalogStream) PlanCatchUp(*c.open_end);
    } else {
      ReportOpenGap(c, id, s);
    }
  }
  if (lost_from) {
    Report(walker.file(), s.slab->header.slab_index, s.offset, 0, id, CorruptionKind::kMissingData,
           "stream " + StreamLabel(id) + " goes on at section " + std::to_string(seq) + ", but its sections " +
               std::to_string(*lost_from) + " to " + std::to_string(seq - 1) +
               " were begun after a ring slab still here and are missing (lost to a power cut)");
  }
  c.open_end.reset();
  if (seq >= c.expected_seq) c.expected_seq = seq + 1;
  // A writer defines a stream in the catalog before its first section: a section of a stream the
  // catalog does not define lost that entry (a power cut), and its records have no name. (On a
  // live log the entry may have joined the open catalog section after the walk read it.)
  if (id != kCatalogStream && catalog.count(id) == 0 && !walker.live()) {
    Report(walker.file(), s.slab->header.slab_index, s.offset, 0, id, CorruptionKind::kBadSection,
           "section of stream " + std::to_string(id) + ", which the catalog does not define");
  }
}

// A writer closes a section before it starts the stream's next one, so an open section that the
// stream goes on from lost its close block to a power cut, and perhaps frames after the last one
// read: unless those fill it to its end, that is a hole in the stream.
void Reader::Impl::ReportOpenGap(StreamCursor& c, uint32_t id, const SectionInfo& next) {
  const OpenSectionRead& open = *c.open_end;
  const uint64_t room = open.section_end() - open.frames_end;
  if (room < kFrameHeaderSize) return;
  // Fragments of a record in progress may be among what was lost: it cannot go on here.
  DropAcrossLoss(c, id, CorruptionKind::kMissingData,
                 "the section holding its next fragment lost frames to a power cut");
  Report(open.slab.file, open.slab.header.slab_index, open.frames_end, room, id, CorruptionKind::kMissingData,
         "section " + std::to_string(open.section.open.seq) + " of stream " + StreamLabel(id) +
             " was never closed, yet the stream goes on in section " + std::to_string(next.open.seq) +
             ": whatever was written after its last frame (up to " + std::to_string(room) +
             " bytes) was lost");
}

// The section is read again from where the walk stopped in it: as its stream went on in the
// next one, the writer has finished it, so what it holds now is all it will hold.
void Reader::Impl::PlanCatchUp(const OpenSectionRead& open) {
  if (open.section_end() - open.frames_end < kFrameHeaderSize) return;  // full: nothing can follow
  const std::span<const uint8_t> file = files[open.file_index].bytes();
  if (open.section.offset + kSectionHeaderSize > file.size()) return;
  OpenSectionRead& c = catch_up.emplace(open);
  c.section.slab = &c.slab;
  c.section.close = DecodeSectionClose(SectionKey(*walker.summary().log_id, c.slab.header),
                                       CopySectionHeader(file, open.section.offset).view());
  // As the walker checks a close block it meets.
  if (c.section.close && c.section.close->filled > c.section.open.size - kSectionHeaderSize) {
    Report(c.slab.file, c.slab.header.slab_index, c.section.offset, 0, c.section.open.stream_id,
           CorruptionKind::kBadSection,
           "close block claims " + std::to_string(c.section.close->filled) + " filled bytes in a section of " +
               std::to_string(c.section.open.size));
    c.section.close.reset();
  }
}

void Reader::Impl::StartCatchUp() {
  OpenSectionRead& c = *catch_up;
  c.section.stream_name = walker.section().stream_name;  // the same stream's
  const std::span<const uint8_t> file = files[c.file_index].bytes();
  const uint64_t end = std::min<uint64_t>(file.size(), c.section.offset + c.section.open.size);
  scanner.Start(c.slab.file, c.section, file.subspan(c.section.offset, end - c.section.offset),
                SectionSeed(SectionKey(*walker.summary().log_id, c.slab.header), c.section.open.stream_id, c.section.open.seq),
                c.frames_end - c.section.offset, c.frames);
  scan_file = &c.slab.file;
  scan_slab = &c.slab;
  scan_section = &c.section;
  catching_up = true;
  in_section = true;
  has_pending = false;
  frames_started = true;  // pages stay as they are: a few frames, most likely cached
}

// Starts reading the walker's current section (the one just met) and puts it in `item`.
void Reader::Impl::BeginSection(Item* item) {
  SectionInfo& s = const_cast<SectionInfo&>(walker.section());
  in_section = !skip_frames && Wanted(s);
  has_pending = false;
  frames_started = false;
  scan_file = &walker.file();
  scan_slab = &walker.slab();
  scan_section = &s;
  const uint64_t ordinal = section_ordinal++;
  compressed_pending = in_section && s.open.compressed();
  if (!in_section) {
    // Not read (skipped, or of a stream not wanted): passed all the same, so that no helper still
    // works on it, in a decode buffer a later section's helper reuses, once the reader is past it.
    FrameScanner::Tally unused;
    if (helpers != nullptr) helpers->Verified(ordinal, nullptr, &unused);
  } else if (compressed_pending) {
    FrameScanner::Tally tally;
    if (helpers != nullptr && helpers->Verified(ordinal, walker.section_bytes().data(), &tally)) {
      // A helper decoded it and found every frame intact: its frames are taken as they are.
      helpers->TakeDecoded(ordinal, &inflated);
      StartDecoded(s);
      scanner.TrustHelperCheck(&kNeverFaults);
      compressed_pending = false;
      SkipCountedSection(s, tally);
    }
  } else if (in_section) {
    scanner.Start(walker.file(), s, walker.section_bytes(),
                  SectionSeed(walker.section_key(), s.open.stream_id, s.open.seq));
    FrameScanner::Tally tally;
    if (helpers != nullptr && helpers->Verified(ordinal, walker.section_bytes().data(), &tally)) {
      scanner.TrustHelperCheck(walker.mapped_file().fault_word());
      SkipCountedSection(s, tally);
    }
  }
  item->kind = ItemKind::kSection;
  item->slab = &walker.slab();
  item->section = &s;
}

// Decodes the walker's compressed section and starts the scanner on its frames. False when it
// cannot be decoded: reported, and its records are lost (the stream goes on after it).
bool Reader::Impl::StartCompressed() {
  const SectionInfo& s = walker.section();
  const std::span<const uint8_t> bytes = walker.section_bytes();
  const uint32_t id = s.open.stream_id;
  const uint32_t seed = SectionSeed(walker.section_key(), id, s.open.seq);
  std::optional<std::string> problem;
  if ((s.slab->header.flags & kSlabFlagCompressed) == 0) {
    problem = "compressed section in a slab not marked as holding them";
  } else if (!s.close) {
    problem = "compressed section without a valid close block";
  } else {
    const uint64_t present = bytes.size() - kSectionHeaderSize;
    problem = codec.Decode(bytes.subspan(kSectionHeaderSize, std::min<uint64_t>(present, s.close->filled)),
                           *s.close, seed, &inflated);
  }
  if (problem) {
    const std::string lost = s.close ? std::to_string(s.close->record_count) + " records" : "its records";
    Report(walker.file(), s.slab->header.slab_index, s.offset, s.open.size, id, CorruptionKind::kMissingData,
           *problem + ": section " + std::to_string(s.open.seq) + " of stream " + StreamLabel(id) + " and " + lost +
               " in it are lost");
    ++walker.summary().compressed_sections_damaged;
    if (s.close) {
      // Its close block verifies: it counts the records ending in it, and the record it leaves
      // unfinished (its LAST in a later section) is counted when that LAST comes, as after a
      // section skipped by its header (SkipSection): later records keep their numbers.
      cursor->records += s.close->record_count;
      AbandonRecord(*cursor, id, CorruptionKind::kMissingData, "the section holding its next fragment is damaged");
      cursor->assembler.SkippedSection();
    } else {
      DropAcrossLoss(*cursor, id, CorruptionKind::kMissingData, "the section holding its next fragment is damaged");
    }
    return false;
  }
  std::memcpy(inflated.data(), bytes.data(), kSectionHeaderSize);
  StartDecoded(s);
  return true;
}

// The scanner on the frames of the compressed section `s`, decoded in `inflated`.
void Reader::Impl::StartDecoded(const SectionInfo& s) {
  inflated_section = s;
  inflated_section.close->filled = inflated.size() - kSectionHeaderSize;
  scanner.Start(walker.file(), inflated_section, inflated, SectionSeed(walker.section_key(), s.open.stream_id, s.open.seq));
  scan_section = &s;
}

// After a run of missing slabs beginning at slab S, where the ring kept the slab before it: a
// stream's sections begun before S were in the slabs read since the gap before (the kept one
// among them), so any of them not met there were lost to a power cut, not reused. Called at the
// first section after the gap, before anything past it is read: what the walk accounted for of
// each stream is its next section if it met the stream since the gap before, else its position
// in the first slab read after that gap (or 0 for a stream opened since: no position there, or
// first named since).
// Where each stream stood when S began comes from the kept slab's own positions (for a stream
// that began no section in it) and from the repeats in the slabs after the gap (NoteGapStart).
void Reader::Impl::BeginGap(const SectionInfo& s) {
  const uint32_t gaps = walker.ring_gaps();
  gap_gaps = gaps;
  gap_from = *walker.ring_gap_from();
  gap_accounted.clear();
  for (const auto& [id, c] : cursors) {
    if (id != kCatalogStream && c.seen && c.ring_gaps + 1 == gaps) gap_accounted[id] = c.expected_seq;
  }
  for (const auto& [id, f] : ring_floors) {
    if (f.gaps + 1 == gaps) gap_accounted[id] = std::max(gap_accounted[id], f.next_seq);
  }
  // (A walk from the log's first slab met every stream from its start.)
  gap_opened_from_zero = (positions_gaps && *positions_gaps + 1 == gaps) || (gaps == 1 && !partial);
  if (last_positions.slab_index + 1 == gap_from) {
    for (const auto& [id, next] : last_positions.next_seq) {
      NoteGapStart(id, next, walker.file(), s.slab->header.slab_index, s.offset);
    }
  }
}

void Reader::Impl::NoteGapStart(uint32_t id, uint64_t start, const std::string& file, uint32_t slab_index,
                                uint64_t offset) {
  auto it = gap_accounted.find(id);
  if (it == gap_accounted.end()) {
    // No position in the first slab read after the gap before, whose positions were read, or
    // first named since: opened since, numbered from 0.
    const auto named = named_at_gaps.find(id);
    if (!gap_opened_from_zero && (named == named_at_gaps.end() || named->second + 1 != *gap_gaps)) return;
    it = gap_accounted.emplace(id, 0).first;
  }
  if (start <= it->second) return;
  Report(file, slab_index, offset, 0, id, CorruptionKind::kMissingData,
         "stream " + StreamLabel(id) + "'s sections " + std::to_string(it->second) + " to " + std::to_string(start - 1) +
             " were begun before ring slab " + std::to_string(gap_from) + ", which the ring reused while it kept slab " +
             std::to_string(gap_from - 1) + ", in slabs read here, yet are missing (lost to a power cut)");
  it->second = start;
}

void Reader::Impl::LearnCatalog(std::span<const uint8_t> payload, uint64_t offset) {
  const bool ring = (scan_slab->header.flags & kSlabFlagRing) != 0;
  if (auto position = DecodeStreamPosition(payload); position && ring) {
    if (position->slab_index) {
      // Only the gap being read needs them.
      if (!walker.live() && gap_gaps == walker.ring_gaps() && *position->slab_index == gap_from) {
        NoteGapStart(position->stream_id, position->next_seq, *scan_file, scan_slab->header.slab_index, offset);
      }
      return;
    }
    if (last_positions.slab_index != scan_slab->header.slab_index) {
      last_positions = SlabPositions{scan_slab->header.slab_index, {}};
    }
    last_positions.next_seq[position->stream_id] = position->next_seq;
    positions_gaps = walker.ring_gaps();
    // The oldest slab's since the last gap says most: later slabs' positions are further on.
    auto [it, inserted] = ring_floors.try_emplace(position->stream_id, RingFloor{position->next_seq, walker.ring_gaps()});
    if (!inserted && it->second.gaps != walker.ring_gaps()) it->second = RingFloor{position->next_seq, walker.ring_gaps()};
    return;
  }
  // Marks 0xF0 to 0xFD in a stream record's encoding byte are kept for further records of ring
  // slabs' snapshots: not understood, they are passed over, not taken for damage (slablog.5).
  if (ring && payload.size() > 4 && payload[4] >= 0xF0 && payload[4] <= 0xFD) return;
  auto entry = DecodeCatalogEntry(payload);
  if (!entry) {
    Report(*scan_file, scan_slab->header.slab_index, offset, payload.size(), kCatalogStream,
           CorruptionKind::kBadSection, "catalog entry of " + std::to_string(payload.size()) +
                                            " bytes cannot be decoded");
    return;
  }
  auto [it, inserted] = catalog.emplace(entry->stream_id, *entry);
  if (inserted) named_at_gaps[entry->stream_id] = walker.ring_gaps();
  if (!inserted && (it->second.name != entry->name || it->second.encoding != entry->encoding ||
                    it->second.type != entry->type)) {
    Report(*scan_file, scan_slab->header.slab_index, offset, 0, kCatalogStream,
           CorruptionKind::kBadSection,
           "catalog names stream " + std::to_string(entry->stream_id) + " both '" +
               it->second.name + "' and '" + entry->name + "'");
  }
}

// Feeds one verified frame to its stream's record; true when `item` holds a record to return.
bool Reader::Impl::Feed(FrameView frame, Item* item) {
  const SectionInfo& s = *scan_section;
  const uint32_t id = s.open.stream_id;
  StreamCursor& c = *cursor;
  // Assembled straight into the item: a temporary copied over would cost store-forwarding stalls
  // on every record.
  RecordView& record = item->record;
  const RecordAssembler::Outcome outcome = c.assembler.Add(frame, scan_slab, scan_section->offset, &record);
  // A fragment is copied by Add; a FULL record is still in the map (GuardLiveRing).
  if (!GuardLiveRing(&record.payload, outcome == RecordAssembler::Outcome::kRecord && record.fragments == 1)) {
    c.assembler.Abandon();
    c.assembler.set_quiet_orphans(true);
    return false;
  }
  switch (outcome) {
    case RecordAssembler::Outcome::kInterrupted:
      ReportDropped(c, id, CorruptionKind::kUnfinishedFragment, c.assembler.dropped_offset(),
                    c.assembler.dropped_bytes(),
                    std::string("a ") + FragmentKindName(frame.header.kind) +
                        " frame follows before its LAST");
      if (frame.header.kind == FragmentKind::kFull) break;
      return false;
    case RecordAssembler::Outcome::kOrphan:
      Report(*scan_file, s.slab->header.slab_index, frame.offset, frame.payload.size(), id,
             CorruptionKind::kOrphanFragment,
             std::string(FragmentKindName(frame.header.kind)) + " fragment of stream " +
                 StreamLabel(id) + " with no FIRST before it");
      return false;
    case RecordAssembler::Outcome::kBrokenChain:
      ReportDropped(c, id, CorruptionKind::kMissingData, c.assembler.dropped_offset(),
                    c.assembler.dropped_bytes(), c.assembler.why());
      return false;
    case RecordAssembler::Outcome::kSkippedRecord:
      ++c.records;
      return false;
    case RecordAssembler::Outcome::kNone:
      return false;
    case RecordAssembler::Outcome::kRecord:
      break;
  }
  if (id == kCatalogStream) {
    LearnCatalog(record.payload, record.offset);
    return false;
  }
  if (!options.records) {
    CountRecord(record.payload.size());
    return false;
  }
  FinishRecord(id, s.stream_name, item);
  return true;
}

bool Reader::Impl::ReadFrame(Item* item) {
  item->slab = scan_slab;
  item->section = scan_section;
  if (has_pending) {
    has_pending = false;
    if (Feed(pending_frame, item)) return true;
  }
  if (!frames_started) {
    frames_started = true;
    const auto file = walker.file_bytes();
    const uint64_t from = walker.section().offset;
    const uint8_t* begin = file.data() + from;
    const uint8_t* end = file.data() + std::min<uint64_t>(file.size(), from + kPrefaultAhead);
    if (prefaulter != nullptr) {
      prefaulter->Request(begin, end);
    } else if (begin >= mapped_until || begin < mapped_from) {
      // Alone, map the section in one call: far cheaper than a page fault every 64 KiB, and no
      // further, as the sections after it may well be skipped (follow, export --since).
      const uint8_t* section_end =
          file.data() + std::min<uint64_t>(file.size(), from + walker.section().open.size);
      madvise(const_cast<uint8_t*>(begin), static_cast<size_t>(section_end - begin), MADV_POPULATE_READ);
      mapped_from = begin;
      mapped_until = section_end;
    }
  }
  if (compressed_pending) {
    compressed_pending = false;
    if (!StartCompressed()) {
      in_section = false;
      return false;
    }
  }
  const uint32_t id = scan_section->open.stream_id;
  while (true) {
    if (OnlyCountingWholeRecords(id)) CountWholeRecords(scanner.SkipFullFrames());
    // `frame` never has its address taken, so that it stays in registers (see NextClassified).
    FrameView frame;
    // Most frames are whole records (FULL), returned as they are, without the assembler. Looked
    // for first on their own: the loop is then free of what the other kinds need.
    if (ReturnsWholeAsIs(id) && scanner.NextIntact</*kFullOnly=*/true>(&frame)) {
      if (TakeWhole(frame, id, item)) return true;
      continue;
    }
    if (!scanner.NextIntact(&frame)) {
      FrameView classified;
      if (!scanner.NextClassified(&classified)) break;
      frame = classified;
      // Frames were lost before this one: a record in progress cannot go on across them.
      if (scanner.TakeGap()) {
        DropAcrossLoss(*cursor, id, CorruptionKind::kMissingData,
                       "a later fragment was in a damaged part of the log");
      }
    }
    if (frame.header.kind == FragmentKind::kFull && ReturnsWholeAsIs(id)) {
      if (TakeWhole(frame, id, item)) return true;
      continue;
    }
    if (options.frames) {
      item->kind = ItemKind::kFrame;
      item->frame = frame;
      pending_frame = frame;
      has_pending = frame.crc_ok;
      return true;
    }
    if (Feed(frame, item)) return true;
  }
  in_section = false;
  const SectionInfo& s = *scan_section;
  if (scanner.damaged_at_end()) {
    DropAcrossLoss(*cursor, id, CorruptionKind::kUnfinishedFragment,
                   "a later fragment was in a damaged part of the log");
  } else if (!s.close && !catching_up) {
    cursor->open_end = OpenSectionRead{walker.file_index(), walker.slab(), s, scanner.frames_end(), scanner.frames()};
  }
  return false;
}

void Reader::Impl::Finish() {
  finished = true;
  // A record whose LAST never came, at the end of its stream: whether its next section was never
  // started (the writer stopped between closing one section and opening the next, or is still
  // writing it) or lost since the last sync, nothing of the stream survived after it. A torn tail.
  auto& unfinished = walker.summary().unfinished_from_slab;
  for (auto& [id, c] : cursors) {
    if (c.assembler.active() && c.assembler.start_slab() != nullptr) {
      const uint32_t slab = c.assembler.start_slab()->header.slab_index;
      unfinished = std::min(unfinished.value_or(slab), slab);
    }
    AbandonRecord(c, id, CorruptionKind::kTornTail, "the stream ends before its LAST fragment");
    // In a ring, the LASTs without their FIRST at a stream's start: records the ring cut.
    if (walker.summary().ring) walker.summary().ring_partial_records += c.assembler.quiet_orphan_records();
  }
  walker.summary().corruptions = sink.count();
  walker.summary().in_progress = sink.in_progress();
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(std::string_view path, const ReaderOptions& options,
                                             Reporter* reporter) {
  Result<LogFiles> files = Error{Errc::kNotFound, std::string(path), 0, ""};
  std::vector<MappedFile> mapped;
  SlabHeaderCopy head;  // the first file's
  // A slab file listed but gone by now, or taken over since (TakenOverSinceMapped), was taken by a
  // ring for a later slab (or deleted): left out, the walk sees its index missing, as if the
  // listing had not found it. When the last one listed is gone, or a taken-over first file has no
  // slab magic left to judge the log by, a fast ring went past the whole listing: the log is
  // listed again.
  for (int attempt = 0;; ++attempt) {
    files = ResolveLogFiles(path, options.single_file);
    if (!files) return files.error();
    StartAtSlab(&files.value(), options.first_slab);
    mapped.clear();
    std::vector<std::string> kept;
    std::vector<uint32_t> kept_indexes;
    bool last_gone = false;
    for (size_t i = 0; i < files->paths.size(); ++i) {
      const std::string& p = files->paths[i];
      const bool last = i + 1 == files->paths.size();
      // Only a log's last slab is ever shortened (by the writer closing it, or truncate).
      auto m = MappedFile::Open(p, /*hold_trim_lock=*/last);
      const bool gone = m ? TakenOverSinceMapped(m.value(), CopySlabHeader(m->bytes(), 0))
                          : m.error().code == Errc::kNotFound;
      if (gone && !last) continue;
      if (gone && attempt < 16 && !files->base.empty()) {
        last_gone = true;
        break;
      }
      if (!m) return m.error();
      mapped.push_back(std::move(m.value()));
      kept.push_back(p);
      if (i < files->indexes.size()) kept_indexes.push_back(files->indexes[i]);
    }
    if (last_gone) continue;
    files->paths = std::move(kept);
    if (!files->indexes.empty()) files->indexes = std::move(kept_indexes);
    head = CopySlabHeader(mapped.front().bytes(), 0);
    if (!HasSlabMagic(head.view()) && attempt < 16 && TakenOverSinceMapped(mapped.front(), head)) continue;
    break;
  }
  // Without even a slab magic at its start, the first file is not a slablog log at all.
  if (!HasSlabMagic(head.view())) {
    return Error{Errc::kCorruption, files->paths.front(), 0,
                 mapped.front().bytes().empty() ? "file is empty: not a slablog log"
                                                : "not a slablog log (no slab header at offset 0)"};
  }
  // A log of another format version is not damaged: this slablog cannot read it.
  if (auto unsupported = UnsupportedSlab(head.view())) {
    return Error{Errc::kUnsupported, files->paths.front(), 0, *unsupported};
  }
  // Locks first, then a second look for slabs past the last one listed: a log that grew while it
  // was being opened had a writer, whatever the locks say by now. Otherwise the list could stop
  // before slabs a writer finished and closed in between.
  bool live = false;
  for (const std::string& p : files->paths) live = live || WriterActive(p);
  // So did a log a file of which its ring's writer took over since it was mapped. The writer can
  // go past every slab listed while the log is opened (a reader descheduled for a moment is
  // enough): their names then lead to nothing a lock can be looked at on, and the slabs right
  // after them may be reused too, which the second look then does not find. Taken for a log no
  // writer holds, the walk would read the later slabs' bytes in those files as damage. (After the
  // locks: a file still at its name now was at it when its lock was looked at.)
  const uint32_t later = files->base.empty() ? 0 : files->next_index;
  for (const MappedFile& m : mapped) live = live || (!m.StillAtItsPath() && TakenOverForALaterSlab(m, later));
  if (!files->base.empty()) {
    for (uint32_t next = files->next_index;; ++next) {
      auto m = MappedFile::Open(SlabPath(files->base, next), /*hold_trim_lock=*/true);
      if (!m) break;
      files->paths.push_back(m->path());
      mapped.push_back(std::move(m.value()));
      live = true;
    }
  }
  auto impl = std::make_unique<Impl>(options, std::move(files.value()), std::move(mapped), reporter);
  impl->walker.set_live(live);
  impl->sink.set_live(live);
  impl->walker.summary().writer_active = live;
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

const std::vector<std::string>& Reader::files() const { return impl_->log_files.paths; }

bool Reader::Next(Item* item) {
  Impl& r = *impl_;
  while (!r.finished) {
    if (r.in_section) {
      if (r.ReadFrame(item)) return true;
      if (r.catching_up) {
        // The earlier section is read to its end: now the one that made the walk stop.
        r.catching_up = false;
        r.catch_up.reset();
        r.BeginSection(item);
        return true;
      }
      continue;
    }
    switch (r.walker.Next()) {
      case SlabWalker::Event::kDone:
        r.Finish();
        return false;
      case SlabWalker::Event::kSlab:
        if (r.walker.summary().slabs == 1 && r.walker.slab().header.slab_index != 0) r.partial = true;
        item->kind = ItemKind::kSlab;
        item->slab = &r.walker.slab();
        item->section = nullptr;
        return true;
      case SlabWalker::Event::kSection: {
        SectionInfo& s = const_cast<SectionInfo&>(r.walker.section());
        r.OnSection(s);
        auto it = r.catalog.find(s.open.stream_id);
        s.stream_name = it == r.catalog.end() ? std::string_view() : std::string_view(it->second.name);
        if (r.catch_up) {
          // The earlier section is announced again, so that its records come after its own
          // section item, not after another stream's.
          r.StartCatchUp();
          item->kind = ItemKind::kSection;
          item->slab = r.scan_slab;
          item->section = r.scan_section;
          return true;
        }
        r.BeginSection(item);
        return true;
      }
    }
  }
  return false;
}

void Reader::SkipSection() {
  Impl& r = *impl_;
  // The rest of a section read again on a live log is read whatever the caller says: skipping it
  // would need the number of records in what is left of it.
  if (r.catching_up) return;
  // The catalog is always read: names must be known for every later section.
  if (!r.in_section || r.walker.section().open.stream_id == kCatalogStream) return;
  r.in_section = false;
  r.has_pending = false;
  r.compressed_pending = false;
  // A closed section says how many records end in it, so the stream's record numbers stay exact.
  if (const auto& close = r.walker.section().close) r.cursor->records += close->record_count;
  r.cursor->assembler.SkippedSection();
}

const CatalogEntry* Reader::stream(uint32_t id) const {
  auto it = impl_->catalog.find(id);
  return it == impl_->catalog.end() ? nullptr : &it->second;
}

std::vector<const CatalogEntry*> Reader::streams() const {
  std::vector<const CatalogEntry*> out;
  for (const auto& [id, e] : impl_->catalog) out.push_back(&e);
  return out;
}

const LogSummary& Reader::summary() const {
  LogSummary& s = impl_->walker.summary();
  s.corruptions = impl_->sink.count();
  s.in_progress = impl_->sink.in_progress();
  return s;
}

}  // namespace slablog
