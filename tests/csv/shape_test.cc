// JsonFlattener's layouts (csv_flatten.h, Shape): a record read by matching the layout of the
// record before it must give exactly the row, and the verdict, that reading it in full gives.
// Records of a few layouts, with values and bytes changed at random (valid and invalid numbers,
// strings with commas, escapes and bad UTF-8, words, arrays, spaces, fields left out or added,
// cut records), are made into rows both ways and compared, for found and for named columns.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "csv_cells.h"
#include "csv_flatten.h"

namespace slablog::cli {
namespace {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint32_t Below(uint32_t n) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33) % n;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& from) { return from[Below(static_cast<uint32_t>(from.size()))]; }

 private:
  uint64_t state_;
};

const std::vector<std::string> kNumbers = {"0",  "-0", "7",   "123456789012345678901", "1.5", "-2.25e-3", "1E+9",
                                           "42", "01", "1.",  "-",  "1e",  ".5",       "+1",  "0.000001", "99999999"};
const std::vector<std::string> kStrings = {"\"imu\"", "\"\"", "\"a,b\"", "\"caf\xc3\xa9\"", "\"\xff\"", "\"a\\\"b\"",
                                           "\"\\u00e9\"", "\"tab\\t\"", "\"\x01\"", "\"abcdefghijklmnopqrstuvwxyz0123\"",
                                           "\"\\ud83e\\udd16\"", "\"\\ud800\"", "\"\\udc00\"", "\"unterminated"};
const std::vector<std::string> kWords = {"true", "false", "null", "tru", "nul", "falsey"};
const std::vector<std::string> kArrays = {"[1,2]", "[]", "[1,]", "[\"x,y\",{\"a\":null}]", "[[[]]]", "[1 2]"};

std::string Value(Random& r, int kind) {
  switch (kind) {
    case 0: return r.Pick(kNumbers);
    case 1: return r.Pick(kStrings);
    case 2: return r.Pick(kWords);
    default: return r.Pick(kArrays);
  }
}

// A record of one of three layouts, its values drawn mostly from the valid ones, sometimes
// changed in its bytes.
std::string Record(Random& r, int layout) {
  auto usual = [&](int kind) {
    if (r.Below(8) != 0) {
      static const std::vector<std::string> kGood[4] = {
          {"0", "7", "-2.25e-3", "1764000000000000001", "0.5"}, {"\"imu\"", "\"odom\"", "\"a b\"", "\"\""},
          {"true", "false", "null"}, {"[1,2]", "[]"}};
      return r.Pick(kGood[kind]);
    }
    return Value(r, static_cast<int>(r.Below(4)));
  };
  std::string json;
  switch (layout) {
    case 0:
      json = "{\"topic\":" + usual(1) + ",\"t\":" + usual(0) + ",\"x\":" + usual(0) + ",\"ok\":" + usual(2) +
             ",\"tag\":" + usual(1) + "}";
      break;
    case 1:
      json = "{\"pose\":{\"x\":" + usual(0) + ",\"y\":" + usual(0) + "},\"q\":" + usual(3) + ",\"name\":" + usual(1) +
             "}";
      break;
    default:
      json = usual(static_cast<int>(r.Below(4)));  // a record that is one value
      break;
  }
  switch (r.Below(24)) {
    case 0: json.insert(json.size() / 2, " "); break;                       // space inside
    case 1: json += " "; break;                                              // after
    case 2: json = " " + json; break;                                        // before
    case 3: json.resize(json.size() - 1); break;                             // cut
    case 4: json += "x"; break;                                              // trailing bytes
    case 5: if (json.size() > 2) json.erase(1, 1); break;                    // a byte gone
    case 6: if (json[0] == '{') json.insert(1, "\"new\":1,"); break;         // a field more
    case 7: if (json[0] == '{') json.insert(1, "\"topic\":\"dup\","); break; // a key twice
    case 8: if (json[0] == '{') json.replace(json.find(':') + 1, 0, "{}"); break;  // bad or empty object
    default: break;
  }
  return json;
}

struct Rows {
  std::string text;
  std::vector<bool> valid;
};

// Every record made into a row by `flattener`, with layouts matched first when `shapes`.
Rows MakeRows(CsvColumns* columns, const std::vector<std::pair<uint32_t, std::string>>& records, bool shapes) {
  JsonFlattener flattener(columns);
  const int32_t stream = columns->Resolve("stream"), t = columns->Resolve("t"), seq = columns->Resolve("seq");
  CsvRow row;
  CsvText out;
  Rows rows;
  std::string error;
  for (const auto& [id, json] : records) {
    const std::string padded = json + std::string(16, '\0');  // as CsvBatch pads payloads
    const std::string_view record(padded.data(), json.size());
    // t's and seq's text in buffers of 2 * kBufferSize, as PutFixed reads kBufferSize bytes.
    static const char t_text[2 * JsonFlattener::FixedCells::kBufferSize] = "17",
                      seq_text[2 * JsonFlattener::FixedCells::kBufferSize] = "4";
    const JsonFlattener::FixedCells fixed{id == 0 ? "s0" : "s,1", id == 0, std::string_view(t_text, 2),
                                          std::string_view(seq_text, 1)};
    if (shapes && flattener.AppendShapedRow(id, record, fixed, columns->size(), &out)) {
      out.Push('\n');
      rows.valid.push_back(true);
      continue;
    }
    row.Start();
    if (stream >= 0) row.Set(stream, fixed.stream, fixed.stream_plain);
    if (t >= 0) row.Set(t, fixed.t, true);
    if (seq >= 0) row.Set(seq, fixed.seq, true);
    const bool valid = flattener.Flatten(id, record, &row, &error);
    rows.valid.push_back(valid);
    if (!valid) continue;
    row.AppendTo(&out, columns->size());
    out.Push('\n');
  }
  rows.text = std::string(out.view());
  return rows;
}

// The columns of `records` as the first pass finds them: with layouts matched (null rows), or
// with every record read in full (a row to fill makes Flatten read it).
std::vector<std::string> FindColumns(const std::vector<std::pair<uint32_t, std::string>>& records, bool shapes) {
  CsvColumns columns = CsvColumns::Growing();
  JsonFlattener flattener(&columns);
  CsvRow row;
  std::string error;
  for (const auto& [id, json] : records) {
    const std::string padded = json + std::string(16, '\0');
    row.Start();
    (void)flattener.Flatten(id, std::string_view(padded.data(), json.size()), shapes ? nullptr : &row, &error);
  }
  return columns.names();
}

TEST_CASE("CsvRowsOfRecordsMatchedToTheLayoutBeforeThemAreTheRowsOfRecordsReadInFull") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Random r(seed);
    std::vector<std::pair<uint32_t, std::string>> records;
    // Runs of one layout per stream, two streams interleaved in runs, as logs hold them.
    int layouts[2] = {0, 1};
    for (int i = 0; i < 400; ++i) {
      const auto id = static_cast<uint32_t>((i / 7) % 2);
      if (r.Below(40) == 0) layouts[id] = static_cast<int>(r.Below(3));
      records.emplace_back(id, Record(r, layouts[id]));
    }
    INFO("seed " << seed);
    const std::vector<std::string> found = FindColumns(records, true);
    CHECK(found == FindColumns(records, false));

    CsvColumns growing = CsvColumns::Growing();
    for (const std::string& name : found) growing.Resolve(name);
    growing.Freeze();
    const Rows matched = MakeRows(&growing, records, true), read = MakeRows(&growing, records, false);
    CHECK(matched.valid == read.valid);
    CHECK(matched.text == read.text);

    // Named columns in another order, some left out, some never met: rows made from the
    // layout's cells in column order, not as they are read.
    std::vector<std::string> names = {"data.tag", "seq", "data.pose.y", "data.x", "stream", "data", "data.q", "data.nope"};
    CsvColumns named;
    std::string error;
    REQUIRE(CsvColumns::Named(names, &named, &error));
    const Rows matched_named = MakeRows(&named, records, true), read_named = MakeRows(&named, records, false);
    CHECK(matched_named.valid == read_named.valid);
    CHECK(matched_named.text == read_named.text);
  }
}

TEST_CASE("CsvLayoutsAreMatchedForMostRecordsOfAStreamOfOneLayout") {
  // The differential test above passes trivially if no record is ever matched: here, of records
  // of one layout with valid values, all but the first are.
  Random r(99);
  CsvColumns columns = CsvColumns::Growing();
  for (const char* name : {"data.topic", "data.t", "data.x", "data.ok", "data.tag"}) columns.Resolve(name);
  columns.Freeze();
  JsonFlattener flattener(&columns);
  CsvText out;
  CsvRow row;
  std::string error;
  int matched = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string json = "{\"topic\":\"imu\",\"t\":" + std::to_string(1000 + i) + ",\"x\":0." + std::to_string(r.Below(1000)) +
                             ",\"ok\":" + (i % 2 ? "true" : "false") + ",\"tag\":\"a,b\"}" + std::string(16, '\0');
    const std::string_view record(json.data(), json.size() - 16);
    static const char t_text[2 * JsonFlattener::FixedCells::kBufferSize] = "1",
                      seq_text[2 * JsonFlattener::FixedCells::kBufferSize] = "2";
    const JsonFlattener::FixedCells fixed{"s", true, std::string_view(t_text, 1), std::string_view(seq_text, 1)};
    if (flattener.AppendShapedRow(0, record, fixed, columns.size(), &out)) {
      ++matched;
    } else {
      row.Start();
      REQUIRE(flattener.Flatten(0, record, &row, &error));
      row.AppendTo(&out, columns.size());
    }
    out.Push('\n');
  }
  CHECK(matched == 99);
  CHECK(std::string(out.view()).find("s,1,2,imu,1099,0.") != std::string::npos);
  CHECK(std::string(out.view()).find(",\"a,b\"\n") != std::string::npos);
}

}  // namespace
}  // namespace slablog::cli
