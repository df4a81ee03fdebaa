// slablog export --format csv: RFC 4180 text checked byte for byte on small cases, and a log of
// every kind of value read back by pandas and compared with export's NDJSON, cell by cell.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "../testutil.h"
#include "process.h"
#include "slablog/writer.h"

namespace slablog::test {
namespace {

// Records of the json stream "j" with timestamps 1, 2, 3, ... (write --time-field).
void WriteJsonLog(const TempDir& dir, const std::vector<std::string>& records, const std::string& log = "c.slog") {
  std::string input;
  for (size_t i = 0; i < records.size(); ++i) {
    // The time field goes first, the record's own fields after it (under "data.v" and so on).
    input += "{\"ts\":" + std::to_string(i + 1) + ",\"v\":" + records[i] + "}\n";
  }
  RunResult w = RunSlablog({"write", "-s", "j", "--time-field", "ts", log}, input, dir.dir());
  REQUIRE_MESSAGE(w.exit_code == 0, w.err);
}

std::string CsvOf(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"export", "--format", "csv"});
  RunResult r = RunSlablog(args, "", dir.dir());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  return r.out;
}

// A log of three streams: json records of every kind of value, text lines, binary records.
void WriteMixedLog(const TempDir& dir) {
  // Not int64s near its minimum: pandas 1.5 reads them as NaN in a column with empty cells.
  const std::string json =
      "{\"t\":1,\"pose\":{\"x\":1.5,\"y\":-2e-3,\"q\":[0,0,0.7071067811865476,0.7071067811865476]},\"ok\":true,"
      "\"name\":\"comma, \\\"quote\\\"\",\"big\":18446744073709551615,\"neg\":-9007199254740993}\n"
      "{\"t\":2,\"pose\":{\"x\":-0.0,\"y\":1E+2},\"ok\":false,\"name\":\"line\\nbreak\\r\\nand cr\\r\","
      "\"note\":null,\"huge\":123456789012345678901234567890}\n"
      "{\"t\":3,\"name\":\"caf\\u00e9 \xe2\x9c\x93 \xf0\x9f\xa4\x96\",\"empty\":\"\",\"na\":\"NA\",\"obj\":{},"
      "\"list\":[{\"a\":1},\"x,y\",null],\"deep\":{\"a\":{\"b\":{\"c\":\"d\"}}}}\n"
      "{\"t\":4,\"pose\":{\"x\":1.0000000000000002},\"tab\":\"\\t lead and trail \",\"big\":9007199254740993}\n"
      "[1,2]\n"
      "\"a bare, string\"\n"
      "42\n";
  REQUIRE(RunSlablog({"write", "-s", "robot", "m.slog"}, json, dir.dir()).exit_code == 0);
  const std::string text = "plain line\nwith, comma\nwith \"quotes\"\n\nlast\n";
  REQUIRE(RunSlablog({"write", "-a", "-f", "lines", "-s", "notes", "m.slog"}, text, dir.dir()).exit_code == 0);
  std::string raw;
  for (const std::string& r : {std::string("\x00\x01\xff", 3), std::string("bin,\"\n"), std::string()}) {
    const auto n = static_cast<uint32_t>(r.size());
    raw += std::string{static_cast<char>(n & 0xff), static_cast<char>(n >> 8 & 0xff), static_cast<char>(n >> 16 & 0xff),
                       static_cast<char>(n >> 24)} + r;
  }
  REQUIRE(RunSlablog({"write", "-a", "-f", "raw", "-s", "blob", "m.slog"}, raw, dir.dir()).exit_code == 0);
}

}  // namespace

TEST_CASE("CsvQuotesFieldsByRfc4180") {
  TempDir dir;
  WriteJsonLog(dir, {"\"a,b\"", "\"say \\\"hi\\\"\"", "\"two\\nlines\"", "\"cr\\r\"", "\"\"", "null", "true",
                     "\"caf\\u00e9\"", "\"plain\""});
  const std::string out = CsvOf(dir, {"--fields", "seq,data.v", "c.slog"});
  CHECK(out ==
        "seq,data.v\n"
        "0,\"a,b\"\n"
        "1,\"say \"\"hi\"\"\"\n"
        "2,\"two\nlines\"\n"
        "3,\"cr\r\"\n"
        "4,\"\"\n"  // an empty string, quoted
        "5,\n"      // null: nothing
        "6,true\n"
        "7,caf\xc3\xa9\n"
        "8,plain\n");
}

TEST_CASE("CsvWritesNumbersAsTheyAreWritten") {
  TempDir dir;
  const std::vector<std::string> numbers = {"18446744073709551615", "-9223372036854775808", "9007199254740993",
                                            "123456789012345678901234567890", "1.5e-300", "-0.0", "1E+2",
                                            "0.10000000000000000555"};
  WriteJsonLog(dir, numbers);
  const auto lines = Lines(CsvOf(dir, {"--fields", "data.v", "c.slog"}));
  REQUIRE(lines.size() == numbers.size() + 1);
  for (size_t i = 0; i < numbers.size(); ++i) CHECK(lines[i + 1] == numbers[i]);
}

TEST_CASE("CsvColumnsAreEveryFieldInOrderOfFirstAppearance") {
  TempDir dir;
  WriteJsonLog(dir, {"{\"a\":1,\"p\":{\"x\":2}}", "{\"p\":{\"y\":3},\"b\":[1, 2]}", "{\"a\":{\"inner\":4}}", "{}", "7"});
  const std::string out = CsvOf(dir, {"c.slog"});
  CHECK(out ==
        "stream,t,seq,data.ts,data.v.a,data.v.p.x,data.v.p.y,data.v.b,data.v.a.inner,data.v\n"
        "j,1,0,1,1,2,,,,\n"
        "j,2,1,2,,,3,\"[1, 2]\",,\n"  // an array: its JSON text in one cell
        "j,3,2,3,,,,,4,\n"
        "j,4,3,4,,,,,,{}\n"  // an empty object is a value
        "j,5,4,5,,,,,,7\n");
  // --fields: these columns in this order, in one pass; a field no record has stays empty.
  CHECK(CsvOf(dir, {"--fields", "data.v.p.y,t,data.nowhere,stream", "c.slog"}) ==
        "data.v.p.y,t,data.nowhere,stream\n,1,,j\n3,2,,j\n,3,,j\n,4,,j\n,5,,j\n");
}

TEST_CASE("CsvOfMixedStreamsReadsBackInPandas") {
  TempDir dir;
  WriteMixedLog(dir);
  RunResult csv = RunSlablog({"export", "--format", "csv", "m.slog"}, "", dir.dir());
  RunResult ndjson = RunSlablog({"export", "m.slog"}, "", dir.dir());
  REQUIRE(csv.exit_code == 0);
  REQUIRE(ndjson.exit_code == 0);
  // One header for all three streams; text and binary records in "data".
  CHECK(Lines(csv.out)[0] ==
        "stream,t,seq,data.t,data.pose.x,data.pose.y,data.pose.q,data.ok,data.name,data.big,data.neg,data.note,"
        "data.huge,data.empty,data.na,data.obj,data.list,data.deep.a.b.c,data.tab,data");
  std::ofstream(dir.path("m.csv"), std::ios::binary) << csv.out;
  std::ofstream(dir.path("m.ndjson"), std::ios::binary) << ndjson.out;
  RunResult py = RunShell("/usr/bin/python3 " + SourceDir() + "/tests/csv/read_back.py m.csv m.ndjson", dir.dir());
  INFO(py.out, py.err);
  CHECK(py.exit_code == 0);
  CHECK(py.out.find("ok: 15 rows") == 0);
}

TEST_CASE("CsvSelectsWhatNdjsonExportSelects") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 3000; ++i) {
    input += "{\"topic\":\"" + std::string(i % 3 == 0 ? "imu" : (i % 3 == 1 ? "gps" : "odom")) +
             "\",\"t\":" + std::to_string(1000 + i) + ",\"i\":" + std::to_string(i) + "}\n";
  }
  REQUIRE(RunSlablog({"write", "--section-size", "4K", "--stream-field", "topic", "--time-field", "t", "f.slog"},
                     input, dir.dir()).exit_code == 0);
  const std::vector<std::vector<std::string>> filters = {
      {}, {"-s", "imu"}, {"-s", "o*", "--since", "1500"}, {"--until", "1100"}, {"-n", "7"}, {"-s", "gps", "-n", "5"}};
  for (const auto& filter : filters) {
    std::vector<std::string> json_args = {"export", "f.slog"};
    json_args.insert(json_args.end(), filter.begin(), filter.end());
    auto csv_args = filter;
    csv_args.insert(csv_args.begin(), {"--fields", "stream,t,seq,data.i", "f.slog"});
    const auto json_lines = Lines(RunSlablog(json_args, "", dir.dir()).out);
    const auto csv_lines = Lines(CsvOf(dir, csv_args));
    INFO(doctest::toString(filter.size()), " ", (filter.empty() ? "" : filter[0]));
    REQUIRE(csv_lines.size() == json_lines.size() + 1);
    for (size_t i = 0; i < json_lines.size(); ++i) {
      const auto& j = json_lines[i];
      const auto field = [&](const std::string& key) {
        const auto at = j.find("\"" + key + "\":") + key.size() + 3;
        return j.substr(at, j.find_first_of(",}", at) - at);
      };
      const std::string name = field("stream");
      CHECK(csv_lines[i + 1] == name.substr(1, name.size() - 2) + "," + field("t") + "," + field("seq") + "," + field("i"));
    }
  }
  // Without --fields the first pass finds the columns of the selected records only.
  CHECK(Lines(CsvOf(dir, {"-s", "imu", "-n", "2", "f.slog"})).size() == 3);
}

TEST_CASE("CsvRefusesWhatItCannotDo") {
  TempDir dir;
  WriteJsonLog(dir, {"1"});
  struct Case { std::vector<std::string> args; int code; std::string message; };
  const std::vector<Case> cases = {
      {{"export", "--format", "csv", "--fields", "pose.x", "c.slog"}, 2, "'pose.x' is not a column"},
      {{"export", "--format", "csv", "--fields", "t,t", "c.slog"}, 2, "named twice"},
      {{"export", "--fields", "t", "c.slog"}, 2, "--fields needs --format csv"},
      {{"export", "--format", "csv", "--sections", "c.slog"}, 2, "records only"},
      {{"export", "--format", "xml", "c.slog"}, 2, "xml"},
      {{"export", "--format", "csv", "missing.slog"}, 3, "missing"},
      {{"export", "--format", "csv", SourceDir() + "/tests/fixtures/copper/clean/clean_0.copper"}, 2, "Copper"},
  };
  for (const Case& c : cases) {
    RunResult r = RunSlablog(c.args, "", dir.dir());
    INFO(c.args.back(), " ", r.err);
    CHECK(r.exit_code == c.code);
    CHECK(r.err.find(c.message) != std::string::npos);
    if (c.code != 0) CHECK(r.out.empty());
  }
}

TEST_CASE("CsvLeavesOutARecordThatIsNotJson") {
  TempDir dir;
  {
    auto w = Writer::Open(dir.path("bad.slog"), SmallOptions());
    REQUIRE(w.has_value());
    auto h = w.value()->OpenStream({"j", Encoding::kJson, 0});
    REQUIRE(h.has_value());
    for (std::string_view r : {"{\"a\":1}", "{\"a\":12x}", "{\"a\":2} trailing", "{\"a\":3}"}) {
      REQUIRE(w.value()->Append(h.value(), r, 5).ok());
    }
    REQUIRE(w.value()->Close().ok());
  }
  RunResult r = RunSlablog({"export", "--format", "csv", "bad.slog"}, "", dir.dir());
  CHECK(r.exit_code == 1);
  CHECK(r.out == "stream,t,seq,data.a\nj,5,0,1\nj,5,3,3\n");
  CHECK(r.err.find("record 1 of stream j is not valid JSON") != std::string::npos);
  CHECK(r.err.find("record 2 of stream j is not valid JSON") != std::string::npos);
}

// Records the quick reader (csv_quick_walk.cc) must refuse, each next to a valid one: every
// invalid one is reported and left out, as On-Demand alone did, and the valid ones read alike.
TEST_CASE("CsvQuickReaderAcceptsNoInvalidJson") {
  const std::vector<std::string> invalid = {
      "{\"a\":01}",     "{\"a\":1.}",        "{\"a\":-}",       "{\"a\":1e}",      "{\"a\":.5}",
      "{\"a\":+1}",     "{\"a\":tru}",       "{\"a\":nul}",     "{\"a\":True}",    "{\"a\":1,}",
      "{\"a\" 1}",      "{\"a\":1 \"b\":2}", "{a:1}",            "{\"a\":1}}",      "{\"a\":[1,]}",
      "{\"a\":[1 2]}",  "{\"a\":\"x}",       "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"\xc3\":1}",
      "{\"a\":{\"b\":1}", "[",               "",                  "{\"a\":1} x",     "{\"a\":\"\xed\xa0\x80\"}"};
  TempDir dir;
  {
    auto w = Writer::Open(dir.path("q.slog"), SmallOptions());
    REQUIRE(w.has_value());
    auto h = w.value()->OpenStream({"j", Encoding::kJson, 0});
    REQUIRE(h.has_value());
    for (const std::string& r : invalid) {
      REQUIRE(w.value()->Append(h.value(), "{\"a\":1}", 5).ok());
      // An empty record is exported as null (valid): only the others are refused.
      REQUIRE(w.value()->Append(h.value(), r.empty() ? " " : r, 5).ok());
    }
    REQUIRE(w.value()->Close().ok());
  }
  RunResult r = RunSlablog({"export", "--format", "csv", "--fields", "seq,data.a", "q.slog"}, "", dir.dir());
  CHECK(r.exit_code == 1);
  std::string expected = "seq,data.a\n";
  for (size_t i = 0; i < invalid.size(); ++i) {
    expected += std::to_string(2 * i) + ",1\n";
    INFO("record ", invalid[i]);
    CHECK(r.err.find("record " + std::to_string(2 * i + 1) + " of stream j is not valid JSON") != std::string::npos);
  }
  CHECK(r.out == expected);
}

// What the quick reader takes and what it leaves to On-Demand (escapes) give the same cells.
TEST_CASE("CsvCellsOfEscapedAndPlainStringsAgree") {
  TempDir dir;
  WriteJsonLog(dir, {"{\"s\":\"a,b\",\"u\":\"caf\xc3\xa9\",\"e\":\"\",\"n\":null,\"x\" : [ 1 , {\"y\":2} ] }",
                     "{\"s\":\"a\\u002cb\",\"u\":\"caf\\u00e9\",\"e\":\"\",\"n\":null,\"x\":[1,{\"y\":2}]}"});
  CHECK(CsvOf(dir, {"--fields", "data.v.s,data.v.u,data.v.e,data.v.n,data.v.x", "c.slog"}) ==
        "data.v.s,data.v.u,data.v.e,data.v.n,data.v.x\n"
        "\"a,b\",caf\xc3\xa9,\"\",,\"[ 1 , {\"\"y\"\":2} ]\"\n"
        "\"a,b\",caf\xc3\xa9,\"\",,\"[1,{\"\"y\"\":2}]\"\n");
}

// --time-format applies to the t column; its text is not quoted (it holds no comma).
TEST_CASE("CsvTimeColumnFollowsTimeFormat") {
  TempDir dir;
  WriteJsonLog(dir, {"1", "2"});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ns", "t\n1\n2\n"},
      {"ns-string", "t\n1\n2\n"},
      {"rfc3339", "t\n1970-01-01T00:00:00.000000001Z\n1970-01-01T00:00:00.000000002Z\n"},
      {"s", "t\n0.000000001\n0.000000002\n"}};
  for (const auto& [format, expected] : cases) {
    INFO("--time-format ", format);
    CHECK(CsvOf(dir, {"--fields", "t", "--time-format", format, "c.slog"}) == expected);
  }
  // Without --fields too (the first pass reads the columns, the second writes the times).
  const auto lines = Lines(CsvOf(dir, {"--time-format", "rfc3339", "c.slog"}));
  REQUIRE(lines.size() == 3);
  CHECK(lines[1] == "j,1970-01-01T00:00:00.000000001Z,0,1,1");
}

TEST_CASE("CsvStopsQuietlyWhenItsReaderGoesAway") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 200000; ++i) input += "{\"x\":" + std::to_string(i) + ",\"s\":\"some text, quoted\"}\n";
  REQUIRE(RunSlablog({"write", "big.slog"}, input, dir.dir()).exit_code == 0);
  RunResult r = RunShell("slablog export --format csv big.slog | head -n 2; echo \"rc=${PIPESTATUS[0]}\"", dir.dir());
  CHECK(r.err.empty());
  const auto lines = Lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "stream,t,seq,data.x,data.s");
  CHECK(lines[2] == "rc=0");
}

// Records only a library caller can store (slablog write refuses them), in a json stream "s".
void WriteLibraryRecords(const TempDir& dir, const std::string& log, const std::vector<std::string>& payloads) {
  auto w = Writer::Open(dir.path(log), WriterOptions{});
  REQUIRE(w);
  auto h = w.value()->OpenStream({"s", Encoding::kJson, 0});
  REQUIRE(h);
  int64_t t = 1;
  for (const std::string& p : payloads) REQUIRE(w.value()->Append(h.value(), p, t++).ok());
  REQUIRE(w.value()->Close().ok());
}

std::string Nested(int levels) { return std::string(static_cast<size_t>(levels), '[') + std::string(static_cast<size_t>(levels), ']'); }

// Whether a record is valid JSON does not depend on the columns asked for: a bad part that no
// column wants is still found (the first pass used to drop it silently, exit 0).
TEST_CASE("CsvJudgesARecordTheSameWhateverTheColumns") {
  TempDir dir;
  const std::string deep = "{\"id\":7,\"b\":" + Nested(1024) + "}";  // 1025 levels with the record's own
  WriteLibraryRecords(dir, "g.slog", {"{\"id\":6}", deep, "{\"id\":8,\"lone\":\"\\ud800\"}",
                                      "{\"id\":9,\"low\":\"\\udc00x\"}", "{\"id\":10,\"q\":[1,]}"});
  for (const std::vector<std::string>& fields : std::vector<std::vector<std::string>>{
           {}, {"--fields", "data.id"}, {"--fields", "data.id,data.b,data.lone"}, {"--fields", "stream,t"}}) {
    std::vector<std::string> args = {"export", "--format", "csv"};
    args.insert(args.end(), fields.begin(), fields.end());
    args.push_back("g.slog");
    const RunResult r = RunSlablog(args, "", dir.dir());
    INFO(r.err);
    CHECK(r.exit_code == 1);
    const auto rows = Lines(r.out);
    CHECK(rows.size() == 2);  // the header and record 0's row: the four others left out
    CHECK(r.err.find("offset") != std::string::npos);
    CHECK(r.err.find("nested deeper than 1024") != std::string::npos);
    for (const char* record : {"record 1 ", "record 2 ", "record 3 ", "record 4 "}) CHECK(r.err.find(record) != std::string::npos);
  }
}

// 1024 levels are valid, as slablog write takes them; a surrogate pair is a character.
TEST_CASE("CsvTakesRecordsNestedTo1024LevelsAndPairedSurrogates") {
  TempDir dir;
  WriteJsonLog(dir, {Nested(1023), "\"\\ud83e\\udd16\""});  // each under {"ts":..,"v":..}: 1024 levels
  const RunResult r = RunSlablog({"export", "--format", "csv", "c.slog"}, "", dir.dir());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const auto rows = Lines(r.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].find("," + Nested(1023)) != std::string::npos);  // the array as its JSON text
  CHECK(rows[2].substr(rows[2].size() - 4) == "\xf0\x9f\xa4\x96");
}

}  // namespace slablog::test

namespace slablog::test {
namespace {

// A stream name that is not UTF-8 (only a library caller can give one) is shown as NDJSON shows
// it, with U+FFFD for the bad byte: CSV is UTF-8 text.
TEST_CASE("CsvStreamNamesThatAreNotUtf8GetReplacementCharacters") {
  TempDir dir;
  auto w = Writer::Open(dir.path("n.slog"), WriterOptions{});
  REQUIRE(w);
  auto h = w.value()->OpenStream({"s\xff", Encoding::kJson, 0});
  REQUIRE(h);
  REQUIRE(w.value()->Append(h.value(), std::string("{\"a\":1}"), 5).ok());
  REQUIRE(w.value()->Close().ok());
  const RunResult r = RunSlablog({"export", "--format", "csv", "n.slog"}, "", dir.dir());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "stream,t,seq,data.a\ns\xEF\xBF\xBD,5,0,1\n");
}

}  // namespace
}  // namespace slablog::test

// Found by a review of the parallel, layout-matching CSV export.
namespace slablog::test {
namespace {

std::string NestedObjects(int levels, const std::string& inner) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += "{\"a\":";
  return s + inner + std::string(static_cast<size_t>(levels), '}');
}

// A record nested past 1024 levels is refused when read alone, but taken when the record
// before it in its stream has its layout with an array slot deeper than 255 (Shape::Slot::depth
// is a uint8_t: 300 wraps to 44, and Match's Array(44) allows 980 more levels).
TEST_CASE("CsvDepthLimitDoesNotDependOnThePreviousRecord") {
  TempDir dir;
  const std::string deep = NestedObjects(300, std::string(800, '[') + std::string(800, ']'));  // 1100 levels
  WriteLibraryRecords(dir, "alone.slog", {deep});
  WriteLibraryRecords(dir, "after.slog", {NestedObjects(300, "[1]"), deep});
  const RunResult alone = RunSlablog({"export", "--format", "csv", "alone.slog"}, "", dir.dir());
  CHECK(alone.exit_code == 1);
  CHECK(alone.err.find("nested deeper than 1024") != std::string::npos);
  const RunResult after = RunSlablog({"export", "--format", "csv", "after.slog"}, "", dir.dir());
  INFO(after.err);
  CHECK(after.exit_code == 1);
  CHECK(Lines(after.out).size() == 2);
  CHECK(after.err.find("record 1 ") != std::string::npos);
}

// More than kMaxColumns (10000) distinct fields inside one batch overflow only the worker's
// own CsvColumns; the merge never sees the overflow, so the export keeps the first 10000 columns,
// drops the rest silently and exits 0 (before the parallel first pass: "more than 10000 distinct
// fields; choose columns with --fields", exit 2).
TEST_CASE("CsvTooManyColumnsInOneBatchIsRefused") {
  TempDir dir;
  std::string record = "{";
  for (int i = 0; i < 10001; ++i) record += (i > 0 ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  record += "}";
  WriteLibraryRecords(dir, "wide.slog", {record});
  const RunResult r = RunSlablog({"export", "--format", "csv", "wide.slog"}, "", dir.dir());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("distinct fields") != std::string::npos);
}

// With a quoted time format the t cell's text starts one byte into its buffer, and laid-out rows
// copy it a fixed 32 bytes at a time: the buffer must hold them (the ASan build, which this
// suite also runs, read one byte past it).
TEST_CASE("CsvQuotedTimeFormatsOnLaidOutRows") {
  TempDir dir;
  WriteLibraryRecords(dir, "t.slog", {"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"});
  for (const char* format : {"ns-string", "rfc3339"}) {
    INFO(format);
    const RunResult r = RunSlablog({"export", "--format", "csv", "--time-format", format, "t.slog"}, "", dir.dir());
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(Lines(r.out).size() == 4);
  }
}

}  // namespace
}  // namespace slablog::test
