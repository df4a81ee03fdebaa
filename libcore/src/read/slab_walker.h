// Walks the files of a log slab by slab and section by section, hopping from header to header
// without touching frames. Damaged, missing, duplicated or foreign slabs and damaged section
// headers are reported, and the walk resynchronises at the next header it can trust.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "mapped_file.h"
#include "slablog/reader.h"
#include "slablog/reporter.h"

namespace slablog {

class CorruptionSink;

class SlabWalker {
 public:
  enum class Event : uint8_t { kSlab, kSection, kDone };

  // `first_index` is the slab index the log must start with (nullopt: whatever comes first).
  SlabWalker(const std::vector<MappedFile>* files, std::optional<uint32_t> first_index,
             CorruptionSink* sink);

  Event Next();
  // A writer holds the log: its last slab may be left for a new one at any moment.
  void set_live(bool live) { live_ = live; }
  bool live() const { return live_; }
  // Runs of missing slabs passed before ring slabs (slabs the ring reused) so far.
  uint32_t ring_gaps() const { return ring_gaps_; }
  // A ring slab reused while the walk was in it: what the streams had after it there is gone.
  void NoteRingGap() {
    ++ring_gaps_;
    ring_gap_from_.reset();
  }
  // The first slab of the last run of missing slabs, when the last gap was one (not a slab
  // reused under a live walk).
  std::optional<uint32_t> ring_gap_from() const { return ring_gap_from_; }
  // Called with the pages of a slab the walk has left (default: dropped from the page tables here).
  void set_release(std::function<void(const uint8_t*, const uint8_t*)> release) {
    release_ = std::move(release);
  }
  const SlabInfo& slab() const { return slab_; }
  const SectionInfo& section() const { return section_; }
  // The bytes of the current section present in the file (header included).
  std::span<const uint8_t> section_bytes() const { return section_bytes_; }
  const std::string& file() const { return (*files_)[file_].path(); }
  size_t file_index() const { return file_; }
  const MappedFile& mapped_file() const { return (*files_)[file_]; }
  std::span<const uint8_t> file_bytes() const { return bytes(); }
  LogSummary& summary() { return summary_; }

 private:
  Event StartSlab();
  bool NextSectionInSlab();
  void LeaveSlab(std::optional<uint64_t> end_marker);
  void CheckLastSlab();
  void ReleasePages(uint64_t begin, uint64_t end);
  std::optional<uint64_t> FindSectionAhead(uint64_t from) const;
  void Report(uint64_t offset, uint64_t dropped, CorruptionKind kind, std::string detail);
  // Reports a read fault met in files [0, up_to) (once per file): read as zeros, those bytes may
  // have caused the other events reported for the file.
  void ReportReadFaults(size_t up_to);
  std::span<const uint8_t> bytes() const { return (*files_)[file_].bytes(); }

  const std::vector<MappedFile>* files_;
  CorruptionSink* sink_;
  std::optional<uint32_t> expected_index_;
  uint32_t ring_gaps_ = 0;
  std::optional<uint32_t> ring_gap_from_;
  bool slab_has_catalog_ = false;  // the current slab's catalog section was met
  LogId section_key_{};
 public:
  const LogId& section_key() const { return section_key_; }
 private:  // the current slab's (SectionKey)
  size_t file_ = 0;
  uint64_t pos_ = 0;              // file offset where the next slab is looked for
  bool file_had_slab_ = false;
  bool in_slab_ = false;
  uint64_t slab_end_ = 0;         // end of the slab's bytes present in the file
  uint64_t slab_capacity_end_ = 0;
  uint64_t section_pos_ = 0;      // file offset of the next section header
  bool ended_ = false;            // an end marker was seen (log continuing after it is a problem)
  uint32_t slab_sections_ = 0;    // sections of the current slab, and how many were open
  uint32_t slab_open_sections_ = 0;
  bool checked_last_ = false;
  size_t faults_checked_ = 0;     // files whose read faults were reported
  bool live_ = false;
  SlabInfo slab_;
  SectionInfo section_;
  std::span<const uint8_t> section_bytes_;
  LogSummary summary_;
  std::function<void(const uint8_t*, const uint8_t*)> release_;
};

// Counts corruption events and forwards them to the user's Reporter (which may be null).
class CorruptionSink {
 public:
  explicit CorruptionSink(Reporter* reporter) : reporter_(reporter) {}
  void Report(const Corruption& c) {
    // A compressed log's slabs are written whole, synced, and only then named (man slablog.5,
    // Compressed sections): nothing in them is a crash's torn tail, which readers, compress and
    // export take as harmless. What would be one there was cut or lost since: damage.
    // (A torn tail is at the log's end: in, or right after, the last slab walked.)
    if (c.kind == CorruptionKind::kTornTail && written_whole_) {
      Corruption d = c;
      d.kind = CorruptionKind::kMissingData;
      d.detail += " (the log ends in a compressed slab, which is written whole: this is damage, not a "
                  "crash's torn tail)";
      Report(d);
      return;
    }
    // A ring slab its writer reused while it was being read: what the walk met there is the new
    // slab's bytes, not damage (they never verify as the old slab's).
    if (overtaken_ && overtaken_(c)) return;  // (counted per slab by the reader)
    // On a log a writer holds, a torn tail is a frame or record being written: counted apart,
    // never reported as damage, so no reader raises a false alarm about a live log.
    if (live_ && c.kind == CorruptionKind::kTornTail) {
      ++in_progress_;
      return;
    }
    ++count_;
    if (reporter_ == nullptr) return;
    if (namer_ && c.stream != Corruption::kNoStream && c.stream_name.empty()) {
      Corruption named = c;
      named.stream_name = namer_(c.stream);
      reporter_->OnCorruption(named);
      return;
    }
    reporter_->OnCorruption(c);
  }
  // Whether the slab the walk is in (or left last) has kSlabFlagCompressed (see Report).
  void set_written_whole(bool whole) { written_whole_ = whole; }
  // Looks up stream names for the events (the reader's catalog).
  void set_namer(std::function<std::string(uint32_t)> namer) { namer_ = std::move(namer); }
  void set_live(bool live) { live_ = live; }
  bool live() const { return live_; }
  // Tells whether the slab a problem was found in was reused by its ring since it was read.
  void set_overtaken(std::function<bool(const Corruption&)> overtaken) { overtaken_ = std::move(overtaken); }
  uint64_t count() const { return count_; }
  uint64_t in_progress() const { return in_progress_; }

 private:
  Reporter* reporter_;
  bool live_ = false;
  uint64_t count_ = 0;
  uint64_t in_progress_ = 0;
  std::function<std::string(uint32_t)> namer_;
  std::function<bool(const Corruption&)> overtaken_;
  bool written_whole_ = false;
};

bool AllZero(std::span<const uint8_t> bytes);

// One copy of the slab header bytes at `at` (fewer at the end of the file). A writer may be
// changing them under the map: every judgement on a header is made on one copy, or two looks at
// the map could see two different headers (zeros, then the magic of a header being written).
struct SlabHeaderCopy {
  std::array<uint8_t, kSlabHeaderSize> bytes{};
  size_t size = 0;
  std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};
SlabHeaderCopy CopySlabHeader(std::span<const uint8_t> file, uint64_t at);

// One copy of the section header at `at`, which `file` holds whole. A ring's writer may take the
// file over under the map at any moment and write a later slab's header where this one is: every
// judgement on a section header is made on one copy, so that the fields a reader takes are those
// whose CRC it checked. (Loaded again from the map, they could be the later slab's, whose section
// numbers come after those of the slabs the walk reads next.) The magic is loaded first, with
// acquire order: writers store it last, with release order, so behind a magic that is set the
// copy holds the whole header, and a header being published reads as not there yet, not damaged.
struct SectionHeaderCopy {
  alignas(8) std::array<uint8_t, kSectionHeaderSize> bytes{};
  std::span<const uint8_t> view() const { return bytes; }
};
SectionHeaderCopy CopySectionHeader(std::span<const uint8_t> file, uint64_t at);

// Whether the slab file `f`, copied from as `head` (its first bytes), was taken over by its
// ring's writer for a later slab since it was mapped: `head` is not the header its name gives,
// and its name no longer leads to the file mapped. (The writer renames a file it reuses before
// it changes any byte of it: a header not the name's, under a name that still leads to the file,
// was that way before any reuse began, and is damage.)
bool TakenOverSinceMapped(const MappedFile& f, const SlabHeaderCopy& head);

// TakenOverSinceMapped on a copy of `f`'s header made after every load the caller made before
// the call (an acquire fence first): asked after reading bytes of the file, a "no" then says that
// those bytes were read before any reuse began. (Without the fence, the header's loads could be
// made before the bytes' on CPUs where loads pass loads, or by the compiler.)
bool TakenOverSinceRead(const MappedFile& f);

}  // namespace slablog
