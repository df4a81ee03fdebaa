// QuickWalk: export --format csv's reader of the usual JSON record, in one pass over its bytes.
//
// Hand-written, against the rule of preferring a library, because of what was measured on the
// bench's records (~130 bytes, eight fields; callgrind, export --format csv --fields of 150,000
// records, everything else the same): 5,070 instructions a record with On-Demand for every
// record, 4,030 with this walk (the whole export; NDJSON export takes 880). Debian's simdjson
// header compiles On-Demand for the baseline x86-64 CPU, its portable kernel; its DOM API
// dispatches to fast kernels at run time but converts numbers to int64, uint64 or double, and a
// CSV cell must keep a number's text as written.
//
// The walk judges the whole record, whatever the columns: JSON's grammar, numbers and escapes
// (surrogates paired) included, no raw control characters in strings, UTF-8, nesting up to
// kMaxCsvDepth. It decides validity for On-Demand too, which passes over an array's or an unwanted
// field's text without checking all of it ([1,] went through). A valid record whose cells need
// On-Demand (a string or key to unescape) is read again by it (csv_flatten.cc).
#include <cstdint>
#include <cstring>

#include "csv_cells.h"
#include "csv_flatten.h"
#include "json_scan.h"
#include "slablog/json_text.h"

namespace slablog::cli {
namespace {


bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

class JsonFlattener::QuickWalk {
 public:
  QuickWalk(JsonFlattener* flattener, std::string_view json, CsvRow* row)
      : flattener_(flattener), p_(json.data()), end_(json.data() + json.size()), row_(row) {}

  // Records the layout of the record in `shape` as the walk goes (see Shape).
  void Capture(Shape* shape) {
    shape_ = shape;
    gap_start_ = p_;
    shape->valid = false;
    shape->gaps.clear();
    shape->slots.clear();
    shape->sources.clear();
    shape->width = SIZE_MAX;
  }

  QuickResult Run(Node* root) {
    SkipSpace();
    bool ok = Value(root, 0);
    SkipSpace();
    ok = ok && p_ == end_;
    if (shape_ != nullptr && ok && shape_ok_ && !too_deep_ && !escaped_cell_) {
      AddGap(&shape_->tail_begin, &shape_->tail_size);
      shape_->gaps.append(Shape::kGapPadding, '\0');
      for (Shape::Slot& slot : shape_->slots) {
        if (slot.gap_size > 16) continue;
        std::memcpy(slot.gap_words, shape_->gaps.data() + slot.gap_begin, 16);
        for (uint32_t i = 0; i < 16; ++i) {
          if (i < slot.gap_size) reinterpret_cast<unsigned char*>(slot.gap_masks)[i] = 0xFF;
        }
        for (int w = 0; w < 2; ++w) slot.gap_words[w] &= slot.gap_masks[w];
      }
      shape_->valid = true;
    }
    if (too_deep_) return QuickResult::kTooDeep;
    if (!ok) return QuickResult::kInvalid;
    return escaped_cell_ ? QuickResult::kOnDemand : QuickResult::kTaken;
  }
  size_t offset(std::string_view json) const { return static_cast<size_t>(p_ - json.data()); }

  // Matches the record against `shape`, handing each cell to sink(k, cell) as it is read: k is
  // its slot's number. Inlined for each sink (cells kept, or written out at once).
  template <typename Sink>
  [[gnu::always_inline]] bool Match(const Shape& shape, Sink&& sink) {
    const char* p = p_;
    const char* const end = end_;
    const char* const gaps = shape.gaps.data();
    const size_t slots = shape.slots.size();
    for (size_t k = 0; k < slots; ++k) {
      const Shape::Slot& slot = shape.slots[k];
      if (slot.gap_size <= 16 && end - p >= 16) {
        uint64_t w[2];
        std::memcpy(w, p, 16);
        if ((((w[0] ^ slot.gap_words[0]) & slot.gap_masks[0]) | ((w[1] ^ slot.gap_words[1]) & slot.gap_masks[1])) != 0) {
          return false;
        }
        p += slot.gap_size;
      } else {
        p = SameBytes(p, end, gaps + slot.gap_begin, slot.gap_size);
        if (p == nullptr) return false;
      }
      const char* const start = p;
      Shape::Cell cell;
      switch (slot.kind) {
        case Shape::Kind::kNumber:
          p = ScanNumber(p, end);
          if (p == nullptr) return false;
          cell = {start, static_cast<uint32_t>(p - start), true};
          break;
        case Shape::Kind::kString: {
          if (p == end || *p != '"') return false;
          std::string_view text;
          bool comma = false, escaped = false;
          p = ScanString(p, end, &text, &comma, &escaped);
          if (p == nullptr || escaped) return false;
          // Unescaped JSON text holds no quote, CR or LF: only a comma (or emptiness) needs quotes.
          cell = {text.data(), static_cast<uint32_t>(text.size()), !comma && !text.empty()};
          break;
        }
        case Shape::Kind::kWord:
          p = ScanWord(p, end, &cell);
          if (p == nullptr) return false;
          break;
        case Shape::Kind::kArray:
          if (p == end || *p != '[') return false;
          p_ = p;
          if (!Array(slot.depth)) return false;
          p = p_;
          cell = {start, static_cast<uint32_t>(p - start), false};
          break;
      }
      sink(k, cell);
    }
    p = SameBytes(p, end, gaps + shape.tail_begin, shape.tail_size);
    return p == end;
  }

 private:
  void SkipSpace() {
    while (p_ < end_ && IsJsonSpace(*p_)) ++p_;
  }

  // `node` null: the value is only checked (a field no column wants, or inside an array).
  void Set(Node* node, std::string_view text, bool plain) {
    if (node != nullptr) flattener_->Set(node, text, plain, row_);
  }

  // Past the `size` bytes at p when they are `bytes` (which can be read 8 bytes at a time), else
  // null. Most gaps (`,"x":`) take one 8-byte comparison, the rest two or a memcmp.
  static const char* SameBytes(const char* p, const char* end, const char* bytes, uint32_t size) {
    const auto left = static_cast<size_t>(end - p);
    if (left < size) return nullptr;
    if (left >= 16 && size <= 16) {
      uint64_t a[2], b[2];
      std::memcpy(a, p, 16);
      std::memcpy(b, bytes, 16);  // the gaps are followed by kGapPadding (16) zeros
      const uint64_t mask0 = size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
      const uint64_t mask1 = size <= 8 ? 0 : size == 16 ? ~uint64_t{0} : (uint64_t{1} << (8 * (size - 8))) - 1;
      if ((((a[0] ^ b[0]) & mask0) | ((a[1] ^ b[1]) & mask1)) != 0) return nullptr;
    } else if (std::memcmp(p, bytes, size) != 0) {
      return nullptr;
    }
    return p + size;
  }

  // Past the true, false or null at p, with its cell, else null. The cells' text is 16 bytes
  // long, as AppendShapedRow copies short cells 16 bytes at a time.
  static const char* ScanWord(const char* p, const char* end, Shape::Cell* cell) {
    static constexpr char kTrue[16] = "true", kFalse[16] = "false", kEmpty[16] = "";
    const auto left = static_cast<size_t>(end - p);
    if (left >= 4 && std::memcmp(p, "true", 4) == 0) {
      *cell = {kTrue, 4, true};
      return p + 4;
    }
    if (left >= 5 && std::memcmp(p, "false", 5) == 0) {
      *cell = {kFalse, 5, true};
      return p + 5;
    }
    if (left >= 4 && std::memcmp(p, "null", 4) == 0) {
      *cell = {kEmpty, 0, true};  // null: an empty cell, but the column exists
      return p + 4;
    }
    return nullptr;
  }

  // The bytes from the end of the last value to p_, appended to the shape's gaps.
  void AddGap(uint32_t* begin, uint32_t* size) {
    *begin = static_cast<uint32_t>(shape_->gaps.size());
    *size = static_cast<uint32_t>(p_ - gap_start_);
    shape_->gaps.append(gap_start_, *size);
  }

  // `depth`: the objects and arrays around the value.
  bool Value(Node* node, int depth) {
    if (p_ == end_) return false;
    if ((*p_ == '{' || *p_ == '[') && static_cast<size_t>(depth) >= kMaxCsvDepth) {
      too_deep_ = true;  // it would be one level more than kMaxCsvDepth
      return false;
    }
    // Every value but an object is a slot of the layout, unless it is inside an array (the
    // array is one).
    const bool slot = shape_ != nullptr && in_array_ == 0 && *p_ != '{';
    if (slot) {
      Shape::Slot s;
      AddGap(&s.gap_begin, &s.gap_size);
      s.kind = *p_ == '"'                               ? Shape::Kind::kString
               : *p_ == '['                             ? Shape::Kind::kArray
               : (*p_ == 't' || *p_ == 'f' || *p_ == 'n') ? Shape::Kind::kWord
                                                        : Shape::Kind::kNumber;
      s.depth = static_cast<uint16_t>(depth);
      s.node = node;
      shape_->slots.push_back(s);
    }
    const bool ok = ValueAt(node, depth);
    if (slot) gap_start_ = p_;
    return ok;
  }

  bool ValueAt(Node* node, int depth) {
    switch (*p_) {
      case '{':
        return Object(node, depth);
      case '[': {
        const char* start = p_;
        ++in_array_;
        const bool ok = Array(depth);
        --in_array_;
        if (!ok) return false;
        Set(node, std::string_view(start, static_cast<size_t>(p_ - start)), false);  // its JSON text
        return true;
      }
      case '"': {
        std::string_view text;
        bool comma = false, escaped = false;
        if (!String(&text, &comma, &escaped)) return false;
        if (escaped) {  // On-Demand unescapes it
          escaped_cell_ |= node != nullptr;
          shape_ok_ = false;  // a layout's strings are matched without escapes
          return true;
        }
        // Unescaped JSON text holds no quote, CR or LF: only a comma (or emptiness) needs quotes.
        Set(node, text, !comma && !text.empty());
        return true;
      }
      case 't':
        return Literal("true", node, "true");
      case 'f':
        return Literal("false", node, "false");
      case 'n':
        return Literal("null", node, "");  // null: an empty cell, but the column exists
      default: {
        const char* start = p_;
        if (!Number()) return false;
        Set(node, std::string_view(start, static_cast<size_t>(p_ - start)), true);  // as written
        return true;
      }
    }
  }

  bool Literal(std::string_view word, Node* node, std::string_view cell) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    Set(node, cell, true);
    return true;
  }

  bool Number() {
    const char* after = ScanNumber(p_, end_);
    if (after == nullptr) return false;
    p_ = after;
    return true;
  }

  // The string at p_ ('"').
  bool String(std::string_view* text, bool* comma, bool* escaped) {
    const char* after = ScanString(p_, end_, text, comma, escaped);
    if (after == nullptr) return false;
    p_ = after;
    return true;
  }

  // The child at `position` when the key at p_ is its key, quotes included, and p_ is moved past
  // it: a key met before was checked then, so its bytes are not checked again. Only for keys that
  // hold no quote, backslash or control byte (On-Demand's unescaped keys may).
  Node* SameKey(Node* node, size_t position) {
    if (position >= node->children.size()) return nullptr;
    Node* child = node->children[position].get();
    const std::string& key = child->key;
    if (!child->raw_key || static_cast<size_t>(end_ - p_) < key.size() + 2 || p_[key.size() + 1] != '"' ||
        std::memcmp(p_ + 1, key.data(), key.size()) != 0) {
      return nullptr;
    }
    p_ += key.size() + 2;
    return child;
  }

  bool Object(Node* node, int depth) {
    ++p_;
    SkipSpace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      Set(node, "{}", true);  // an empty object is a value of its own, not nothing
      shape_ok_ = false;      // a cell that no slot of a layout gives
      return true;
    }
    for (size_t position = 0;; ++position) {
      if (p_ == end_ || *p_ != '"') return false;
      Node* child = nullptr;
      if (node != nullptr && !escaped_cell_) {
        child = SameKey(node, position);
        if (child == nullptr) {
          std::string_view key;
          bool comma = false, escaped = false;
          if (!String(&key, &comma, &escaped)) return false;
          // An escaped key is never looked up (its column is named by its unescaped text), nor
          // any field after a value On-Demand must give: it finds their columns, in order.
          if (escaped) {
            escaped_cell_ = true;
          } else {
            child = flattener_->Child(node, position, key);
          }
        }
      } else {
        std::string_view key;
        bool comma = false, escaped = false;
        if (!String(&key, &comma, &escaped)) return false;
      }
      SkipSpace();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      SkipSpace();
      // A field no column wants is still checked, as On-Demand checks the whole record.
      if (!Value(child != nullptr && child->wanted ? child : nullptr, depth + 1)) return false;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
      SkipSpace();
    }
  }

  bool Array(int depth) {
    ++p_;
    SkipSpace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!Value(nullptr, depth + 1)) return false;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
      SkipSpace();
    }
  }

  JsonFlattener* flattener_;
  const char* p_;
  const char* end_;
  CsvRow* row_;
  bool escaped_cell_ = false;  // a wanted string or a key has escapes
  bool too_deep_ = false;
  Shape* shape_ = nullptr;     // the layout being recorded, if any
  const char* gap_start_ = nullptr;  // where the gap before the next slot starts
  int in_array_ = 0;           // arrays open (their values are not slots)
  bool shape_ok_ = true;       // nothing met that a layout cannot match
};

JsonFlattener::QuickResult JsonFlattener::QuickFlatten(std::string_view json, Node* root, CsvRow* row,
                                                       size_t* offset, Shape* shape) {
  QuickWalk walk(this, json, row);
  if (shape != nullptr) walk.Capture(shape);
  const QuickResult result = walk.Run(root);
  *offset = walk.offset(json);
  return result;
}

bool JsonFlattener::MatchShape(std::string_view json, const Shape& shape, Shape::Cell* cells) {
  QuickWalk walk(this, json, nullptr);
  if (cells == nullptr) return walk.Match(shape, [](size_t, const Shape::Cell&) {});
  return walk.Match(shape, [cells](size_t k, const Shape::Cell& cell) { cells[k] = cell; });
}

char* JsonFlattener::MatchShapeInto(std::string_view json, const Shape& shape, char* out) {
  QuickWalk walk(this, json, nullptr);
  const bool matched = walk.Match(shape, [&out](size_t, const Shape::Cell& cell) {
    *out++ = ',';
    out = PutShapeCell(out, cell);
  });
  return matched ? out : nullptr;
}

}  // namespace slablog::cli
