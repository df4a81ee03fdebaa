// The copperlist type language (slablog/copper.h, man/slablog.1): parsed into a tree of Nodes,
// then used to split and render entries as bincode 2 encodes them.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "copper_bincode.h"
#include "copper_values.h"
#include "slablog/copper.h"
#include "slablog/json_text.h"

namespace slablog::copper {

struct CopperType::Node {
  enum class Kind : uint8_t {
    kBool, kU8, kU16, kU32, kU64, kI8, kI16, kI32, kI64, kF32, kF64, kChar, kString, kBytes,
    kCuTime, kUnit, kTuple, kStruct, kArray, kVec, kOption, kEnum,
  };
  Kind kind = Kind::kUnit;
  std::vector<std::unique_ptr<Node>> children;  // tuple, struct fields, array/vec/option item,
                                                // enum variants (each a kUnit, kTuple or kStruct)
  std::vector<std::string> names;               // struct field names, enum variant names
  uint64_t count = 0;                           // array length
  uint64_t min_bytes = 0;                       // the fewest bytes a value takes
  // The most nodes one value visits, Vec and array elements that take bytes counted once (the input bounds
  // how many there are): what a value costs beyond its bytes.
  uint64_t steps = 1;

  std::unique_ptr<Node> Clone() const {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->names = names;
    n->count = count;
    n->min_bytes = min_bytes;
    n->steps = steps;
    for (const auto& c : children) n->children.push_back(c->Clone());
    return n;
  }
};

namespace {

using Node = CopperType::Node;
using Kind = Node::Kind;

// Deeper nesting in the text is refused, so that parsing and decoding stay within the stack.
constexpr int kMaxTypeDepth = 48;
// Elements of a Vec whose values can take no bytes (unit, empty tuples): a length above this is
// refused rather than looped over.
constexpr uint64_t kMaxEmptyElements = 1 << 16;
// A type whose one value may visit more nodes than this without reading a byte for each (arrays
// of values that take no bytes, nested) is refused: decoding it could take hours.
constexpr uint64_t kMaxSteps = uint64_t{1} << 24;

uint64_t SatAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
uint64_t SatMul(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

struct Primitive {
  const char* name;
  Kind kind;
};
constexpr Primitive kPrimitives[] = {
    {"bool", Kind::kBool},     {"u8", Kind::kU8},         {"u16", Kind::kU16},   {"u32", Kind::kU32},
    {"u64", Kind::kU64},       {"usize", Kind::kU64},     {"i8", Kind::kI8},     {"i16", Kind::kI16},
    {"i32", Kind::kI32},       {"i64", Kind::kI64},       {"isize", Kind::kI64}, {"f32", Kind::kF32},
    {"f64", Kind::kF64},       {"char", Kind::kChar},     {"String", Kind::kString},
    {"string", Kind::kString}, {"str", Kind::kString},    {"bytes", Kind::kBytes},
    {"cutime", Kind::kCuTime}, {"CuTime", Kind::kCuTime}, {"unit", Kind::kUnit},
};

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}

  Result<std::unique_ptr<Node>> ParseAll() {
    auto node = ParseType(0);
    if (node && (SkipSpace(), pos_ != t_.size())) return Fail("unexpected text after the type");
    if (!node) return Fail(error_);
    err_pos_ = 0;
    // Entries are split one after another: one that takes no bytes would never move on.
    if (node->min_bytes == 0) return Fail("the type takes no bytes, so entries of it cannot be split");
    if (node->steps > kMaxSteps) {
      return Fail("values of the type may visit over " + std::to_string(kMaxSteps) +
                  " parts without reading a byte for each (arrays of values that take no bytes)");
    }
    return node;
  }

 private:
  Error Fail(const std::string& what) const {
    return Error{Errc::kInvalidArgument, "", 0,
                 "copperlist type: " + what + " at character " + std::to_string(err_pos_ + 1) +
                     " of '" + std::string(t_) + "'"};
  }
  std::unique_ptr<Node> Bad(std::string what) {
    if (error_.empty()) {
      error_ = std::move(what);
      err_pos_ = pos_;
    }
    return nullptr;
  }
  void SkipSpace() {
    while (pos_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < t_.size() && t_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < t_.size() && t_[pos_] == c;
  }
  std::string Ident() {
    SkipSpace();
    const size_t start = pos_;
    while (pos_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[pos_])) || t_[pos_] == '_')) ++pos_;
    return std::string(t_.substr(start, pos_ - start));
  }

  static void Finish(Node* n) {
    uint64_t m = 0, steps = 1;
    switch (n->kind) {
      case Kind::kUnit: m = 0; break;
      case Kind::kTuple: case Kind::kStruct:
        for (const auto& c : n->children) {
          m = SatAdd(m, c->min_bytes);
          steps = SatAdd(steps, c->steps);
        }
        break;
      case Kind::kArray: {
        // As for Vec: elements that take bytes are paid for by the input, counted once.
        const Node& item = *n->children[0];
        m = SatMul(n->count, item.min_bytes);
        steps = SatAdd(1, SatMul(item.min_bytes == 0 ? n->count : 1, item.steps));
        break;
      }
      case Kind::kEnum: {
        uint64_t least = UINT64_MAX;
        for (const auto& c : n->children) {
          least = std::min(least, c->min_bytes);
          steps = std::max(steps, SatAdd(1, c->steps));
        }
        m = SatAdd(1, least);
        break;
      }
      case Kind::kVec: {
        const Node& item = *n->children[0];
        m = 1;
        steps = SatAdd(1, SatMul(item.min_bytes == 0 ? kMaxEmptyElements : 1, item.steps));
        break;
      }
      case Kind::kOption:
        m = 1;
        steps = SatAdd(1, n->children[0]->steps);
        break;
      default: m = 1;
    }
    n->min_bytes = m;
    n->steps = steps;
  }

  std::unique_ptr<Node> Make(Kind kind) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    return n;
  }

  // Fields "name: type, ..." up to the closing brace (already past the opening one).
  bool Fields(Node* n, int depth) {
    while (!Eat('}')) {
      const std::string name = Ident();
      if (name.empty()) return Bad("expected a field name"), false;
      if (!Eat(':')) return Bad("expected ':' after field '" + name + "'"), false;
      auto child = ParseType(depth + 1);
      if (!child) return false;
      n->names.push_back(name);
      n->children.push_back(std::move(child));
      if (!Eat(',') && !Peek('}')) return Bad("expected ',' or '}'"), false;
    }
    return true;
  }
  // Types "type, ..." up to the closing parenthesis (already past the opening one).
  bool Items(Node* n, int depth) {
    while (!Eat(')')) {
      auto child = ParseType(depth + 1);
      if (!child) return false;
      n->children.push_back(std::move(child));
      if (!Eat(',') && !Peek(')')) return Bad("expected ',' or ')'"), false;
    }
    return true;
  }

  std::unique_ptr<Node> ParseType(int depth) {
    if (depth > kMaxTypeDepth) return Bad("types nested too deeply");
    SkipSpace();
    if (pos_ >= t_.size()) return Bad("expected a type");
    std::unique_ptr<Node> n;
    if (Eat('(')) {
      n = Make(Kind::kTuple);
      if (!Items(n.get(), depth)) return nullptr;
      if (n->children.empty()) n->kind = Kind::kUnit;
    } else if (Eat('[')) {
      n = Make(Kind::kArray);
      auto item = ParseType(depth + 1);
      if (!item) return nullptr;
      n->children.push_back(std::move(item));
      if (!Eat(';')) return Bad("expected ';' in [type; N]");
      SkipSpace();
      const std::string digits = Ident();
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Bad("expected an array length below 10^9");
      }
      n->count = std::stoull(digits);
      if (!Eat(']')) return Bad("expected ']'");
    } else if (Peek('{')) {
      Eat('{');
      n = Make(Kind::kStruct);
      if (!Fields(n.get(), depth)) return nullptr;
    } else {
      const size_t at = pos_;
      const std::string word = Ident();
      if (word.empty()) return Bad("expected a type");
      for (const Primitive& p : kPrimitives) {
        if (word == p.name) n = Make(p.kind);
      }
      if (n) {
        // done
      } else if (word == "Vec" || word == "Option" || word == "Box") {
        if (!Eat('<')) return Bad("expected '<' after " + word);
        auto item = ParseType(depth + 1);
        if (!item) return nullptr;
        if (!Eat('>')) return Bad("expected '>'");
        if (word == "Box") return item;
        n = Make(word == "Vec" ? Kind::kVec : Kind::kOption);
        n->children.push_back(std::move(item));
      } else if (word == "enum") {
        if (!Eat('{')) return Bad("expected '{' after enum");
        n = Make(Kind::kEnum);
        while (!Eat('}')) {
          const std::string name = Ident();
          if (name.empty()) return Bad("expected a variant name");
          auto payload = Make(Kind::kUnit);
          if (Eat('(')) {
            payload->kind = Kind::kTuple;
            if (!Items(payload.get(), depth + 1)) return nullptr;
          } else if (Eat('{')) {
            payload->kind = Kind::kStruct;
            if (!Fields(payload.get(), depth + 1)) return nullptr;
          }
          Finish(payload.get());
          n->names.push_back(name);
          n->children.push_back(std::move(payload));
          if (!Eat(',') && !Peek('}')) return Bad("expected ',' or '}'");
        }
        if (n->children.empty()) return Bad("an enum needs a variant");
      } else if (Peek('{') || Peek('(')) {
        // A named struct or tuple struct: the name is for the reader of the type only.
        n = Make(Eat('{') ? Kind::kStruct : (Eat('('), Kind::kTuple));
        if (!(n->kind == Kind::kStruct ? Fields(n.get(), depth) : Items(n.get(), depth))) return nullptr;
      } else {
        pos_ = at;
        return Bad("unknown type '" + word + "'");
      }
    }
    Finish(n.get());
    return n;
  }

  std::string_view t_;
  size_t pos_ = 0;
  std::string error_;
  size_t err_pos_ = 0;
};

// The parts one entry may visit: kVisitsPerByte for each byte it takes, and kFreeVisits more, so
// that decoding (and its JSON) stays in proportion to the input whatever the type: a type of
// arrays of values that take no bytes fails the entry rather than run for hours.
constexpr uint64_t kVisitsPerByte = 64;
constexpr uint64_t kFreeVisits = 4096;

// Instantiated with JSON and without (counting and checking), where every `if (json)` folds away.
struct Budget {
  uint64_t visits = 0;
  size_t json_limit = SIZE_MAX;  // the size the JSON string may reach
};

template <bool kJson>
bool DecodeNode(const Node& n, Cursor* in, std::string* json, std::optional<int64_t>* time, Budget* budget) {
  if constexpr (!kJson) json = nullptr;
  if (++budget->visits > kFreeVisits + kVisitsPerByte * in->pos()) return false;
  if constexpr (kJson) {
    if (json->size() > budget->json_limit) return false;
  }
  uint64_t u;
  int64_t s;
  uint8_t b;
  switch (n.kind) {
    case Kind::kBool:
      if (!in->Byte(&b) || b > 1) return false;
      if (json) json->append(b ? "true" : "false");
      return true;
    case Kind::kU8:
      if (!in->Byte(&b)) return false;
      if (json) AppendJsonUint(json, b);
      return true;
    case Kind::kI8:
      if (!in->Byte(&b)) return false;
      if (json) AppendJsonInt(json, static_cast<int8_t>(b));
      return true;
    case Kind::kU16: case Kind::kU32: case Kind::kU64: case Kind::kCuTime:
      if (!in->Var(&u, n.kind == Kind::kU16 ? UINT16_MAX : n.kind == Kind::kU32 ? UINT32_MAX : UINT64_MAX)) return false;
      if (json) AppendJsonUint(json, u);
      if (n.kind == Kind::kCuTime && time && !*time && u <= INT64_MAX) *time = static_cast<int64_t>(u);
      return true;
    case Kind::kI16: case Kind::kI32: case Kind::kI64: {
      const int64_t lim = n.kind == Kind::kI16 ? INT16_MAX : n.kind == Kind::kI32 ? INT32_MAX : INT64_MAX;
      if (!in->SignedVar(&s, -lim - 1, lim)) return false;
      if (json) AppendJsonInt(json, s);
      return true;
    }
    case Kind::kF32: {
      float f;
      if (!in->Fixed(&f)) return false;
      if (json) AppendJsonFloat(json, f);
      return true;
    }
    case Kind::kF64: {
      double d;
      if (!in->Fixed(&d)) return false;
      if (json) AppendJsonDouble(json, d);
      return true;
    }
    case Kind::kChar:
      return DecodeChar(in, json);
    case Kind::kString: case Kind::kBytes: {
      if (!in->Var(&u) || u > in->left()) return false;
      const uint8_t* p = in->here();
      // A String must be UTF-8, as bincode checks when it decodes one.
      if (n.kind == Kind::kString && !IsUtf8({reinterpret_cast<const char*>(p), static_cast<size_t>(u)})) return false;
      in->Skip(u);
      if (json && n.kind == Kind::kString) AppendJsonString(json, {reinterpret_cast<const char*>(p), u});
      if (json && n.kind == Kind::kBytes) AppendBase64(json, {p, static_cast<size_t>(u)});
      return true;
    }
    case Kind::kUnit:
      if (json) json->append("null", 4);
      return true;
    case Kind::kOption:
      if (!in->Byte(&b) || b > 1) return false;
      if (b == 0) {
        if (json) json->append("null", 4);
        return true;
      }
      return DecodeNode<kJson>(*n.children[0], in, json, time, budget);
    case Kind::kTuple: case Kind::kArray: case Kind::kVec: {
      uint64_t count = n.kind == Kind::kTuple ? n.children.size() : n.count;
      if (n.kind == Kind::kVec) {
        const uint64_t each = n.children[0]->min_bytes;
        if (!in->Var(&count)) return false;
        if (each == 0 ? count > kMaxEmptyElements : count > in->left() / each) return false;
      }
      if (json) json->push_back('[');
      for (uint64_t i = 0; i < count; ++i) {
        if (json && i > 0) json->push_back(',');
        const Node& item = *n.children[n.kind == Kind::kTuple ? i : 0];
        if (!DecodeNode<kJson>(item, in, json, time, budget)) return false;
      }
      if (json) json->push_back(']');
      return true;
    }
    case Kind::kStruct:
      if (json) json->push_back('{');
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (json) {
          if (i > 0) json->push_back(',');
          AppendJsonString(json, n.names[i]);
          json->push_back(':');
        }
        if (!DecodeNode<kJson>(*n.children[i], in, json, time, budget)) return false;
      }
      if (json) json->push_back('}');
      return true;
    case Kind::kEnum: {
      if (!in->Var(&u, UINT32_MAX) || u >= n.children.size()) return false;
      const Node& payload = *n.children[u];
      if (payload.kind == Kind::kUnit) {
        if (json) AppendJsonString(json, n.names[u]);
        return true;
      }
      if (json) {
        json->push_back('{');
        AppendJsonString(json, n.names[u]);
        json->push_back(':');
      }
      if (!DecodeNode<kJson>(payload, in, json, time, budget)) return false;
      if (json) json->push_back('}');
      return true;
    }
  }
  return false;
}

}  // namespace

CopperType::CopperType(std::string text, std::unique_ptr<Node> root) : text_(std::move(text)), root_(std::move(root)) {}
CopperType::CopperType(const CopperType& o) : text_(o.text_), root_(o.root_->Clone()) {}
CopperType& CopperType::operator=(const CopperType& o) {
  if (this != &o) {
    text_ = o.text_;
    root_ = o.root_->Clone();
  }
  return *this;
}
CopperType::CopperType(CopperType&&) noexcept = default;
CopperType& CopperType::operator=(CopperType&&) noexcept = default;
CopperType::~CopperType() = default;

Result<CopperType> CopperType::Parse(std::string_view text) {
  Parser parser(text);
  auto root = parser.ParseAll();
  if (!root) return root.error();
  return CopperType(std::string(text), std::move(root.value()));
}

std::optional<size_t> CopperType::Decode(std::span<const uint8_t> in, std::string* json,
                                         std::optional<int64_t>* time, size_t json_limit) const {
  Cursor cursor(in);
  const size_t mark = json ? json->size() : 0;
  if (time) time->reset();
  Budget budget;
  if (json) budget.json_limit = json_limit > SIZE_MAX - mark ? SIZE_MAX : mark + json_limit;
  const bool ok = json != nullptr ? DecodeNode<true>(*root_, &cursor, json, time, &budget)
                                  : DecodeNode<false>(*root_, &cursor, nullptr, time, &budget);
  if (!ok || (json && json->size() > budget.json_limit)) {
    if (json) json->resize(mark);
    return std::nullopt;
  }
  return cursor.pos();
}

}  // namespace slablog::copper
