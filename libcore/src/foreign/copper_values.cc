#include "copper_values.h"

#include <charconv>
#include <cmath>

#include "slablog/json_text.h"

namespace slablog::copper {
namespace {

// Nesting of Option, Newtype, Seq and Map values in one parameter: deeper is refused rather than
// followed, so that a damaged entry cannot exhaust the stack.
constexpr int kMaxValueDepth = 32;

const char* const kLevelNames[] = {"Debug", "Info", "Warning", "Error", "Critical"};

struct ValueKind {
  uint8_t disc;
  const char* name;
};
constexpr ValueKind kValueKinds[] = {
    {0, "Bool"}, {1, "U8"},   {2, "U16"},     {3, "U32"},     {4, "U64"},      {5, "I8"},
    {6, "I16"},  {7, "I32"},  {8, "I64"},     {9, "F32"},     {10, "F64"},     {11, "Char"},
    {12, "String"}, {13, "Unit"}, {14, "Option"}, {15, "Newtype"}, {16, "Seq"}, {17, "Map"},
    {18, "Bytes"}, {32, "CuTime"}};

// The JSON that starts each Value, by discriminant ({"type":"U32","disc":3,"value":), empty for a
// byte that is no Value: one table lookup and one append per parameter.
struct ValueNames {
  std::string prefix[256];
  ValueNames() {
    for (const ValueKind& k : kValueKinds) {
      prefix[k.disc] = std::string("{\"type\":\"") + k.name + "\",\"disc\":" + std::to_string(k.disc) + ",\"value\":";
    }
  }
};
const ValueNames kValueNames;

// ,"level":N,"level_name":"NAME" for each level.
struct LevelTexts {
  std::string text[5];
  LevelTexts() {
    for (int i = 0; i < 5; ++i) {
      text[i] = ",\"level\":" + std::to_string(i) + ",\"level_name\":\"" + kLevelNames[i] + "\"";
    }
  }
};
const LevelTexts kLevelTexts;

template <bool kJson>
bool DecodeValue(Cursor* in, std::string* json, int depth);

// A cu29_value::Value as {"type":NAME,"disc":N,"value":V}. Instantiated twice: with JSON, and
// without for counting and checking, where every `if (json)` folds away.
template <bool kJson>
bool DecodeTaggedValue(Cursor* in, std::string* json, int depth) {
  if constexpr (!kJson) json = nullptr;
  uint8_t disc;
  if (!in->Byte(&disc)) return false;
  const std::string& prefix = kValueNames.prefix[disc];
  if (prefix.empty()) return false;
  if (json != nullptr) json->append(prefix);
  uint64_t u;
  int64_t s;
  uint8_t b;
  bool ok = true;
  switch (disc) {
    case 0:  // Bool: one byte, 0 or 1
      ok = in->Byte(&b) && b <= 1;
      if (ok && json) json->append(b ? "true" : "false");
      break;
    case 1:  // U8: raw
      ok = in->Byte(&b);
      if (ok && json) AppendJsonUint(json, b);
      break;
    case 2: case 3: case 4: case 32: {
      const uint64_t max = disc == 2 ? UINT16_MAX : disc == 3 ? UINT32_MAX : UINT64_MAX;
      ok = in->Var(&u, max);
      if (ok && json) AppendJsonUint(json, u);
      break;
    }
    case 5:  // I8: raw
      ok = in->Byte(&b);
      if (ok && json) AppendJsonInt(json, static_cast<int8_t>(b));
      break;
    case 6: case 7: case 8: {
      const int64_t lim = disc == 6 ? INT16_MAX : disc == 7 ? INT32_MAX : INT64_MAX;
      ok = in->SignedVar(&s, -lim - 1, lim);
      if (ok && json) AppendJsonInt(json, s);
      break;
    }
    case 9: {
      float f;
      ok = in->Fixed(&f);
      if (ok && json) AppendJsonFloat(json, f);
      break;
    }
    case 10: {
      double d;
      ok = in->Fixed(&d);
      if (ok && json) AppendJsonDouble(json, d);
      break;
    }
    case 11:
      ok = DecodeChar(in, json);
      break;
    case 12: case 18: {
      ok = in->Var(&u) && u <= in->left();
      // A String must be UTF-8, as bincode checks when it decodes one.
      if (ok && disc == 12) ok = IsUtf8({reinterpret_cast<const char*>(in->here()), static_cast<size_t>(u)});
      if (ok) {
        const auto* p = in->here();
        in->Skip(u);
        if (json && disc == 12) AppendJsonString(json, std::string_view(reinterpret_cast<const char*>(p), u));
        if (json && disc == 18) AppendBase64(json, {p, static_cast<size_t>(u)});
      }
      break;
    }
    case 13:
      if (json) json->append("null", 4);
      break;
    case 14:  // Option<Box<Value>>: a byte 0 (None) or 1 (Some) and the value
      ok = in->Byte(&b) && b <= 1;
      if (ok && b == 0 && json) json->append("null", 4);
      if (ok && b == 1) ok = DecodeValue<kJson>(in, json, depth + 1);
      break;
    case 15:
      ok = DecodeValue<kJson>(in, json, depth + 1);
      break;
    case 16: case 17: {
      // Every value takes at least one byte (its discriminant), a pair two.
      ok = in->Var(&u) && u <= in->left();
      if (json) json->push_back('[');
      for (uint64_t i = 0; ok && i < u; ++i) {
        if (json && i > 0) json->push_back(',');
        if (disc == 16) {
          ok = DecodeValue<kJson>(in, json, depth + 1);
        } else {
          if (json) json->push_back('[');
          ok = DecodeValue<kJson>(in, json, depth + 1);
          if (ok && json) json->push_back(',');
          ok = ok && DecodeValue<kJson>(in, json, depth + 1);
          if (json) json->push_back(']');
        }
      }
      if (json) json->push_back(']');
      break;
    }
    default:
      ok = false;
  }
  if (ok && json) json->push_back('}');
  return ok;
}

template <bool kJson>
bool DecodeValue(Cursor* in, std::string* json, int depth) {
  if (depth > kMaxValueDepth) return false;
  return DecodeTaggedValue<kJson>(in, json, depth);
}

template <bool kJson>
bool DecodeLogLineT(Cursor* in, bool with_level, std::string* json, int64_t* time_ns, bool* match = nullptr);

}  // namespace

void AppendJsonUint(std::string* out, uint64_t v) {
  if (v < 10) {  // most indexes and counts
    out->push_back(static_cast<char>('0' + v));
    return;
  }
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendJsonInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendJsonDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("\"NaN\"", 5);
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, static_cast<size_t>(r.ptr - buf));
  }
}

void AppendJsonFloat(std::string* out, float v) {
  if (std::isnan(v) || std::isinf(v)) return AppendJsonDouble(out, v);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

bool DecodeChar(Cursor* in, std::string* json) {
  uint8_t c;
  if (!in->Byte(&c)) return false;
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || n - 1 > in->left()) return false;
  const uint8_t* rest = in->here();
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 0; k + 1 < n; ++k) {
    if ((rest[k] & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (rest[k] & 0x3F);
  }
  static constexpr uint32_t kMinOf[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinOf[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  std::string utf8(1, static_cast<char>(c));
  utf8.append(reinterpret_cast<const char*>(rest), n - 1);
  in->Skip(n - 1);
  if (json) AppendJsonString(json, utf8);
  return true;
}

bool DecodeLogLine(Cursor* in, bool with_level, std::string* json, int64_t* time_ns) {
  return json != nullptr ? DecodeLogLineT<true>(in, with_level, json, time_ns)
                         : DecodeLogLineT<false>(in, with_level, nullptr, time_ns);
}

bool DecodeLogLineShape(Cursor* in, bool with_level, bool* names_match_params) {
  int64_t t;
  return DecodeLogLineT<false>(in, with_level, nullptr, &t, names_match_params);
}

LogLineRun CountLogLines(std::span<const uint8_t> region, size_t from, size_t stop, bool with_level) {
  LogLineRun run;
  Cursor c(region);
  c.Skip(from);
  run.last_start = run.end = from;
  int64_t t;
  while (c.pos() < stop) {
    const size_t at = c.pos();
    if (!DecodeLogLineT<false>(&c, with_level, nullptr, &t)) {
      run.end = at;
      run.failed = true;
      return run;
    }
    ++run.entries;
    run.last_start = at;
    if (run.last_entry_t) {
      const int64_t p = *run.last_entry_t;
      if (!run.first_t || p < *run.first_t) run.first_t = p;
      if (!run.last_t || p > *run.last_t) run.last_t = p;
    }
    run.last_entry_t = t;
  }
  run.end = c.pos();
  return run;
}

namespace {

template <bool kJson>
bool DecodeLogLineT(Cursor* in, bool with_level, std::string* json, int64_t* time_ns, bool* match) {
  if constexpr (!kJson) json = nullptr;
  uint64_t time, msg, names, params, name;
  uint8_t level = 0;
  if (!in->Var(&time, INT64_MAX)) return false;
  if (with_level && (!in->Byte(&level) || level > 4)) return false;
  if (!in->Var(&msg, UINT32_MAX) || !in->Var(&names) || names > in->left()) return false;
  if (json) {
    json->append("{\"time_ns\":", 11);
    AppendJsonUint(json, time);
    if (with_level) json->append(kLevelTexts.text[level]);
    json->append(",\"msg_index\":", 13);
    AppendJsonUint(json, msg);
    json->append(",\"paramname_indexes\":[", 22);
  }
  for (uint64_t i = 0; i < names; ++i) {
    if (!in->Var(&name, UINT32_MAX)) return false;
    if (json) {
      if (i > 0) json->push_back(',');
      AppendJsonUint(json, name);
    }
  }
  if (!in->Var(&params) || params > in->left()) return false;
  if (match != nullptr) *match = params == names;
  if (json) json->append("],\"params\":[", 12);
  for (uint64_t i = 0; i < params; ++i) {
    if (json && i > 0) json->push_back(',');
    if (!DecodeValue<kJson>(in, json, 0)) return false;
  }
  if (json) json->append("]}", 2);
  *time_ns = static_cast<int64_t>(time);
  return true;
}

}  // namespace

}  // namespace slablog::copper
