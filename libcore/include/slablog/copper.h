// Reading Copper's unified logs (copper-rs, cu29_unifiedlog), crashed ones included, and writing
// them as slablog logs. Copper writes slab files of page-aligned typed sections of bincode
// entries, with no checksums; man/slablog.5 says what is read of its two layouts. Detection is in
// slablog/log_format.h.
//
// The reader walks the slabs in order and returns each slab, each section (log lines,
// copperlists, keyframes, end markers) and each entry, split and, on request, rendered as JSON.
// Log lines (cu29_log entries) are always split: their type is Copper's own. Copperlists are the
// robot's own types, concatenated without lengths: they are split only with a CopperType.
// Problems go to a Reporter with file and offset, as for slablog logs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/reporter.h"
#include "slablog/status.h"
#include "slablog/writer.h"

namespace slablog::copper {

enum class Layout : uint8_t {
  // copper-rs 2024-09..2025-06: SectionHeader {magic, entry_type, section_size, filled_size},
  // data at +15, LastEntry = 3.
  kOriginal,
  // copper-rs 2025-11-28 onwards: {magic, block_size, entry_type, offset_to_next_section, used,
  // is_open}, data at +block_size, LastEntry = 4 and a temporary end marker.
  kV1,
  // copper-rs 2025-06-23..2025-10: the original header with FrozenTasks = 3 and LastEntry = 4.
  // Read first as kOriginal: a section of type 3 that is not at the log's end, or one of type 4,
  // tells it.
  kKeyframes,
};
const char* LayoutName(Layout layout);

enum class EntryType : uint8_t { kEmpty, kLogLine, kCopperList, kFrozenTasks, kLastEntry };
// Copper's names: "Empty", "StructuredLogLine", "CopperList", "FrozenTasks", "LastEntry".
const char* EntryTypeName(EntryType type);
// The stream a converted or exported entry type goes to: "log", "copperlist", "keyframes".
const char* StreamName(EntryType type);

// A copperlist's type, given by the user in a small Rust-like language, for example
// "(u32,u32,u32)", "{x: f64, y: f64, ok: bool}", "Vec<(String, Option<i16>)>",
// "[u8; 6]", "enum{Idle, Moving{speed: f32}}". See man/slablog.1 for all of it.
class CopperType {
 public:
  // An error names the position in `text` where it went wrong.
  static Result<CopperType> Parse(std::string_view text);
  CopperType(const CopperType&);
  CopperType& operator=(const CopperType&);
  CopperType(CopperType&&) noexcept;
  CopperType& operator=(CopperType&&) noexcept;
  ~CopperType();

  // Decodes one value at the start of `in`: its length, or nullopt when the bytes are not one.
  // With `json`, the value is appended to it as JSON; with `time`, the first field of type
  // `cutime` (Copper's nanosecond clock) is stored there.
  // Decoding with `json` fails too once the JSON appended would pass `json_limit` bytes.
  std::optional<size_t> Decode(std::span<const uint8_t> in, std::string* json,
                               std::optional<int64_t>* time, size_t json_limit = SIZE_MAX) const;
  const std::string& text() const { return text_; }

  struct Node;

 private:
  CopperType(std::string text, std::unique_ptr<Node> root);
  std::string text_;
  std::unique_ptr<Node> root_;
};

struct ReadOptions {
  bool single_file = false;               // as slablog::ReaderOptions::single_file
  const CopperType* copperlist_type = nullptr;  // split copperlist sections into entries
  bool entries = true;                    // return Item::kEntry items (and kSectionBytes)
  bool json = false;                      // render each entry as JSON (Entry::json)
  // With `json`, the entry types rendered (1 << type): a reader that keeps the bytes of the
  // others (convert keeps copperlists as bytes) neither pays for their JSON nor meets its limit.
  uint32_t json_types = ~0u;
  // The entry types whose sections are decoded and whose entries are returned, a bit per
  // EntryType (1 << type). Sections of the others are walked by their headers only: their
  // entries are neither checked nor counted.
  uint32_t entry_types = ~0u;
  // Whether log lines of the original layout carry the level byte, when an earlier read of the
  // same log decided it (Summary::log_line_level): a reader of a growing log keeps one reading.
  std::optional<bool> log_line_level;
  // The most JSON one entry is rendered to. An entry whose JSON would be larger (a huge or
  // hostile entry: JSON can take tens of times its bytes) is rendered as
  // {"too_large_for_json":true,"base64":"..."} instead, and reported.
  size_t max_entry_json = size_t{256} << 20;
};

struct Slab {
  std::string file;
  uint32_t index = 0;
  uint64_t bytes = 0;  // the file's size
};

// What a section is, from its header and (for one left open by a crash) from its bytes.
enum class SectionState : uint8_t {
  kClosed,  // flushed by the writer: its used (filled) size is on disk
  kOpen,    // open when the writer stopped: its size on disk is 0, its entries are read until
            // the rest of it is zeros or an entry does not decode
  kUnused,  // allocated and never written (closed or not, nothing in it)
};
enum class Marker : uint8_t {
  kNone,       // not a LastEntry section
  kFinal,      // the end of a log closed cleanly
  kTemporary,  // v1's temporary end (the log crashed, or is being written)
  kStale,      // a temporary end left in a slab the writer moved on from: the log goes on
};

struct Section {
  const Slab* slab = nullptr;
  uint64_t offset = 0;          // file offset of the header
  EntryType type = EntryType::kEmpty;
  uint32_t type_id = 0;         // the number on disk
  uint32_t header_bytes = 0;    // the header's encoded length
  uint64_t data_offset = 0;     // file offset of its data
  uint64_t size = 0;            // to the next section (section_size, offset_to_next_section)
  uint64_t used = 0;            // as on disk (filled_size, used)
  bool open_flag = false;       // v1's is_open byte; the original layout has none
  SectionState state = SectionState::kClosed;
  Marker marker = Marker::kNone;
  // The bytes taken as entries: `used` bytes of a closed section; of an open one, what decoded
  // (split) or everything up to its last non-zero byte (not split).
  std::span<const uint8_t> data;
  bool split = false;           // its entries are returned one by one
  uint64_t entries = 0;         // when split: how many
  uint64_t first_index = 0;     // when split: the stream index of its first entry
  // Not split, open: its last entry may have ended in zero bytes, which are not in `data`.
  bool trailing_zeros_possible = false;
};

struct Entry {
  EntryType type = EntryType::kEmpty;
  uint64_t index = 0;            // its number in its stream, counting from 0
  uint64_t offset = 0;           // file offset of its first byte
  std::span<const uint8_t> bytes;
  std::optional<int64_t> time;   // a log line's time; a copperlist's first cutime field
  std::string_view json;         // with ReadOptions::json
  // The last entry of a section open at the crash that ends in zero bytes after the section's
  // last non-zero one: they may be its own, or bytes the writer never wrote (an entry torn by the
  // crash and completed by zeros). Copper logs carry no checksum that could tell.
  bool trailing_zeros_possible = false;
  // An all-zero sector (man slablog.5) lies in the entry's bytes: inside it, or holding the tail
  // of a closed section's last entry. Sectors lost at a power cut read back so; the entry may
  // carry zeros the writer never wrote.
  bool zero_sector_possible = false;
};

enum class ItemKind : uint8_t {
  kSlab,
  kSection,
  kEntry,         // one entry of a split section
  kSectionBytes,  // the whole data of a section not split (Section::data; Item::entry.bytes)
};

struct Item {
  ItemKind kind = ItemKind::kSlab;
  const Slab* slab = nullptr;
  const Section* section = nullptr;  // all but kSlab
  Entry entry;                       // kEntry, kSectionBytes
};

struct StreamSummary {
  uint64_t sections = 0;
  uint64_t open_sections = 0;
  uint64_t entries = 0;          // entries of split sections
  uint64_t bytes = 0;            // data bytes (of every section)
  uint64_t unsplit_sections = 0; // sections whose entries could not be split (no type)
  std::optional<int64_t> first_t, last_t;
};

struct Summary {
  Layout layout = Layout::kV1;
  uint32_t page_size = 0;
  uint32_t first_section_offset = 0;
  bool log_line_level = true;    // log lines carry a level byte (v1; the original from 2025-05)
  // Whether log_line_level was decided (v1, ReadOptions::log_line_level, or a region that told
  // the two readings apart) rather than taken by default.
  bool log_line_level_decided = false;
  uint32_t slabs = 0;
  uint64_t sections = 0;         // LastEntry markers included
  bool clean = false;            // ends with a final end marker
  std::string end;               // how the walk ended, in words, with file and offset
  uint64_t problems = 0;         // events sent to the Reporter
  StreamSummary log_lines, copperlists, keyframes;
};

class Reader {
 public:
  // `path` as for slablog::Reader::Open. `options.copperlist_type` must outlive the Reader.
  static Result<std::unique_ptr<Reader>> Open(std::string_view path, const ReadOptions& options,
                                              Reporter* reporter);
  ~Reader();
  const std::vector<std::string>& files() const;
  // The next item in log order; false at the end. Views are valid until the next call.
  bool Next(Item* item);
  // Complete once Next() has returned false.
  const Summary& summary() const;

  struct Impl;

 private:
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ConvertResult {
  uint64_t log_lines = 0;
  uint64_t copperlists = 0;           // entries, with a type
  uint64_t copperlist_sections = 0;   // sections written whole, without one
  uint64_t keyframe_sections = 0;
  // Entries written although they may hold zeros the writer never wrote
  // (Entry::trailing_zeros_possible or zero_sector_possible).
  uint64_t entries_ending_in_zeros = 0;
  uint64_t problems = 0;
  bool source_clean = false;
};

// Writes a new slablog log at `out` (a base name; it must not exist) with every entry that can be
// read from the Copper log at `path`: stream "log" (json, one record per log line, its time as
// the record's), "copperlist" (binary, one record per entry with `type`, else per section) and
// "keyframes" (binary, per section). The input is only read.
Result<ConvertResult> ConvertToSlablog(std::string_view path, const std::string& out,
                                       const WriterOptions& options, const CopperType* type,
                                       Reporter* reporter);

}  // namespace slablog::copper
