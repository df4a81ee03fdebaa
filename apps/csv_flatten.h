// How a JSON record becomes the cells of one CSV row (export --format csv). Columns are named as
// pandas.json_normalize names the fields of export's NDJSON objects: stream, t, seq, then data
// for a record that is not an object and data.PATH for each value in one (data.pose.x), so no
// field of a record can take the name of stream, t or seq. Arrays stay one cell of JSON text,
// strings are unescaped, numbers, true and false are written as in the record, null is empty.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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
  // Whether values at `path` or below it have a column (always, for growing columns).
  bool Wanted(const std::string& path) const { return growing_ || wanted_paths_.count(path) > 0; }
  bool growing() const { return growing_; }
  // No more columns are added: the second pass writes the ones the first found.
  void Freeze() { growing_ = false; }
  bool overflowed() const { return overflowed_; }

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
  void AppendTo(std::string* out, size_t columns) const;

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
  class QuickWalk;
  enum class QuickResult : uint8_t {
    kTaken,     // valid, and its cells are set
    kInvalid,   // not JSON: `offset` is where the walk stopped
    kOnDemand,  // its cells need On-Demand (escapes, nesting past QuickWalk's depth)
  };
  QuickResult QuickFlatten(std::string_view json, Node* root, CsvRow* row, size_t* offset);

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
  std::unordered_map<uint32_t, std::unique_ptr<Node>> roots_;
  size_t nodes_ = 0;
  size_t depth_ = 0;  // objects open in the walk
};

}  // namespace slablog::cli
