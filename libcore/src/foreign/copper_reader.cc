// The walk of a Copper log: slab by slab, section by section, as copper-rs's own writer lays them
// out (slablog/copper.h), and also where its own reader gives up: sections left open by a crash
// (read until the rest is zeros), stale temporary end markers and zero-filled slab tails (the log
// goes on in the next slab), damaged headers (the walk picks up at the next page that holds one).
#include <algorithm>
#include <cstring>

#include "copper_bincode.h"
#include "copper_layout.h"
#include "copper_values.h"
#include "log_files.h"
#include "mapped_file.h"
#include "slablog/copper.h"
#include "slablog/json_text.h"

namespace slablog::copper {
namespace {

bool AllZero(std::span<const uint8_t> b) {
  // Word at a time: crashed slabs are mostly zeros, and this runs over all of them.
  size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    if (w != 0) return false;
  }
  for (; i < b.size(); ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

// One past the last non-zero byte of `b` (0 when all are zero).
size_t EndOfNonZero(std::span<const uint8_t> b) {
  size_t n = b.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, b.data() + n - 8, 8);
    if (w != 0) break;
    n -= 8;
  }
  while (n > 0 && b[n - 1] == 0) --n;
  return n;
}

// The unit a disk writes whole, which a power cut loses whole (man/slablog.5, CRASH MODEL).
constexpr uint64_t kSector = 512;

int StreamSlot(EntryType t) {
  return t == EntryType::kLogLine ? 0 : t == EntryType::kCopperList ? 1 : 2;
}

}  // namespace

struct Reader::Impl {
  enum class Phase : uint8_t { kNextSlab, kSections, kEntries, kSectionBytes, kDone };

  ReadOptions opt;
  Reporter* reporter = nullptr;
  LogFiles files;
  Summary summary;

  Phase phase = Phase::kNextSlab;
  size_t file_i = 0;
  uint32_t expected_index = 0;
  bool layout_known = false;
  bool level_known = false;
  MappedFile map;
  Slab slab;
  uint64_t pos = 0;
  Section section;
  // The entries of the current section, while they are returned.
  uint64_t entry_pos = 0;    // within section.data
  uint64_t entries_left = 0;
  // In a section open at the crash, one past its last non-zero byte (within section.data's
  // start): an entry that ends beyond it read zeros the writer may never have written.
  size_t open_nonzero_end = SIZE_MAX;
  // All-zero sectors kept inside entries of the current section (from section.data's start).
  std::vector<size_t> zero_sectors;
  size_t zero_i = 0;
  uint64_t next_index[3] = {0, 0, 0};
  std::string json;

  bool more_files() const { return file_i + 1 < files.paths.size(); }

  void Report(uint64_t offset, uint64_t dropped, CorruptionKind kind, EntryType stream, std::string detail) {
    ++summary.problems;
    if (reporter == nullptr) return;
    Corruption c;
    c.file = slab.file;
    c.slab = slab.index;
    c.offset = offset;
    c.bytes_dropped = dropped;
    c.kind = kind;
    if (stream == EntryType::kLogLine || stream == EntryType::kCopperList || stream == EntryType::kFrozenTasks) {
      c.stream = static_cast<uint32_t>(stream);
      c.stream_name = StreamName(stream);
    } else {
      c.stream = Corruption::kNoStream;
    }
    c.detail = std::move(detail);
    reporter->OnCorruption(c);
  }

  void End(std::string how) {
    if (phase != Phase::kDone) ReportReadFault();
    if (summary.end.empty()) summary.end = std::move(how);
    phase = Phase::kDone;
  }

  bool OpenSlab(Item* item) {
    if (file_i >= files.paths.size()) {
      End("the last slab file ends without an end marker (" + (slab.file.empty() ? std::string("no slab") : slab.file) +
          ", " + std::to_string(slab.bytes) + " bytes)");
      return false;
    }
    slab = Slab{files.paths[file_i], files.indexes.empty() ? static_cast<uint32_t>(file_i) : files.indexes[file_i], 0};
    if (slab.index != expected_index && !files.indexes.empty()) {
      Report(0, 0, CorruptionKind::kBadFileHeader, EntryType::kEmpty,
             "slab files " + std::to_string(expected_index) + ".." + std::to_string(slab.index - 1) +
                 " are missing: their sections are lost");
    }
    expected_index = slab.index + 1;
    auto m = MappedFile::Open(slab.file);
    if (!m) {
      Report(0, 0, CorruptionKind::kIoError, EntryType::kEmpty, "cannot read the slab: " + m.error().message);
      map = MappedFile();
      slab.bytes = 0;
      pos = 0;
    } else {
      map = std::move(m.value());
      slab.bytes = map.bytes().size();
      pos = 0;
    }
    ++summary.slabs;
    const auto bytes = map.bytes();
    if (file_i == 0) {
      // Only slab 0 has the main header; a log named from a later slab has none to read.
      auto main = slab.index == 0 ? DecodeMainHeader(bytes) : std::nullopt;
      if (main) {
        summary.first_section_offset = main->first_section_offset;
        summary.page_size = main->page_size;
        pos = main->first_section_offset;
        if (pos < 10 || pos > bytes.size()) {
          Report(0, 0, CorruptionKind::kBadFileHeader, EntryType::kEmpty,
                 "main header's first section offset " + std::to_string(pos) + " is outside the slab; trying 4096");
          pos = 4096;
        }
      } else if (slab.index == 0) {
        Report(0, 0, CorruptionKind::kBadFileHeader, EntryType::kEmpty,
               "no Copper main header (magic b4 a5 50 ff, two u16 varints); trying the first section at 4096");
        pos = 4096;
      }
      if (pos < bytes.size()) summary.layout = GuessLayout(bytes.subspan(pos));
      layout_known = pos + 2 < bytes.size() && bytes[pos] == kSectionMagic[0];
    }
    item->kind = ItemKind::kSlab;
    item->slab = &slab;
    item->section = nullptr;
    phase = Phase::kSections;
    return true;
  }

  void NextFile() {
    ReportReadFault();
    ++file_i;
    phase = Phase::kNextSlab;
  }

  // The first page boundary after `from` that holds a section header, or the end of the slab.
  uint64_t Resync(uint64_t from) {
    const auto bytes = map.bytes();
    const uint64_t page = summary.page_size >= 512 ? summary.page_size : 4096;
    for (uint64_t p = (from / page + 1) * page; p < bytes.size(); p += page) {
      if (DecodeSectionHeader(summary.layout, bytes.subspan(p))) return p;
    }
    return bytes.size();
  }

  // How far the log lines of `region` decode with or without the level byte: +1 when only the
  // reading with it decodes all of them (or, when neither does, gets further; or, as far, gives
  // fewer lines whose parameter names and parameters differ in number), -1 the other way, 0 when
  // the region does not tell.
  static int JudgeLevel(std::span<const uint8_t> region, bool exact) {
    const size_t stop = exact ? region.size() : EndOfNonZero(region);
    struct Reach {
      size_t end = 0;       // where the first line that does not decode starts
      uint64_t odd = 0;     // lines with names and parameters of different numbers
    };
    auto reach = [&](bool with_level) {
      Cursor c(region);
      Reach r;
      while (c.pos() < stop) {
        const size_t at = c.pos();
        bool match = true;
        if (!DecodeLogLineShape(&c, with_level, &match)) {
          r.end = at;
          return r;
        }
        r.odd += match ? 0 : 1;
      }
      r.end = c.pos();
      return r;
    };
    const Reach with = reach(true), without = reach(false);
    const bool all_with = with.end >= stop && (!exact || with.end == region.size());
    const bool all_without = without.end >= stop && (!exact || without.end == region.size());
    if (all_with != all_without) return all_with ? 1 : -1;
    if (!all_with && with.end != without.end) return with.end > without.end ? 1 : -1;
    if (with.odd != without.odd) return with.odd < without.odd ? 1 : -1;
    return 0;
  }

  // Decides whether log lines carry Copper's level byte (always in v1; in the original layout
  // from 2025-05 on) before the first is returned, from the first log-line section that tells the
  // two readings apart: this one, or one after it (looked for by their headers, up to 64 of them,
  // in this slab and the next ones). When none does, no level byte. Decided once, so that a log
  // cut shorter decodes its lines as the whole log does.
  void LearnLevel(std::span<const uint8_t> region, bool exact) {
    if (summary.layout == Layout::kV1) summary.log_line_level_decided = true;
    if (level_known || summary.layout == Layout::kV1) return;
    level_known = true;
    if (opt.log_line_level) {
      summary.log_line_level = *opt.log_line_level;
      summary.log_line_level_decided = true;
      return;
    }
    int verdict = JudgeLevel(region, exact);
    int looked = 0;
    for (size_t fi = file_i; verdict == 0 && looked < 64 && fi < files.paths.size(); ++fi) {
      MappedFile other;
      std::span<const uint8_t> bytes;
      uint64_t p = 0;
      if (fi == file_i) {
        bytes = map.bytes();
        p = section.offset + section.size;
      } else {
        auto m = MappedFile::Open(files.paths[fi]);
        if (!m) break;
        other = std::move(m.value());
        bytes = other.bytes();
      }
      while (verdict == 0 && looked < 64 && p < bytes.size()) {
        auto h = DecodeSectionHeader(summary.layout, bytes.subspan(p));
        if (!h || h->size == 0 || h->type == EntryType::kLastEntry) break;
        if (h->type == EntryType::kLogLine) {
          const uint64_t begin = std::min<uint64_t>(p + h->data_start, bytes.size());
          const uint64_t end = std::min<uint64_t>(h->used > 0 ? begin + h->used : p + h->size, bytes.size());
          verdict = JudgeLevel(bytes.subspan(begin, std::max(begin, end) - begin), h->used > 0);
          ++looked;
        }
        p += h->size;
      }
    }
    summary.log_line_level = verdict > 0;
    summary.log_line_level_decided = verdict != 0;
  }

  // The first sector (kSector bytes at a file offset that is a multiple of kSector) at or after
  // the one holding file offset `from` and starting before `to` whose bytes are all zeros, or
  // nullopt. A power cut loses sectors written since the last flush; on a preallocated Copper slab
  // they read back as zeros, which decode as entries (a log line of zeros is one at time 0).
  std::optional<uint64_t> FirstZeroSector(uint64_t from, uint64_t to) const {
    const auto bytes = map.bytes();
    for (uint64_t s = from / kSector * kSector; s < to && s < bytes.size(); s += kSector) {
      // Real data almost never starts a sector with a zero word: one load decides most sectors.
      if (AllZero(bytes.subspan(s, std::min<uint64_t>(kSector, bytes.size() - s)))) return s;
    }
    return std::nullopt;
  }

  // Entries of the current section decoded from `from` while they start before `stop`. The
  // times of all but the last are folded into the stream's range; the last one's is `last_t`,
  // which the caller folds once it knows the entry is kept.
  struct Run {
    uint64_t entries = 0;
    size_t last_start = 0, end = 0;
    bool failed = false;
    std::optional<int64_t> last_t;
  };
  void FoldTime(EntryType type, std::optional<int64_t> t) {
    if (!t) return;
    StreamSummary& s = Stream(type);
    s.first_t = s.first_t ? std::min(*s.first_t, *t) : *t;
    s.last_t = s.last_t ? std::max(*s.last_t, *t) : *t;
  }
  Run DecodeRun(std::span<const uint8_t> region, size_t from, size_t stop) {
    Run r;
    if (section.type == EntryType::kLogLine) {
      // The common case in one loop of one file, where the decoder is inlined.
      const LogLineRun run = CountLogLines(region, from, stop, summary.log_line_level);
      FoldTime(section.type, run.first_t);
      FoldTime(section.type, run.last_t);
      return Run{run.entries, run.last_start, run.end, run.failed, run.last_entry_t};
    }
    Cursor c(region);
    c.Skip(from);
    r.last_start = r.end = from;
    while (c.pos() < stop) {
      const size_t at = c.pos();
      if (!DecodeOne(&c, nullptr) || c.pos() == at) {  // (types that take no bytes are refused)
        r.end = at;
        r.failed = true;
        return r;
      }
      if (r.entries > 0) FoldTime(section.type, r.last_t);
      ++r.entries;
      r.last_start = at;
      r.last_t = last_time;
    }
    r.end = c.pos();
    return r;
  }

  // Counts (and checks) the entries of a split section; sets section.data to what decoded. An
  // all-zero sector in its data is a hole (sectors lost at a power cut) unless it lies inside one
  // entry or holds only the tail of the last: reading stops before the entry that reaches into
  // it, and the rest is reported lost.
  void CountEntries(std::span<const uint8_t> region, bool exact, bool cut_short) {
    const size_t stop = exact ? region.size() : EndOfNonZero(region);
    const uint64_t base = section.data_offset;
    const uint64_t file_end = map.bytes().size();
    uint64_t n = 0;
    size_t from = 0, end = 0, last_start = 0;
    std::optional<int64_t> pending_t;  // the time of the last entry counted, not yet folded
    zero_sectors.clear();
    zero_i = 0;
    for (;;) {
      const auto zero = FirstZeroSector(base + from, base + stop);
      const size_t hole = zero ? static_cast<size_t>(std::max(*zero, base) - base) : stop;
      const Run run = DecodeRun(region, from, std::min(stop, hole));
      n += run.entries;
      if (run.entries > 0) {
        FoldTime(section.type, pending_t);
        pending_t = run.last_t;
        last_start = run.last_start;
      }
      end = run.end;
      if (run.failed && !zero) {
        ReportUndecodable(run.end, stop, n, cut_short);
        break;
      }
      if (!zero) break;
      // (An entry that does not decode before a zero sector with data after it: it may have
      // read the zeros, and what follows is no torn tail. Reported as the hole.)
      if (!run.failed && (end >= stop || end >= *zero + kSector - base)) {
        // The zero sector lies inside the entry that ended here, or holds the tail of the last:
        // kept, and marked.
        zero_sectors.push_back(hole);
        if (end >= stop) break;
        from = end;
        continue;
      }
      if (n > 0 && end > hole) {  // the entry before the hole reaches into it: its tail is lost
        --n;
        end = last_start;
        pending_t.reset();
      }
      // In a file cut short, a sector that the cut left whole is damage of its own.
      if (!cut_short || *zero + kSector <= file_end) {
        Report(base + end, stop - end, CorruptionKind::kMissingData, section.type,
               "an all-zero " + std::to_string(kSector) + "-byte sector at offset " + std::to_string(*zero) +
                   " inside the section's data (lost at a power cut?): " + std::to_string(stop - end) +
                   " bytes from entry " + std::to_string(n) + " of the section to its " +
                   (exact ? "used size" : "last non-zero byte") + " are not read");
      }
      break;
    }
    FoldTime(section.type, pending_t);
    section.entries = n;
    section.data = region.first(end);
  }

  // An entry at `at` of the current section that does not decode: the rest up to `stop` is
  // lost (a torn tail in a section open at the crash). Not reported again in a file cut short
  // inside the section, which was reported already.
  void ReportUndecodable(size_t at, size_t stop, uint64_t n, bool cut_short) {
    if (cut_short) return;
    const bool torn = section.state == SectionState::kOpen;
    Report(section.data_offset + at, stop - at, torn ? CorruptionKind::kTornTail : CorruptionKind::kBadEntry,
           section.type,
           std::string(torn ? "the last bytes of a section open at the crash" : "an entry") +
               " that does not decode as " + (section.type == EntryType::kLogLine ? "a log line" : "the copperlist type") +
               " (entry " + std::to_string(n) + " of the section); " + std::to_string(stop - at) +
               " bytes up to the section's end are lost");
  }

  // Whether a log line at the start of `rest` would render to more JSON than the limit. A line's
  // JSON takes at most kLogLineJsonPerByte bytes per byte (a parameter of one byte renders as
  // {"type":"Unit","disc":13,"value":null}) plus a little: only when the rest of the section is
  // that large is the line measured.
  static constexpr size_t kLogLineJsonPerByte = 48;
  bool JsonTooLarge(std::span<const uint8_t> rest) {
    if (section.type != EntryType::kLogLine) return false;  // CopperType::Decode has the limit
    const size_t fixed = 256;
    if (opt.max_entry_json < fixed) return true;
    const size_t room = (opt.max_entry_json - fixed) / kLogLineJsonPerByte;
    if (rest.size() <= room) return false;
    Cursor probe(rest);
    DecodeOne(&probe, nullptr);
    return probe.pos() > room;
  }

  std::optional<int64_t> last_time;
  // One entry of the current section's type, its time in last_time.
  bool DecodeOne(Cursor* c, std::string* out) {
    last_time.reset();
    if (section.type == EntryType::kLogLine) {
      int64_t t;
      const size_t mark = out ? out->size() : 0;
      if (!DecodeLogLine(c, summary.log_line_level, out, &t)) {
        if (out) out->resize(mark);
        return false;
      }
      last_time = t;
      return true;
    }
    const std::span<const uint8_t> rest(c->here(), c->left());
    auto n = opt.copperlist_type->Decode(rest, out, &last_time, opt.max_entry_json);
    if (!n) return false;
    c->Skip(*n);
    return true;
  }

  StreamSummary& Stream(EntryType t) {
    switch (t) {
      case EntryType::kLogLine: return summary.log_lines;
      case EntryType::kCopperList: return summary.copperlists;
      case EntryType::kFrozenTasks: return summary.keyframes;
      default: return no_stream;  // Empty sections: counted in no stream
    }
  }
  StreamSummary no_stream;

  // A page of the current slab that could not be read (the file shrank under the reader, or the
  // disk failed) read as zeros: say so once per slab, before leaving it.
  void ReportReadFault() {
    if (auto at = map.fault_offset()) {
      Report(*at, 0, CorruptionKind::kIoError, EntryType::kEmpty, ReadFaultDetail(*at));
    }
  }

  // Whether a LastEntry of the original layout at `at` ends the log: the last slab file, and
  // nothing but zeros after its header, in the 80 bytes the writer keeps of it and after them. (A
  // keyframes section of the 2025-06..10 layout, type 3 too, holds data.)
  bool EndsTheLog(uint64_t at, uint64_t data_start) {
    const auto bytes = map.bytes();
    const uint64_t from = std::min<uint64_t>(at + data_start, bytes.size());
    return !more_files() && at + 80 >= bytes.size() && AllZero(bytes.subspan(from));
  }

  // Where the section after the current one starts: its size on from its start, unless that
  // lands on neither a section header nor zeros (nor the file's end) and a section header lies
  // on a page boundary between the end of its data (`data_end`) and there. No writer puts one
  // there, so its size is damaged: say so, and go on from that header rather than skip the
  // sections in between. (A correct log always has a header or zeros at its size: what lies
  // between, v1's residue of a partial entry, is not looked at.)
  uint64_t NextSection(uint64_t data_end) {
    const auto bytes = map.bytes();
    const uint64_t start = section.offset;
    const uint64_t next = start + section.size;
    if (next == bytes.size()) return next;
    if (next < bytes.size()) {
      const auto at = bytes.subspan(next);
      if (DecodeSectionHeader(summary.layout, at) || AllZero(at)) {
        return next;
      }
    }
    const uint64_t page = summary.page_size >= 512 ? summary.page_size : 4096;
    const uint64_t limit = std::min<uint64_t>(next, bytes.size());
    for (uint64_t p = std::max(start + page, (data_end + page - 1) / page * page); p < limit; p += page) {
      if (bytes[p] != kSectionMagic[0] || p + 1 >= bytes.size() || bytes[p + 1] != kSectionMagic[1]) continue;
      if (!DecodeSectionHeader(summary.layout, bytes.subspan(p))) continue;
      Report(start, 0, CorruptionKind::kBadSection, section.type,
             "the section's size " + std::to_string(section.size) + " would skip the section header at offset " +
                 std::to_string(p) + ": its size is damaged; reading goes on there");
      return p;
    }
    return next;
  }

  bool ReadSection(Item* item) {
    const auto bytes = map.bytes();
    if (pos >= bytes.size()) {
      if (!more_files()) {
        End("the last slab file ends at offset " + std::to_string(bytes.size()) + " of " + slab.file +
            " without an end marker");
        return false;
      }
      NextFile();
      return false;
    }
    const auto at = bytes.subspan(pos);
    if (!layout_known && at.size() >= 3 && at[0] == kSectionMagic[0]) {
      summary.layout = GuessLayout(at);
      layout_known = true;
    }
    auto header = DecodeSectionHeader(summary.layout, at);
    if (header && (header->size == 0 || header->size < header->encoded_len)) header.reset();
    if (!header) {
      if (AllZero(at)) {
        // Preallocated space the writer never reached: a crashed log's slab tail.
        if (more_files()) {
          NextFile();
        } else {
          End("zeros from offset " + std::to_string(pos) + " of " + slab.file +
              " to its end, no end marker: the writer stopped without closing the log");
        }
        return false;
      }
      const uint64_t next = Resync(pos);
      Report(pos, next - pos, CorruptionKind::kBadSection, EntryType::kEmpty,
             "no valid section header here; " + std::to_string(next - pos) + " bytes skipped to " +
                 (next < bytes.size() ? "the next section at offset " + std::to_string(next) : "the end of the slab"));
      pos = next;
      return false;
    }
    section = Section{};
    section.slab = &slab;
    section.offset = pos;
    section.type = header->type;
    section.type_id = header->type_id;
    section.header_bytes = header->encoded_len;
    section.size = header->size;
    section.used = header->used;
    section.open_flag = header->is_open;
    section.data_offset = pos + header->data_start;
    ++summary.sections;
    item->kind = ItemKind::kSection;
    item->slab = &slab;
    item->section = &section;
    if (summary.layout == Layout::kOriginal && section.type_id == 4) {
      summary.layout = Layout::kKeyframes;  // its LastEntry: the log was written 2025-06..10
    } else if (summary.layout == Layout::kOriginal && section.type_id == 3 && !EndsTheLog(pos, header->data_start)) {
      // Not the original LastEntry, after which the writer trims the file (+80): a keyframes
      // section of the 2025-06..10 layout.
      summary.layout = Layout::kKeyframes;
    }
    if (summary.layout == Layout::kKeyframes && section.type_id == 3) section.type = EntryType::kFrozenTasks;
    if (section.type == EntryType::kLastEntry) {
      section.state = SectionState::kClosed;
      const bool final_marker = summary.layout != Layout::kV1 || !header->is_open;
      if (final_marker) {
        section.marker = Marker::kFinal;
        summary.clean = true;
        End("final end marker at offset " + std::to_string(pos) + " of " + slab.file + ": closed cleanly");
        // The writer trims the file to the marker's end (+80 in the original layout, +512 in v1):
        // less than that is a file cut short since.
        const uint64_t want = summary.layout != Layout::kV1 ? 80 : section.size;
        if (bytes.size() - pos < want) {
          Report(bytes.size(), want - (bytes.size() - pos), CorruptionKind::kMissingData, EntryType::kEmpty,
                 "the file ends " + std::to_string(bytes.size() - pos) + " bytes into the final end marker, which " +
                     "the writer leaves " + std::to_string(want) + " bytes long: it was cut short");
        }
        if (more_files()) {
          Report(pos, 0, CorruptionKind::kBadFileHeader, EntryType::kEmpty,
                 std::to_string(files.paths.size() - file_i - 1) + " slab file(s) after the final end marker were not read");
        }
      } else if (more_files()) {
        section.marker = Marker::kStale;  // left when the writer moved on with a section still open
        NextFile();
      } else {
        section.marker = Marker::kTemporary;
        End("temporary end marker at offset " + std::to_string(pos) + " of " + slab.file +
            ": not closed (the writer crashed, or is still writing)");
      }
      return true;
    }
    const uint64_t section_end = std::min<uint64_t>(pos + section.size, bytes.size());
    const uint64_t data_begin = std::min(section.data_offset, section_end);
    const std::span<const uint8_t> area = bytes.subspan(data_begin, section_end - data_begin);
    // Open at a crash: v1's is_open, the original layout's used 0 with data. A v1 section closed
    // with used 0 but data in it is one of the 2025-10..11 layout (no is_open byte: the zero
    // after used reads as closed) left open by a crash.
    const bool open = header->used == 0 && (summary.layout != Layout::kV1 || header->is_open || EndOfNonZero(area) > 0);
    const bool wanted = (opt.entry_types >> static_cast<unsigned>(section.type) & 1) != 0;
    const bool split = wanted && (section.type == EntryType::kLogLine ||
                                  (section.type == EntryType::kCopperList && opt.copperlist_type != nullptr));
    StreamSummary& stream = Stream(section.type);
    ++stream.sections;
    std::span<const uint8_t> region;
    bool exact = true, cut_short = false;
    open_nonzero_end = SIZE_MAX;
    if (!open) {
      section.state = header->used == 0 ? SectionState::kUnused : SectionState::kClosed;
      uint64_t want = header->used;
      if (section.data_offset + want > pos + section.size) {
        // No writer leaves this: the true used size is unknown, and reading to the section's end
        // would make entries of the partial one after it and of the zeros. Its data is lost.
        Report(pos, section_end - data_begin, CorruptionKind::kBadSection, section.type,
               "used size " + std::to_string(want) + " runs past the section's size " + std::to_string(section.size) +
                   ": its used size is damaged, and its " + std::to_string(section_end - data_begin) +
                   " bytes of data are not read");
        want = 0;
        section.state = SectionState::kUnused;
        cut_short = true;  // nothing more to report of it
      }
      if (want > area.size()) {
        cut_short = true;
        Report(data_begin + area.size(), want - area.size(), CorruptionKind::kMissingData, section.type,
               "the file ends " + std::to_string(want - area.size()) + " bytes before the section's used size " +
                   std::to_string(header->used));
        want = area.size();
      }
      region = area.first(want);
    } else {
      const size_t end = EndOfNonZero(area);
      open_nonzero_end = end;
      section.state = end == 0 && !header->is_open ? SectionState::kUnused : SectionState::kOpen;
      if (section.state == SectionState::kOpen) ++stream.open_sections;
      // The last entry may end in zero bytes: decoding reads on into the zeros, not past them.
      region = split ? area : area.first(end);
      exact = !split;
      if (!split) section.trailing_zeros_possible = true;
    }
    if (section.type == EntryType::kLogLine) LearnLevel(region, exact);
    if (split && section.type != EntryType::kEmpty) {
      section.split = true;
      CountEntries(region, exact, cut_short);
      section.first_index = next_index[StreamSlot(section.type)];
      next_index[StreamSlot(section.type)] += section.entries;
      stream.entries += section.entries;
    } else {
      section.data = region;
      if (section.type != EntryType::kEmpty && !region.empty()) ++stream.unsplit_sections;
    }
    stream.bytes += section.data.size();
    entry_pos = 0;
    entries_left = section.entries;
    pos = NextSection(section.data_offset + section.data.size());
    if (opt.entries && section.split && section.entries > 0) {
      phase = Phase::kEntries;
    } else if (opt.entries && wanted && !section.split && !section.data.empty() && section.type != EntryType::kEmpty) {
      phase = Phase::kSectionBytes;
    }
    return true;
  }

  bool NextEntry(Item* item) {
    if (entries_left == 0) {
      phase = Phase::kSections;
      return false;
    }
    Cursor c(section.data.subspan(entry_pos));
    json.clear();
    // Decoded once already (CountEntries): it decodes again the same way, unless its JSON would
    // pass the limit.
    const bool want_json = opt.json && (opt.json_types >> static_cast<unsigned>(section.type) & 1) != 0;
    bool too_large = want_json && JsonTooLarge(section.data.subspan(entry_pos));
    if (!DecodeOne(&c, want_json && !too_large ? &json : nullptr)) {
      // The copperlist's JSON passed the limit; or, in a log being written, the bytes changed
      // since they were counted (the last entry of an open section, which readers hold back).
      c = Cursor(section.data.subspan(entry_pos));
      too_large = DecodeOne(&c, nullptr) && want_json;
    }
    if (too_large) {
      json.assign("{\"too_large_for_json\":true,\"base64\":");
      AppendBase64(&json, section.data.subspan(entry_pos, c.pos()));
      json.push_back('}');
      Report(section.data_offset + entry_pos, 0, CorruptionKind::kBadEntry, section.type,
             "entry " + std::to_string(section.entries - entries_left) + " of the section (" +
                 std::to_string(c.pos()) + " bytes) would pass " + std::to_string(opt.max_entry_json) +
                 " bytes as JSON: given as base64 of its bytes");
    }
    item->kind = ItemKind::kEntry;
    item->slab = &slab;
    item->section = &section;
    item->entry.type = section.type;
    item->entry.index = section.first_index + (section.entries - entries_left);
    item->entry.offset = section.data_offset + entry_pos;
    item->entry.bytes = section.data.subspan(entry_pos, c.pos());
    item->entry.time = last_time;
    item->entry.json = json;
    item->entry.trailing_zeros_possible = entry_pos + c.pos() > open_nonzero_end;
    // (Entries come in order: the sectors before this one are passed once.)
    while (zero_i < zero_sectors.size() && zero_sectors[zero_i] + kSector <= entry_pos) ++zero_i;
    item->entry.zero_sector_possible = zero_i < zero_sectors.size() && zero_sectors[zero_i] < entry_pos + c.pos();
    entry_pos += c.pos();
    --entries_left;
    return true;
  }

  bool SectionBytes(Item* item) {
    phase = Phase::kSections;
    item->kind = ItemKind::kSectionBytes;
    item->slab = &slab;
    item->section = &section;
    item->entry = Entry{};
    item->entry.type = section.type;
    item->entry.offset = section.data_offset;
    item->entry.bytes = section.data;
    if (opt.json) {
      json.clear();
      AppendBase64(&json, section.data);
      item->entry.json = json;
    }
    return true;
  }
};

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kOriginal: return "copper (layout of copper-rs up to 2025-06)";
    case Layout::kKeyframes: return "copper (layout of copper-rs 2025-06..2025-10, with keyframes)";
    case Layout::kV1: return "copper v1 (layout of copper-rs from 2025-11-28)";
  }
  return "copper";
}

const char* EntryTypeName(EntryType type) {
  switch (type) {
    case EntryType::kEmpty: return "Empty";
    case EntryType::kLogLine: return "StructuredLogLine";
    case EntryType::kCopperList: return "CopperList";
    case EntryType::kFrozenTasks: return "FrozenTasks";
    case EntryType::kLastEntry: return "LastEntry";
  }
  return "?";
}

const char* StreamName(EntryType type) {
  switch (type) {
    case EntryType::kLogLine: return "log";
    case EntryType::kCopperList: return "copperlist";
    case EntryType::kFrozenTasks: return "keyframes";
    default: return "";
  }
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(std::string_view path, const ReadOptions& options, Reporter* reporter) {
  auto files = ResolveLogFiles(path, options.single_file);
  if (!files) return files.error();
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  impl->reporter = reporter;
  impl->files = std::move(files.value());
  if (!impl->files.indexes.empty()) impl->expected_index = 0;
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

const std::vector<std::string>& Reader::files() const { return impl_->files.paths; }
const Summary& Reader::summary() const { return impl_->summary; }

bool Reader::Next(Item* item) {
  Impl& m = *impl_;
  for (;;) {
    switch (m.phase) {
      case Impl::Phase::kDone:
        return false;
      case Impl::Phase::kNextSlab:
        if (m.OpenSlab(item)) return true;
        break;
      case Impl::Phase::kSections:
        if (m.ReadSection(item)) return true;
        break;
      case Impl::Phase::kEntries:
        if (m.NextEntry(item)) return true;
        break;
      case Impl::Phase::kSectionBytes:
        return m.SectionBytes(item);
    }
  }
}

}  // namespace slablog::copper
