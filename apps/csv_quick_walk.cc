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
// The walk validates the whole record: JSON's grammar, numbers and escapes included, no raw
// control characters in strings, UTF-8. It decides validity for On-Demand too, which passes over
// an array's or an unwanted field's text without checking all of it ([1,] went through). A record
// whose cells need On-Demand (a string or key to unescape, nesting past kMaxQuickDepth) is read
// again by it (csv_flatten.cc).
#include <cstdint>
#include <cstring>

#include "csv_flatten.h"
#include "slablog/json_text.h"

namespace slablog::cli {
namespace {

constexpr int kMaxQuickDepth = 64;

bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

class JsonFlattener::QuickWalk {
 public:
  QuickWalk(JsonFlattener* flattener, std::string_view json, CsvRow* row)
      : flattener_(flattener), p_(json.data()), end_(json.data() + json.size()), row_(row) {}

  QuickResult Run(Node* root) {
    SkipSpace();
    bool ok = Value(root, 0);
    SkipSpace();
    ok = ok && p_ == end_;
    if (too_deep_) return QuickResult::kOnDemand;  // unchecked below the depth: On-Demand's to judge
    if (!ok) return QuickResult::kInvalid;
    return escaped_cell_ ? QuickResult::kOnDemand : QuickResult::kTaken;
  }
  size_t offset(std::string_view json) const { return static_cast<size_t>(p_ - json.data()); }

 private:
  void SkipSpace() {
    while (p_ < end_ && IsJsonSpace(*p_)) ++p_;
  }

  // `node` null: the value is only checked (a field no column wants, or inside an array).
  void Set(Node* node, std::string_view text, bool plain) {
    if (node != nullptr) flattener_->Set(node, text, plain, row_);
  }

  bool Value(Node* node, int depth) {
    if (depth > kMaxQuickDepth) {
      too_deep_ = true;
      return false;
    }
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return Object(node, depth);
      case '[': {
        const char* start = p_;
        if (!Array(depth)) return false;
        Set(node, std::string_view(start, static_cast<size_t>(p_ - start)), false);  // its JSON text
        return true;
      }
      case '"': {
        std::string_view text;
        bool comma = false, escaped = false;
        if (!String(&text, &comma, &escaped)) return false;
        if (escaped) {  // On-Demand unescapes it
          escaped_cell_ |= node != nullptr;
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

  // JSON's number grammar; what follows it is the caller's to check (a comma, a bracket, space).
  bool Number() {
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_ || !IsAsciiDigit(*p_)) return false;
    if (*p_++ != '0') {
      while (p_ < end_ && IsAsciiDigit(*p_)) ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      const char* digits = ++p_;
      while (p_ < end_ && IsAsciiDigit(*p_)) ++p_;
      if (p_ == digits) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* digits = p_;
      while (p_ < end_ && IsAsciiDigit(*p_)) ++p_;
      if (p_ == digits) return false;
    }
    return true;
  }

  // The string at p_ ('"'): its inside as written, whether it holds a comma or escapes.
  bool String(std::string_view* text, bool* comma, bool* escaped) {
    const char* start = ++p_;
    bool ascii = true;
    // Eight bytes at a time while none of them needs a look: most strings end in the byte loop.
    while (end_ - p_ >= 8 && !NeedsLook(p_)) p_ += 8;
    for (; p_ < end_; ++p_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c < 0x20) return false;  // raw control characters are invalid in JSON strings
      if (c == '\\') {
        *escaped = true;
        if (!Escape()) return false;
        continue;
      }
      *comma |= c == ',';
      ascii &= c < 0x80;
    }
    if (p_ == end_) return false;
    *text = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return ascii || IsUtf8(*text);
  }

  // Whether any of the 8 bytes at p is a quote, a backslash, a comma, a control or a non-ASCII
  // byte (SWAR: a byte's high bit is set in `zero` where the byte was 0 after the XOR).
  static bool NeedsLook(const char* p) {
    constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
    uint64_t x;
    std::memcpy(&x, p, 8);
    auto zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
    const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHighs;
    return ((x & kHighs) | below_space | zero(x ^ (kOnes * '"')) | zero(x ^ (kOnes * '\\')) |
            zero(x ^ (kOnes * ','))) != 0;
  }

  // The escape at p_ ('\\'); p_ is left on its last char. A \\u surrogate's pair is checked
  // where On-Demand unescapes the string, not in an array's text.
  bool Escape() {
    if (end_ - p_ < 2) return false;
    switch (*++p_) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return true;
      case 'u':
        if (end_ - p_ < 5) return false;
        for (int i = 0; i < 4; ++i) {
          const char h = *++p_;
          if (!IsAsciiDigit(h) && !(h >= 'a' && h <= 'f') && !(h >= 'A' && h <= 'F')) return false;
        }
        return true;
      default:
        return false;
    }
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
};

JsonFlattener::QuickResult JsonFlattener::QuickFlatten(std::string_view json, Node* root, CsvRow* row,
                                                       size_t* offset) {
  QuickWalk walk(this, json, row);
  const QuickResult result = walk.Run(root);
  *offset = walk.offset(json);
  return result;
}

}  // namespace slablog::cli
