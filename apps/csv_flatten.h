// How a JSON record becomes the cells of one CSV row (export --format csv). Columns are named as
// pandas.json_normalize names the fields of export's NDJSON objects: stream, t, seq, then data
// for a record that is not an object and data.PATH for each value in one (data.pose.x), so no
// field of a record can take the name of stream, t or seq. Arrays stay one cell of JSON text,
// strings are unescaped, numbers, true and false are written as in the record, null is empty.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "csv_cells.h"

namespace slablog::cli {

// The columns of one CSV export, in order. Either named up front (--fields), or growing as
// values are met, in order of first appearance, up to kMaxColumns.
class CsvColumns {
 public:
  static constexpr size_t kMaxColumns = 10000;

  // stream, t, seq, and every data column met later.
  static CsvColumns Growing();
  // Exactly `names`, in that order. False with `error` set when a name is not a column name
  // (stream, t, seq, data, data.PATH), is empty, or comes twice.
  static bool Named(const std::vector<std::string>& names, CsvColumns* out, std::string* error);

  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  // The column of `name`, or -1. Growing columns add it (-1 once kMaxColumns are taken).
  int32_t Resolve(const std::string& name);
  // The column of `name`, or -1: never added.
  int32_t Find(const std::string& name) const {
    const auto it = index_.find(name);
    return it != index_.end() ? it->second : -1;
  }
  // Whether values at `path` or below it have a column (always, for growing columns).
  bool Wanted(const std::string& path) const { return growing_ || wanted_paths_.count(path) > 0; }
  bool growing() const { return growing_; }
  // No more columns are added: the second pass writes the ones the first found.
  void Freeze() { growing_ = false; }
  bool overflowed() const { return overflowed_; }
  // Too many fields were met to give each its column (another worker's columns, or paths past
  // JsonFlattener's limit): the export must be refused, not cut short.
  void SetOverflowed() { overflowed_ = true; }

 private:
  int32_t Add(const std::string& name);

  std::vector<std::string> names_;
  std::unordered_map<std::string, int32_t> index_;
  std::unordered_set<std::string> wanted_paths_;  // named columns and every path above them
  bool growing_ = false;
  bool overflowed_ = false;
};

// The cells of the row being made: text views valid until the next row is started.
class CsvRow {
 public:
  void Start() { ++stamp_; }
  [[gnu::always_inline]] void Set(int32_t column, std::string_view text, bool plain) {
    const auto c = static_cast<size_t>(column);
    if (c >= cells_.size()) [[unlikely]] {
      cells_.resize(c + 1);
      stamps_.resize(c + 1, 0);
    }
    cells_[c] = Cell{text, plain};
    stamps_[c] = stamp_;
  }
  // Appends the row's `columns` cells, comma-separated, without the line end.
  void AppendTo(CsvText* out, size_t columns) const;

 private:
  struct Cell {
    std::string_view text;
    bool plain = false;  // never needs quotes (numbers, true, false)
  };
  std::vector<Cell> cells_;
  std::vector<uint64_t> stamps_;  // the row each cell was set in
  uint64_t stamp_ = 0;
};

// Sets the cells of records' values. Remembers, per stream, the fields met and in which order, so
// a record shaped like the one before it finds each column with one comparison of its key.
// A record is first read by QuickWalk (csv_quick_walk.cc), a one-pass reader that validates it;
// a record whose cells it cannot give (an escaped string or key, deep nesting) or that it finds
// invalid is read again by simdjson's On-Demand API, for those cells or for the error message.
// Compiled for the baseline x86-64 CPU, On-Demand runs simdjson's portable "fallback" kernel; see
// csv_quick_walk.cc for what the walk saves.
class JsonFlattener {
 public:
  explicit JsonFlattener(CsvColumns* columns);
  ~JsonFlattener();
  // Sets the cells of `json`, a record of stream `stream_id`, in `row` (null: the columns are
  // only found, as the first pass does). The cells' text is valid until the next call. False with
  // `error` set when the record is not valid JSON.
  bool Flatten(uint32_t stream_id, std::string_view json, CsvRow* row, std::string* error);

  // The cells of a row that do not come from its record.
  struct FixedCells {
    // t's and seq's text lie in buffers with at least this many bytes from where the text starts
    // (at least kMaxTimeChars), all read.
    static constexpr size_t kBufferSize = 32;
    std::string_view stream;
    bool stream_plain = false;  // the stream's name needs no quotes
    std::string_view t, seq;
  };
  // For a record laid out as the last record of its stream that Flatten read (see Shape): appends
  // its row of `width` columns, without the line end, to `out` and returns true. False, with
  // nothing appended, for any other record: Flatten must read it (and learns its layout).
  // `json` must be followed by 16 readable bytes (CsvBatch pads its payloads): cells are copied
  // 16 bytes at a time.
  bool AppendShapedRow(uint32_t stream_id, std::string_view json, const FixedCells& fixed, size_t width,
                       CsvText* out);

 private:
  // A path met in a stream's records: "data", "data.pose", "data.pose.x".
  struct Node {
    std::string key;
    bool raw_key = false;  // `key` is its JSON text too: no quote, backslash or control byte
    std::string path;
    bool wanted = true;    // it or a path below it has a column
    bool resolved = false;  // `column` looked up (when the first value came)
    int32_t column = -1;
    std::vector<std::unique_ptr<Node>> children;  // in order of first appearance
    std::unordered_map<std::string, Node*> by_key;  // children by key, once there are many
  };
  // The layout of the last record of a stream that QuickWalk took whole: the bytes between its
  // values (braces, keys, colons, commas, spaces) and its values' kinds and paths. A record whose
  // bytes between values are the same, with values of the same kinds, has the same fields in the
  // same order at the same depths, so its cells are found by comparing those bytes and reading
  // each value, with no key looked up, no path followed and no cell set one by one: a third of
  // the time of a record read by QuickWalk. Values are checked as QuickWalk checks them.
  struct Shape {
    enum class Kind : uint8_t { kNumber, kString, kWord, kArray };  // kWord: true, false or null
    struct Slot {
      // A gap of at most 16 bytes, as two words and the masks of its bytes in them, compared
      // without a loop or a call.
      uint64_t gap_words[2] = {0, 0};
      uint64_t gap_masks[2] = {0, 0};
      uint32_t gap_begin = 0;  // the bytes before the value: gaps[gap_begin, + gap_size)
      uint32_t gap_size = 0;
      Kind kind = Kind::kNumber;
      uint16_t depth = 0;     // an array's, for QuickWalk's depth limit (up to kMaxCsvDepth)
      Node* node = nullptr;   // null: a value no column wants, checked only
    };
    // A value's cell: its text in the record, without a string's quotes.
    struct Cell {
      const char* text = nullptr;
      uint32_t size = 0;
      bool plain = false;  // needs no quotes
    };
    static constexpr size_t kGapPadding = 16;  // gaps can be read 16 bytes at a time
    bool valid = false;
    std::string gaps;  // every slot's gap in turn, then the tail's, then kGapPadding zeros
    std::vector<Slot> slots;
    uint32_t tail_begin = 0, tail_size = 0;  // the bytes after the last value
    // What each of the row's `width` columns holds (kEmpty, kStream, kT, kSeq, or a slot's
    // number), made when the first row of this layout is written.
    static constexpr int32_t kEmpty = -1, kStream = -2, kT = -3, kSeq = -4;
    std::vector<int32_t> sources;
    size_t width = SIZE_MAX;  // the width `sources` was made for
    // The usual row: stream, t, seq, then every slot in order (the columns a first pass finds
    // in a stream's one layout). Its cells are written as they are read.
    bool direct = false;
  };
  struct StreamState {
    std::unique_ptr<Node> root;
    Shape shape;
  };
  StreamState& State(uint32_t stream_id);
  void MakeSources(Shape* shape, size_t width);
  // Whether `json` has `shape`'s layout, its values valid; `cells` (shape.slots.size() of them)
  // then hold their text. With `cells` null the values are only checked (the first pass).
  bool MatchShape(std::string_view json, const Shape& shape, Shape::Cell* cells);
  // MatchShape for a direct shape: writes ",CELL" for each value at `out` as it is read (room as
  // AppendShapedRow makes it). Returns the end, or null when the record does not match.
  char* MatchShapeInto(std::string_view json, const Shape& shape, char* out);
  // A cell's text at `to` as one CSV field. Short plain cells are copied 16 bytes at a time: a
  // cell's text lies in a record followed by 16 readable bytes, or is one of ScanWord's.
  [[gnu::always_inline]] static char* PutShapeCell(char* to, const Shape::Cell& cell) {
    if (!cell.plain) return PutCsvField(to, std::string_view(cell.text, cell.size));
    if (cell.size <= 16) {
      std::memcpy(to, cell.text, 16);
    } else {
      std::memcpy(to, cell.text, cell.size);
    }
    return to + cell.size;
  }

  class QuickWalk;
  enum class QuickResult : uint8_t {
    kTaken,     // valid, and its cells are set
    kInvalid,   // not JSON: `offset` is where the walk stopped
    kTooDeep,   // nested deeper than kMaxCsvDepth
    kOnDemand,  // valid, but its cells need On-Demand to unescape strings or keys
  };
  // Records nested deeper than this are refused, as slablog write refuses them (simdjson's
  // default depth): both walks recurse once per level, and each level's path repeats every key
  // above it.
  static constexpr size_t kMaxCsvDepth = 1024;
  // `shape` (when not null) is made anew from the record, valid when it can be matched.
  QuickResult QuickFlatten(std::string_view json, Node* root, CsvRow* row, size_t* offset, Shape* shape);

  // The child of `parent` at `key`, made when new; null past kMaxCsvNodes. Inline for the usual
  // case, the key where it was in the record before.
  Node* Child(Node* parent, size_t position, std::string_view key) {
    auto& children = parent->children;
    if (position < children.size() && children[position]->key == key) return children[position].get();
    return FindChild(parent, key);
  }
  Node* FindChild(Node* parent, std::string_view key);
  template <typename V>
  simdjson::error_code Value(V& v, Node* node, CsvRow* row);
  simdjson::error_code Object(simdjson::ondemand::object& object, Node* node, CsvRow* row);
  // Inlined by force: GCC left it a call, a tenth of the time of a row.
  [[gnu::always_inline]] void Set(Node* node, std::string_view text, bool plain, CsvRow* row) {
    if (!node->resolved) {
      node->column = columns_->Resolve(node->path);
      node->resolved = true;
    }
    if (node->column >= 0 && row != nullptr) row->Set(node->column, text, plain);
  }

  CsvColumns* columns_;
  simdjson::ondemand::parser parser_;
  std::string padded_;  // the record followed by the padding simdjson reads past its end
  std::unordered_map<uint32_t, std::unique_ptr<StreamState>> streams_;
  uint32_t last_stream_id_ = 0;
  StreamState* last_stream_ = nullptr;  // records come in runs of one stream
  std::vector<Shape::Cell> cells_;      // a shaped row's values
  int32_t stream_column_ = -1, t_column_ = -1, seq_column_ = -1;
  size_t nodes_ = 0;
  size_t depth_ = 0;  // objects open in the walk
};

}  // namespace slablog::cli
