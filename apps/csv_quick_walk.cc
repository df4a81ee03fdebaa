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
#include "slablog/json_text.h"

namespace slablog::cli {
namespace {


bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// The scans below work on pointers of their own, not the walk's members: a member written in the
// loop is stored at each step, as a char read through a pointer may alias it.

constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;

// How many of the 8 bytes at p, from the first, are ASCII digits: a byte is one when its high
// nibble is 3 and its low nibble plus 6 stays below 16. Eight digits are 12 instructions, not 8
// rounds of a loop (a nanosecond time has 19).
int LeadingDigits8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  const uint64_t high = (x & (kOnes * 0xF0)) ^ (kOnes * 0x30);
  const uint64_t low = ((x & (kOnes * 0x0F)) + kOnes * 0x06) & (kOnes * 0xF0);
  const uint64_t not_digit = high | low;  // a nonzero byte where the byte is not a digit
  return not_digit == 0 ? 8 : __builtin_ctzll(not_digit) >> 3;
}

const char* SkipDigits(const char* p, const char* end) {
  while (end - p >= 8) {
    const int n = LeadingDigits8(p);
    p += n;
    if (n < 8) return p;
  }
  while (p < end && IsAsciiDigit(*p)) ++p;
  return p;
}

// The end of the JSON number at p, or null when none starts there; what follows it is the
// caller's to check (a comma, a bracket, space).
const char* ScanNumber(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p == end || !IsAsciiDigit(*p)) return nullptr;
  p = *p == '0' ? p + 1 : SkipDigits(p, end);
  if (p < end && *p == '.') {
    const char* digits = ++p;
    p = SkipDigits(p, end);
    if (p == digits) return nullptr;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* digits = p;
    p = SkipDigits(p, end);
    if (p == digits) return nullptr;
  }
  return p;
}

// The high bit of each of the 8 bytes at p that is a quote, a backslash, a comma, a control or a
// non-ASCII byte. (SWAR: a byte's high bit is set in `zero` where the byte was 0 after the XOR;
// a borrow may also mark bytes after a marked one, never before, so the lowest mark is exact.)
uint64_t LookMask(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  auto zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHighs;
  return (x & kHighs) | below_space | zero(x ^ (kOnes * '"')) | zero(x ^ (kOnes * '\\')) | zero(x ^ (kOnes * ','));
}

// The four hex digits of a \\u escape at p, or -1.
int HexEscape(const char* p, const char* end) {
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
  int v = 0;
  for (int i = 2; i < 6; ++i) {
    const char h = p[i];
    const int d = IsAsciiDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// The escape at p ('\\'): the end of it, or null when it is not one of JSON's. A \\u escape of
// a UTF-16 surrogate must be a high one followed by a low one, as slablog write and simdjson
// require: a lone one is no character.
const char* ScanEscape(const char* p, const char* end) {
  if (end - p < 2) return nullptr;
  switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      return p + 2;
    case 'u': {
      const int unit = HexEscape(p, end);
      if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return nullptr;
      if (unit < 0xD800 || unit > 0xDBFF) return p + 6;
      const int low = HexEscape(p + 6, end);
      return low >= 0xDC00 && low <= 0xDFFF ? p + 12 : nullptr;
    }
    default:
      return nullptr;
  }
}

// The string whose opening quote is at p: the end of it (past its closing quote), or null when it
// is not a valid JSON string (unterminated, a raw control byte, a bad escape, not UTF-8). `text`
// is its inside as written; `comma` and `escaped` say whether it holds a comma or escapes.
const char* ScanString(const char* p, const char* end, std::string_view* text, bool* comma, bool* escaped) {
  const char* const start = ++p;
  bool ascii = true;
  for (;;) {
    if (end - p >= 8) {
      const uint64_t look = LookMask(p);
      if (look == 0) {
        p += 8;
        continue;
      }
      p += __builtin_ctzll(look) >> 3;
    } else if (p == end) {
      return nullptr;
    }
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') break;
    if (c < 0x20) return nullptr;  // raw control characters are invalid in JSON strings
    if (c == '\\') {
      *escaped = true;
      p = ScanEscape(p, end);
      if (p == nullptr) return nullptr;
      continue;
    }
    *comma |= c == ',';
    ascii &= c < 0x80;
    ++p;
  }
  *text = std::string_view(start, static_cast<size_t>(p - start));
  if (!ascii && !IsUtf8(*text)) return nullptr;
  return p + 1;
}

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
      s.depth = static_cast<uint8_t>(depth);
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
