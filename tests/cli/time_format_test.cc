// Times people's tools keep: --time-format for export, follow, dump and info --json (slablog and
// Copper logs), a jq 1.6 round trip that keeps times above 2^53 exact, and write --time-field
// with float seconds, RFC 3339 strings and --time-unit, and its messages for bad times.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

using nlohmann::json;

// One record per time, {"t":TIME,"i":N}, TIME written as given (a JSON number or string).
RunResult WriteTimes(const std::string& dir, const std::string& log, const std::vector<std::string>& times,
                     std::vector<std::string> extra = {}) {
  std::string input;
  for (size_t i = 0; i < times.size(); ++i) input += "{\"t\":" + times[i] + ",\"i\":" + std::to_string(i) + "}\n";
  std::vector<std::string> args = {"write", "--time-field", "t"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(log);
  return RunSlablog(args, input, dir);
}

// The raw text of "t" in each line of export output, as printed.
std::vector<std::string> RawTimes(const std::string& out) {
  std::vector<std::string> times;
  for (const std::string& line : Lines(out)) {
    const auto at = line.find(",\"t\":");
    const auto end = line.find(",\"seq\":");
    REQUIRE(at != std::string::npos);
    REQUIRE(end != std::string::npos);
    times.push_back(line.substr(at + 5, end - at - 5));
  }
  return times;
}

// The stored times of a log, read by export's default format.
std::vector<int64_t> StoredTimes(const std::string& dir, const std::string& log) {
  const RunResult r = RunSlablog({"export", log}, "", dir);
  REQUIRE(r.exit_code == 0);
  std::vector<int64_t> times;
  for (const std::string& line : Lines(r.out)) times.push_back(json::parse(line)["t"].get<int64_t>());
  return times;
}

// Above 2^53, before 1970, not a wall-clock time (a monotonic clock), and int64's ends.
const std::vector<std::string> kTimes = {"1764000000000000001", "-1", "5", "-9223372036854775808",
                                         "9223372036854775807"};

std::string Fixture(const std::string& dir, const std::string& file) {
  return SourceDir() + "/tests/fixtures/" + dir + "/" + file;
}

}  // namespace

TEST_CASE("TimeFormatExportPrintsEachFormatExactly") {
  TempDir dir;
  REQUIRE(WriteTimes(dir.dir(), "t.slog", kTimes).exit_code == 0);
  struct Expected {
    const char* format;
    std::vector<std::string> times;
  };
  const Expected expected[] = {
      {"ns", kTimes},
      {"ns-string",
       {"\"1764000000000000001\"", "\"-1\"", "\"5\"", "\"-9223372036854775808\"", "\"9223372036854775807\""}},
      // Every int64 is a time in 1677..2262: rfc3339 prints them all, 5 ns as a 1970 date.
      {"rfc3339",
       {"\"2025-11-24T16:00:00.000000001Z\"", "\"1969-12-31T23:59:59.999999999Z\"",
        "\"1970-01-01T00:00:00.000000005Z\"", "\"1677-09-21T00:12:43.145224192Z\"",
        "\"2262-04-11T23:47:16.854775807Z\""}},
      {"s", {"1764000000.000000001", "-0.000000001", "0.000000005", "-9223372036.854775808", "9223372036.854775807"}},
  };
  for (const Expected& e : expected) {
    INFO("--time-format " << e.format);
    const RunResult r = RunSlablog({"export", "--time-format", e.format, "t.slog"}, "", dir.dir());
    REQUIRE(r.exit_code == 0);
    CHECK(RawTimes(r.out) == e.times);
    for (const std::string& line : Lines(r.out)) CHECK_NOTHROW(json::parse(line));
    // The formats that read back through write give the same times.
    if (std::string(e.format) != "ns") {
      std::string again;
      for (const std::string& line : Lines(r.out)) again += line + "\n";
      const std::string copy = std::string("back-") + e.format + ".slog";
      REQUIRE(RunSlablog({"write", "--time-field", "t", copy}, again, dir.dir()).exit_code == 0);
      CHECK(StoredTimes(dir.dir(), copy) == StoredTimes(dir.dir(), "t.slog"));
    }
  }
  // --sections prints its first_t and last_t in the format too.
  const RunResult sections = RunSlablog({"export", "--sections", "--time-format", "rfc3339", "t.slog"}, "", dir.dir());
  REQUIRE(sections.exit_code == 0);
  CHECK(sections.out.find("\"first_t\":\"2025-11-24T16:00:00.000000001Z\"") != std::string::npos);
  const RunResult bad = RunSlablog({"export", "--time-format", "iso", "t.slog"}, "", dir.dir());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--time-format takes ns, ns-string, rfc3339 or s: not 'iso'") != std::string::npos);
}

TEST_CASE("TimeFormatRfc3339AgreesWithGnuDateOnRandomTimes") {
  TempDir dir;
  std::mt19937_64 rng(TestSeed());
  std::vector<std::string> times;
  for (int i = 0; i < 40; ++i) times.push_back(std::to_string(static_cast<int64_t>(rng())));
  REQUIRE(WriteTimes(dir.dir(), "r.slog", times).exit_code == 0);
  const RunResult r = RunSlablog({"export", "--time-format", "rfc3339", "r.slog"}, "", dir.dir());
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> printed = RawTimes(r.out);
  REQUIRE(printed.size() == times.size());
  for (size_t i = 0; i < times.size(); ++i) {
    const int64_t t = std::stoll(times[i]);
    const int64_t seconds = t / 1000000000 - (t % 1000000000 < 0 ? 1 : 0);
    const int64_t nanos = t - seconds * 1000000000;
    const RunResult date = RunShell("date -u -d @" + std::to_string(seconds) + " +%Y-%m-%dT%H:%M:%S");
    REQUIRE(date.exit_code == 0);
    char fraction[16];
    std::snprintf(fraction, sizeof(fraction), ".%09lld", static_cast<long long>(nanos));
    INFO("t = " << t);
    CHECK(printed[i] == "\"" + Lines(date.out).at(0) + fraction + "Z\"");
  }
}

TEST_CASE("TimeFormatFollowDumpAndInfoJson") {
  TempDir dir;
  REQUIRE(WriteTimes(dir.dir(), "t.slog", kTimes).exit_code == 0);
  for (const char* format : {"ns-string", "rfc3339", "s"}) {
    INFO("--time-format " << format);
    const RunResult follow = RunSlablog({"follow", "--from-start", "--time-format", format, "t.slog"}, "", dir.dir());
    CHECK(follow.exit_code == 0);
    CHECK(follow.out == RunSlablog({"export", "--time-format", format, "t.slog"}, "", dir.dir()).out);
  }
  const RunResult dump = RunSlablog({"dump", "--time-format", "rfc3339", "t.slog"}, "", dir.dir());
  CHECK(dump.exit_code == 0);
  CHECK(dump.out.find("  t 2025-11-24T16:00:00.000000001Z  crc ok") != std::string::npos);
  CHECK(dump.out.find("  t 1969-12-31T23:59:59.999999999Z  crc ok") != std::string::npos);
  CHECK(dump.out.find("  t 1764000000000000001  crc ok") == std::string::npos);
  const RunResult dump_s = RunSlablog({"dump", "--time-format", "s", "t.slog"}, "", dir.dir());
  CHECK(dump_s.out.find("  t -0.000000001  crc ok") != std::string::npos);
  // info --json: the log's and the stream's range (its sections' first and last records), in
  // each format, as printed.
  struct Expected {
    const char* format;
    std::string first, last;
  };
  const Expected expected[] = {
      {"ns", "1764000000000000001", "9223372036854775807"},
      {"ns-string", "\"1764000000000000001\"", "\"9223372036854775807\""},
      {"rfc3339", "\"2025-11-24T16:00:00.000000001Z\"", "\"2262-04-11T23:47:16.854775807Z\""},
      {"s", "1764000000.000000001", "9223372036.854775807"},
  };
  for (const Expected& e : expected) {
    INFO("--time-format " << e.format);
    const RunResult info = RunSlablog({"info", "--json", "--time-format", e.format, "t.slog"}, "", dir.dir());
    REQUIRE(info.exit_code == 0);
    CHECK_NOTHROW(json::parse(info.out));
    CHECK(info.out.find("\"first_t\": " + e.first + ",\n  \"last_t\": " + e.last) != std::string::npos);
    CHECK(info.out.find("\"first_t\": " + e.first + ",\n      \"last_t\": " + e.last) != std::string::npos);
  }
}

TEST_CASE("TimeFormatCopperExportDumpAndInfo") {
  const std::string log = Fixture("copper-v1/crash_sigkill", "crash_sigkill_1.copper");
  const std::string triple = "--copperlist-type=(u32,u32,u32)";
  // The first log line is at 1 s (Copper's clock counts from its start: not a wall-clock time).
  const RunResult r = RunSlablog({"export", triple, "--time-format", "rfc3339", "-s", "log", log});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("{\"stream\":\"log\",\"t\":\"1970-01-01T00:00:01.000000000Z\",\"seq\":0,", 0) == 0);
  const RunResult s = RunSlablog({"export", triple, "--time-format", "s", "-s", "log", "--sections", log});
  REQUIRE(s.exit_code == 0);
  CHECK(s.out.find("\"first_t\":1.000000000,") != std::string::npos);
  // follow ends at once on a log closed cleanly, having printed what export prints.
  const std::string clean = Fixture("copper-v1/multislab", "multislab.copper");
  const RunResult follow = RunSlablog({"follow", "--from-start", triple, "--time-format", "ns-string", clean});
  CHECK(follow.exit_code == 0);
  CHECK(follow.out == RunSlablog({"export", triple, "--time-format", "ns-string", clean}).out);
  CHECK(follow.out.find("{\"stream\":\"log\",\"t\":\"1000000000\",\"seq\":0,") != std::string::npos);
  const RunResult dump = RunSlablog({"dump", triple, "--time-format", "s", log});
  CHECK(dump.out.find("  t 1.000000000  ") != std::string::npos);
  const RunResult info = RunSlablog({"info", "--json", triple, "--time-format", "rfc3339", log});
  CHECK_NOTHROW(json::parse(info.out));
  CHECK(info.out.find("\"first_t\": \"1970-01-01T00:00:01.000000000Z\"") != std::string::npos);
}

TEST_CASE("TimeFormatNsStringKeepsDistinctTimesThroughJq16") {
  TempDir dir;
  // Nanoseconds 1 apart above 2^53: a double holds only every 256th of them.
  std::vector<std::string> times;
  for (int i = 0; i < 1000; ++i) times.push_back(std::to_string(1764000000000000000 + i));
  REQUIRE(WriteTimes(dir.dir(), "j.slog", times).exit_code == 0);
  for (const char* format : {"ns-string", "rfc3339"}) {
    INFO("--time-format " << format);
    const RunResult distinct =
        RunShell(std::string("slablog export --time-format ") + format + " j.slog | jq -c .t | sort -u | wc -l", dir.dir());
    REQUIRE(distinct.exit_code == 0);
    CHECK(std::stoi(distinct.out) == 1000);
  }
  // Through jq and back into a new log: the same times.
  const RunResult back = RunShell(
      "slablog export --time-format ns-string j.slog | jq -c '{t: .t, i: .data.i}' | slablog write --time-field t k.slog",
      dir.dir());
  REQUIRE(back.exit_code == 0);
  CHECK(StoredTimes(dir.dir(), "k.slog") == StoredTimes(dir.dir(), "j.slog"));
  CHECK(StoredTimes(dir.dir(), "k.slog").back() == 1764000000000000999);
}

TEST_CASE("TimeFieldTakesFloatSecondsRfc3339AndTimeUnit") {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;  // after --time-field t
    std::string value;              // as it stands in the JSON
    int64_t ns;
  };
  const Case cases[] = {
      {{}, "1764000000000000001", 1764000000000000001},            // integers are nanoseconds
      {{}, "1764000000.000000001", 1764000000000000001},           // fractions are seconds, digit for digit
      {{}, "1764000000.5", 1764000000500000000},
      {{}, "1.764e9", 1764000000000000000},                        // an exponent makes seconds too
      {{}, "-0.5", -500000000},
      {{}, "0.0000000015", 2},                                     // rounded, halves away from zero
      {{}, "-0.0000000015", -2},
      {{}, "0.00000000049", 0},
      {{}, "\"2025-11-24T16:00:00.000000001Z\"", 1764000000000000001},
      {{}, "\"2025-11-24T17:00:00.5+01:00\"", 1764000000500000000},
      {{}, "\"1969-12-31T23:59:59Z\"", -1000000000},
      {{}, "\"1764000000000000001\"", 1764000000000000001},        // export --time-format ns-string
      {{}, "\"1764000000.25\"", 1764000000250000000},
      {{"--time-unit", "ms"}, "1764000000000", 1764000000000000000},
      {{"--time-unit", "ms"}, "1764000000000.000001", 1764000000000000001},
      {{"--time-unit", "us"}, "1.5", 1500},
      {{"--time-unit", "s"}, "1764000000", 1764000000000000000},   // an integer in seconds
      {{"--time-unit", "ns"}, "12.5", 13},
      {{"--time-unit", "s"}, "\"2025-11-24T16:00:00Z\"", 1764000000000000000},  // RFC 3339 has its own unit
      {{}, "\"2024-02-29T00:00:00Z\"", 1709164800000000000},  // a leap day
      {{}, "\"2000-02-29T23:59:59+23:59\"", 951782459000000000},
      {{"--time-unit", "s"}, "-9223372036.854775808", INT64_MIN},
      {{}, "9223372036.854775807", INT64_MAX},
      // RFC 3339 fractions below a nanosecond round as numbers do, before 1970 too.
      {{}, "\"2025-11-24T16:00:00.0000000009Z\"", 1764000000000000001},
      {{}, "\"2025-11-24T16:00:00.00000000049Z\"", 1764000000000000000},
      {{}, "\"1970-01-01T00:00:00.0000000005Z\"", 1},                    // a half, away from zero
      {{}, "\"1969-12-31T23:59:59.9999999999Z\"", 0},
      {{}, "\"1969-12-31T23:59:59.0000000005Z\"", -1000000000},          // -0.9999999995 s
      {{}, "\"1969-12-31T23:59:59.00000000050001Z\"", -999999999},
      {{}, "\"1677-09-21T00:12:43.1452241924Z\"", INT64_MIN},
      // A leap second is the next day's first second, as in POSIX time, in any offset.
      {{}, "\"2016-12-31T23:59:60Z\"", 1483228800000000000},
      {{}, "\"2016-12-31T15:59:60.5-08:00\"", 1483228800500000000},
      {{}, "\"2025-11-30T23:59:60Z\"", 1764547200000000000},
  };
  int n = 0;
  for (const Case& c : cases) {
    INFO("value " << c.value << (c.args.empty() ? "" : " with " + c.args[0] + " " + c.args[1]));
    const std::string log = "w" + std::to_string(n++) + ".slog";
    const RunResult w = WriteTimes(dir.dir(), log, {c.value}, c.args);
    REQUIRE(w.exit_code == 0);
    CHECK(StoredTimes(dir.dir(), log) == std::vector<int64_t>{c.ns});
  }
}

TEST_CASE("TimeFieldRefusesBadTimesWithTheLine") {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string value;  // on line 2, after a good line
    std::string message;
  };
  const Case cases[] = {
      {{}, "\"x\"", "line 2: field 't': 'x' is neither a number nor an RFC 3339 time"},
      {{}, "true", "line 2: field 't' must be a number"},
      {{}, "null", "line 2: field 't' must be a number"},
      {{}, "{\"s\":1}", "line 2: field 't' must be a number"},
      {{}, "1e30", "line 2: field 't': 1e30 seconds is out of range"},
      {{}, "9300000000.0", "line 2: field 't': 9300000000.0 seconds is out of range"},
      {{}, "9223372036854775808", "line 2: field 't': 9223372036854775808 nanoseconds is out of range"},
      {{}, "123456789012345678901234567890", "line 2: field 't': 123456789012345678901234567890 nanoseconds is out of range"},
      {{"--time-unit", "ms"}, "9300000000000", "line 2: field 't': 9300000000000 milliseconds is out of range"},
      {{}, "\"9999-01-01T00:00:00Z\"", "line 2: field 't': '9999-01-01T00:00:00Z' is neither"},
      {{}, "\"2025-11-24T16:00:00\"", "line 2: field 't': '2025-11-24T16:00:00' is neither"},
      {{}, "\"1.\"", "line 2: field 't': '1.' is neither"},
      // Not carried into the next month or hour (a review found 2025-02-31 stored as 2025-03-03).
      {{}, "\"2025-02-31T00:00:00Z\"", "line 2: field 't': '2025-02-31T00:00:00Z' is neither"},
      {{}, "\"2025-02-29T00:00:00Z\"", "line 2: field 't': '2025-02-29T00:00:00Z' is neither"},
      {{}, "\"2025-04-31T00:00:00Z\"", "line 2: field 't': '2025-04-31T00:00:00Z' is neither"},
      {{}, "\"2025-11-24T16:00:00+99:99\"", "line 2: field 't': '2025-11-24T16:00:00+99:99' is neither"},
      // Second 60 only as a leap second: 23:59:60 UTC on a month's last day.
      {{}, "\"2025-11-24T12:34:60Z\"", "line 2: field 't': '2025-11-24T12:34:60Z' is neither"},
      {{}, "\"2025-11-24T23:59:60Z\"", "line 2: field 't': '2025-11-24T23:59:60Z' is neither"},
      {{}, "\"2016-12-31T23:59:60+01:00\"", "line 2: field 't': '2016-12-31T23:59:60+01:00' is neither"},
      {{}, "\"2262-04-11T23:47:16.8547758075Z\"", "line 2: field 't': '2262-04-11T23:47:16.8547758075Z' is neither"},
  };
  int n = 0;
  for (const Case& c : cases) {
    INFO("value " << c.value);
    const std::string log = "b" + std::to_string(n++) + ".slog";
    const RunResult w = WriteTimes(dir.dir(), log, {"1", c.value}, c.args);
    CHECK(w.exit_code == 1);
    CHECK(w.err.find(c.message) != std::string::npos);
    CHECK(w.err.find(": line 2:") != std::string::npos);  // "slablog write: stdin: line 2: ..."
  }
  RunResult w = WriteTimes(dir.dir(), "u.slog", {"1"}, {"--time-unit", "h"});
  CHECK(w.exit_code == 2);
  CHECK(w.err.find("--time-unit takes s, ms, us or ns: not 'h'") != std::string::npos);
  w = RunSlablog({"write", "--time-unit", "ms", "v.slog"}, "{}\n", dir.dir());
  CHECK(w.exit_code == 2);
  CHECK(w.err.find("--time-unit needs --time-field") != std::string::npos);
}

// The same time written as RFC 3339 and as a number is stored the same, to the nanosecond; and
// --since and --until read RFC 3339 with the same parser.
TEST_CASE("TimeFieldRfc3339FractionsPastNineDigitsRoundAsNumbersDo") {
  TempDir dir;
  REQUIRE(WriteTimes(dir.dir(), "t.slog", {"\"2025-11-24T16:00:00.0000000009Z\"", "1764000000.0000000009"}).exit_code ==
          0);
  const std::vector<int64_t> times = StoredTimes(dir.dir(), "t.slog");
  REQUIRE(times.size() == 2);
  CHECK(times[0] == times[1]);
  const RunResult since =
      RunSlablog({"export", "--since", "2025-11-24T16:00:00.0000000009Z", "t.slog"}, "", dir.dir());
  CHECK(Lines(since.out).size() == 2);
  const RunResult leap = RunSlablog({"export", "--since", "2025-11-24T12:34:60Z", "t.slog"}, "", dir.dir());
  CHECK(leap.exit_code == 2);
  CHECK(leap.err.find("--since takes nanoseconds, an RFC 3339 time") != std::string::npos);
}

}  // namespace slablog::test
