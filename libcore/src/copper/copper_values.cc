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

const char* ValueName(uint8_t disc) {
  for (const ValueKind& k : kValueKinds) {
    if (k.disc == disc) return k.name;
  }
  return nullptr;
}

bool DecodeValue(Cursor* in, std::string* json, int depth);

// A cu29_value::Value as {"type":NAME,"disc":N,"value":V}.
bool DecodeTaggedValue(Cursor* in, std::string* json, int depth) {
  uint8_t disc;
  if (!in->Byte(&disc)) return false;
  const char* name = ValueName(disc);
  if (name == nullptr) return false;
  if (json != nullptr) {
    json->append("{\"type\":\"").append(name).append("\",\"disc\":");
    AppendJsonUint(json, disc);
    json->append(",\"value\":");
  }
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
      ok = in->left() >= 4;
      if (ok) {
        std::memcpy(&f, in->here(), 4);
        in->Skip(4);
        if (json) AppendJsonFloat(json, f);
      }
      break;
    }
    case 10: {
      double d;
      ok = in->left() >= 8;
      if (ok) {
        std::memcpy(&d, in->here(), 8);
        in->Skip(8);
        if (json) AppendJsonDouble(json, d);
      }
      break;
    }
    case 11:
      ok = DecodeChar(in, json);
      break;
    case 12: case 18: {
      ok = in->Var(&u) && u <= in->left();
      if (ok) {
        const auto* p = in->here();
        in->Skip(u);
        if (json && disc == 12) AppendJsonString(json, std::string_view(reinterpret_cast<const char*>(p), u));
        if (json && disc == 18) AppendBase64(json, {p, static_cast<size_t>(u)});
      }
      break;
    }
    case 13:
      if (json) json->append("null");
      break;
    case 14:  // Option<Box<Value>>: a byte 0 (None) or 1 (Some) and the value
      ok = in->Byte(&b) && b <= 1;
      if (ok && b == 0 && json) json->append("null");
      if (ok && b == 1) ok = DecodeValue(in, json, depth + 1);
      break;
    case 15:
      ok = DecodeValue(in, json, depth + 1);
      break;
    case 16: case 17: {
      // Every value takes at least one byte (its discriminant), a pair two.
      ok = in->Var(&u) && u <= in->left();
      if (json) json->push_back('[');
      for (uint64_t i = 0; ok && i < u; ++i) {
        if (json && i > 0) json->push_back(',');
        if (disc == 16) {
          ok = DecodeValue(in, json, depth + 1);
        } else {
          if (json) json->push_back('[');
          ok = DecodeValue(in, json, depth + 1);
          if (ok && json) json->push_back(',');
          ok = ok && DecodeValue(in, json, depth + 1);
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

bool DecodeValue(Cursor* in, std::string* json, int depth) {
  if (depth > kMaxValueDepth) return false;
  return DecodeTaggedValue(in, json, depth);
}

}  // namespace

void AppendJsonUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendJsonInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendJsonDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("\"NaN\"");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, r.ptr);
  }
}

void AppendJsonFloat(std::string* out, float v) {
  if (std::isnan(v) || std::isinf(v)) return AppendJsonDouble(out, v);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
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
  uint64_t time, msg, names, params, name;
  uint8_t level = 0;
  if (!in->Var(&time, INT64_MAX)) return false;
  if (with_level && (!in->Byte(&level) || level > 4)) return false;
  if (!in->Var(&msg, UINT32_MAX) || !in->Var(&names) || names > in->left()) return false;
  if (json) {
    json->append("{\"time_ns\":");
    AppendJsonUint(json, time);
    if (with_level) {
      json->append(",\"level\":");
      AppendJsonUint(json, level);
      json->append(",\"level_name\":\"").append(kLevelNames[level]).push_back('"');
    }
    json->append(",\"msg_index\":");
    AppendJsonUint(json, msg);
    json->append(",\"paramname_indexes\":[");
  }
  for (uint64_t i = 0; i < names; ++i) {
    if (!in->Var(&name, UINT32_MAX)) return false;
    if (json) {
      if (i > 0) json->push_back(',');
      AppendJsonUint(json, name);
    }
  }
  if (!in->Var(&params) || params > in->left()) return false;
  if (json) json->append("],\"params\":[");
  for (uint64_t i = 0; i < params; ++i) {
    if (json && i > 0) json->push_back(',');
    if (!DecodeValue(in, json, 0)) return false;
  }
  if (json) json->append("]}");
  *time_ns = static_cast<int64_t>(time);
  return true;
}

}  // namespace slablog::copper
