#include "csv_flatten.h"

#include <algorithm>
#include <cstring>

#include "csv_cells.h"
#include "json_scan.h"

namespace slablog::cli {
namespace {

namespace od = simdjson::ondemand;

// Paths met but not wanted (not named by --fields) are remembered too, so a record of the usual
// shape skips them without a search; past this many they are searched for every time.
constexpr size_t kMaxCsvNodes = 1000000;

// Past this many fields an object's keys are found through a hash map: a search per key made a
// pass quadratic (28 s for 100k records with a field per id, 38 s for one record of 100k keys).
constexpr size_t kLinearChildren = 16;

// A token as On-Demand gives it, without the whitespace that may follow it.
std::string_view TrimToken(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}
std::string_view TokenOf(od::value& v) { return TrimToken(v.raw_json_token()); }
std::string_view TokenOf(od::document& d) {
  std::string_view token;
  if (d.raw_json_token().get(token) != simdjson::SUCCESS) return {};
  return TrimToken(token);
}

}  // namespace

CsvColumns CsvColumns::Growing() {
  CsvColumns c;
  c.growing_ = true;
  for (const char* name : {"stream", "t", "seq"}) c.Resolve(name);
  return c;
}

bool CsvColumns::Named(const std::vector<std::string>& names, CsvColumns* out, std::string* error) {
  CsvColumns c;
  for (const std::string& name : names) {
    const bool fixed = name == "stream" || name == "t" || name == "seq";
    const bool data = name == "data" || (name.size() > 5 && name.compare(0, 5, "data.") == 0);
    if (name.empty()) {
      *error = "an empty column name";
      return false;
    }
    if (!fixed && !data) {
      *error = "'" + name + "' is not a column: columns are stream, t, seq, data, and data.PATH (data.pose.x)";
      return false;
    }
    if (c.index_.count(name) > 0) {
      *error = "column '" + name + "' is named twice";
      return false;
    }
    c.Add(name);
  }
  *out = std::move(c);
  return true;
}

int32_t CsvColumns::Resolve(const std::string& name) {
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  if (!growing_) return -1;
  if (names_.size() >= kMaxColumns) {
    overflowed_ = true;
    return -1;
  }
  return Add(name);
}

int32_t CsvColumns::Add(const std::string& name) {
  const auto column = static_cast<int32_t>(names_.size());
  index_.emplace(name, column);
  names_.push_back(name);
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    wanted_paths_.insert(name.substr(0, dot));
  }
  wanted_paths_.insert(name);
  return column;
}

void CsvRow::AppendTo(CsvText* out, size_t columns) const {
  // Room for the worst case first (every quote doubled), then one pointer writes the row: appended
  // cell by cell, the checks of room took as long as the JSON's reading.
  const size_t known = std::min(columns, cells_.size());
  size_t room = columns;
  for (size_t c = 0; c < known; ++c) {
    if (stamps_[c] == stamp_) room += 2 * cells_[c].text.size() + 2;
  }
  char* p = out->Room(room);
  for (size_t c = 0; c < columns; ++c) {
    if (c > 0) *p++ = ',';
    if (c >= known || stamps_[c] != stamp_) continue;  // no value: an empty cell
    const Cell& cell = cells_[c];
    if (cell.plain) {
      std::memcpy(p, cell.text.data(), cell.text.size());
      p += cell.text.size();
    } else {
      p = PutCsvField(p, cell.text);
    }
  }
  out->Commit(p);
}

JsonFlattener::JsonFlattener(CsvColumns* columns) : columns_(columns) {}
JsonFlattener::~JsonFlattener() = default;

JsonFlattener::Node* JsonFlattener::FindChild(Node* parent, std::string_view key) {
  auto& children = parent->children;
  if (children.size() <= kLinearChildren) {
    for (auto& child : children) {
      if (child->key == key) return child.get();
    }
  } else {
    if (parent->by_key.empty()) {
      for (auto& child : children) parent->by_key.emplace(child->key, child.get());
    }
    if (auto it = parent->by_key.find(std::string(key)); it != parent->by_key.end()) return it->second;
  }
  std::string path = parent->path + "." + std::string(key);
  const bool wanted = columns_->Wanted(path);
  // Past the limit only named columns' paths are still made (a few): growing columns are then
  // refused whole, as a cell left out would be lost silently.
  if (nodes_ >= kMaxCsvNodes && (columns_->growing() || !wanted)) {
    if (columns_->growing()) columns_->SetOverflowed();
    return nullptr;
  }
  ++nodes_;
  auto node = std::make_unique<Node>();
  node->key = std::string(key);
  node->raw_key = std::none_of(key.begin(), key.end(),
                               [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
  node->path = std::move(path);
  node->wanted = wanted;
  children.push_back(std::move(node));
  if (!parent->by_key.empty()) parent->by_key.emplace(children.back()->key, children.back().get());
  return children.back().get();
}

template <typename V>
simdjson::error_code JsonFlattener::Value(V& v, Node* node, CsvRow* row) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (auto e = v.get_object().get(object)) return e;
      return Object(object, node, row);
    }
    case od::json_type::array: {
      od::array array;
      std::string_view text;
      if (auto e = v.get_array().get(array)) return e;
      if (auto e = array.raw_json().get(text)) return e;
      Set(node, TrimToken(text), false, row);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      const std::string_view token = TokenOf(v);
      if (!IsJsonNumber(token)) return simdjson::NUMBER_ERROR;
      Set(node, token, true, row);  // as written: 64-bit integers and long decimals stay exact
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      const std::string_view token = TokenOf(v);
      // Without escapes the string is its token's inside; else simdjson unescapes it.
      if (token.size() >= 2 && token.find('\\') == std::string_view::npos) {
        Set(node, token.substr(1, token.size() - 2), false, row);
        return simdjson::SUCCESS;
      }
      std::string_view text;
      if (auto e = v.get_string().get(text)) return e;
      Set(node, text, false, row);
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b)) return e;
      Set(node, b ? "true" : "false", true, row);
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return e;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      Set(node, "", true, row);  // null: an empty cell, but the column exists
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

simdjson::error_code JsonFlattener::Object(od::object& object, Node* node, CsvRow* row) {
  if (depth_ >= kMaxCsvDepth) return simdjson::DEPTH_ERROR;
  struct Level {
    size_t* depth;
    ~Level() { --*depth; }
  } level{&++depth_};
  size_t position = 0;
  for (auto field : object) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    Node* child = Child(node, position++, key);
    od::value value;
    if (auto e = field.value().get(value)) return e;
    // A field no column wants is skipped: On-Demand passes over it on the next step.
    if (child == nullptr || !child->wanted) continue;
    if (auto e = Value(value, child, row)) return e;
  }
  // An empty object is a value of its own, not nothing (as {"a":{}} differs from {}).
  if (position == 0) Set(node, "{}", true, row);
  return simdjson::SUCCESS;
}

JsonFlattener::StreamState& JsonFlattener::State(uint32_t stream_id) {
  if (last_stream_ != nullptr && stream_id == last_stream_id_) return *last_stream_;
  std::unique_ptr<StreamState>& state = streams_[stream_id];
  if (state == nullptr) {
    state = std::make_unique<StreamState>();
    state->root = std::make_unique<Node>();
    state->root->path = "data";
    state->root->wanted = columns_->Wanted("data");
  }
  last_stream_id_ = stream_id;
  last_stream_ = state.get();
  return *state;
}

void JsonFlattener::MakeSources(Shape* shape, size_t width) {
  if (shape->width == SIZE_MAX) {  // the fixed columns, looked up once
    stream_column_ = columns_->Resolve("stream");
    t_column_ = columns_->Resolve("t");
    seq_column_ = columns_->Resolve("seq");
  }
  shape->sources.assign(width, Shape::kEmpty);
  auto put = [&](int32_t column, int32_t source) {
    if (column >= 0 && static_cast<size_t>(column) < width) shape->sources[static_cast<size_t>(column)] = source;
  };
  put(stream_column_, Shape::kStream);
  put(t_column_, Shape::kT);
  put(seq_column_, Shape::kSeq);
  // In slot order, so that of a key given twice the last value counts, as in Flatten's rows.
  for (size_t k = 0; k < shape->slots.size(); ++k) {
    Node* node = shape->slots[k].node;
    if (node == nullptr) continue;
    if (!node->resolved) {
      node->column = columns_->Resolve(node->path);
      node->resolved = true;
    }
    put(node->column, static_cast<int32_t>(k));
  }
  shape->width = width;
  const std::vector<int32_t>& src = shape->sources;
  shape->direct = width == shape->slots.size() + 3 && src[0] == Shape::kStream && src[1] == Shape::kT &&
                  src[2] == Shape::kSeq;
  for (size_t c = 3; shape->direct && c < width; ++c) shape->direct = src[c] == static_cast<int32_t>(c - 3);
}

namespace {

char* PutText(char* to, std::string_view text) {
  std::memcpy(to, text.data(), text.size());
  return to + text.size();
}

// t's or seq's text, from its buffer of FixedCells::kBufferSize, copied whole: a copy of a fixed
// size is a few moves, not a call.
char* PutFixed(char* to, std::string_view text) {
  std::memcpy(to, text.data(), JsonFlattener::FixedCells::kBufferSize);
  return to + text.size();
}

}  // namespace

bool JsonFlattener::AppendShapedRow(uint32_t stream_id, std::string_view json, const FixedCells& fixed,
                                    size_t width, CsvText* out) {
  StreamState& state = State(stream_id);
  Shape& shape = state.shape;
  if (!shape.valid) return false;
  // Adds no column, growing columns included: a shape is valid only after a walk that set (so
  // looked up) every slot's value.
  if (shape.width != width) MakeSources(&shape, width);
  // Room for the worst case (every char of every cell a quote, doubled) and the 16-byte copies'
  // overshoot, then one pointer writes the row.
  const size_t room = width + 2 * fixed.stream.size() + 2 + fixed.t.size() + fixed.seq.size() + 2 * json.size() +
                      2 * shape.slots.size() + FixedCells::kBufferSize;
  char* p = out->Room(room);
  if (shape.direct) {
    p = fixed.stream_plain ? PutText(p, fixed.stream) : PutCsvField(p, fixed.stream);
    *p++ = ',';
    p = PutFixed(p, fixed.t);
    *p++ = ',';
    p = PutFixed(p, fixed.seq);
    p = MatchShapeInto(json, shape, p);
    if (p == nullptr) return false;  // nothing committed
    out->Commit(p);
    return true;
  }
  if (cells_.size() < shape.slots.size()) cells_.resize(shape.slots.size());
  if (!MatchShape(json, shape, cells_.data())) return false;
  const int32_t* sources = shape.sources.data();
  for (size_t c = 0; c < width; ++c) {
    if (c > 0) *p++ = ',';
    const int32_t source = sources[c];
    if (source >= 0) {
      p = PutShapeCell(p, cells_[static_cast<size_t>(source)]);
    } else if (source == Shape::kT) {
      p = PutText(p, fixed.t);
    } else if (source == Shape::kSeq) {
      p = PutText(p, fixed.seq);
    } else if (source == Shape::kStream) {
      p = fixed.stream_plain ? PutText(p, fixed.stream) : PutCsvField(p, fixed.stream);
    }
  }
  out->Commit(p);
  return true;
}

bool JsonFlattener::Flatten(uint32_t stream_id, std::string_view json, CsvRow* row, std::string* error) {
  StreamState& state = State(stream_id);
  Node* const root = state.root.get();
  depth_ = 0;
  // A record is read whole even when no column wants its values: whether it is valid JSON must
  // not depend on the columns asked for.
  if (json.empty()) {  // export's NDJSON shows an empty json record as null
    Set(root, "", true, row);
    return true;
  }
  // Columns are all that the first pass wants, and a record laid out as the one before it has
  // no new ones.
  if (row == nullptr && state.shape.valid) {
    if (MatchShape(json, state.shape, nullptr)) return true;
  }
  size_t offset = 0;
  const QuickResult quick = QuickFlatten(json, root, row, &offset, &state.shape);
  if (quick == QuickResult::kTaken) return true;
  // The walk judges every record whole, values no column wants included; On-Demand, which
  // passes over those unchecked, only unescapes the cells of the valid ones.
  if (quick == QuickResult::kInvalid) {
    *error = "invalid JSON at byte " + std::to_string(offset) + " of the record";
    return false;
  }
  if (quick == QuickResult::kTooDeep) {
    *error = "nested deeper than " + std::to_string(kMaxCsvDepth) + " levels (as slablog write refuses)";
    return false;
  }
  padded_.resize(json.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded_.data(), json.data(), json.size());
  od::document doc;
  od::json_type type = od::json_type::null;
  auto e = parser_.iterate(padded_.data(), json.size(), padded_.size()).get(doc);
  if (!e) e = doc.type().get(type);
  if (!e && type != od::json_type::object && type != od::json_type::array) {
    // A scalar record: its one token must be all of it.
    const size_t start = std::min(json.size(), json.find_first_not_of(" \t\r\n"));
    if (TokenOf(doc) != TrimToken(json.substr(start))) e = simdjson::TRAILING_CONTENT;
  }
  if (!e) e = Value(doc, root, row);
  const char* more = nullptr;
  // Past the end of an object or array: nothing may follow it.
  const bool nested = type == od::json_type::object || type == od::json_type::array;
  if (!e && nested && doc.current_location().get(more) == simdjson::SUCCESS) e = simdjson::TRAILING_CONTENT;
  if (e) {
    *error = simdjson::error_message(e);
    return false;
  }
  return true;
}

}  // namespace slablog::cli
