// slablog export: what comes out is what went in, filters select what the same filter on the
// input selects, and a closed pipe ends it quietly.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <limits>
#include <random>
#include <set>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

// Random JSON values: nested objects and arrays, unicode and escapes, numbers past 64 bits.
std::string RandomJson(std::mt19937_64& rng, int depth = 0) {
  static const std::vector<std::string> kStrings = {
      "\"plain\"", "\"caf\\u00e9 \\\"quoted\\\" \\\\ back\\tslash\"", "\"\xe2\x9c\x93 utf-8 \xf0\x9f\xa4\x96\"",
      "\"\"", "\"line\\nbreak\""};
  switch (rng() % (depth > 2 ? 4 : 6)) {
    case 0: return std::to_string(static_cast<int64_t>(rng()));
    case 1: return "123456789012345678901234567890";  // past any integer type
    case 2: return kStrings[rng() % kStrings.size()];
    case 3: return rng() % 2 ? "true" : (rng() % 2 ? "null" : "-1.5e-300");
    case 4: {
      std::string s = "[";
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) s += (i ? "," : "") + RandomJson(rng, depth + 1);
      return s + "]";
    }
    default: {
      std::string s = "{";
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
        s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + RandomJson(rng, depth + 1);
      }
      return s + "}";
    }
  }
}

// The raw text of "data" in an export line (everything after it but the closing brace).
std::string DataOf(const std::string& line) {
  const auto at = line.find(",\"data\":");
  REQUIRE(at != std::string::npos);
  return line.substr(at + 8, line.size() - at - 9);
}

}  // namespace

TEST_CASE("ExportRoundTripsRandomJson") {
  TempDir dir;
  std::mt19937_64 rng(TestSeed());
  std::vector<std::string> values;
  std::string input;
  for (int i = 0; i < 2000; ++i) {
    values.push_back(RandomJson(rng));
    input += values.back() + "\n";
  }
  REQUIRE(RunSlablog({"write", "--section-size", "8K", "v.slog"}, input, dir.dir()).exit_code == 0);
  RunResult r = RunSlablog({"export", "v.slog"}, "", dir.dir());
  CHECK(r.exit_code == 0);
  const auto lines = Lines(r.out);
  REQUIRE(lines.size() == values.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(DataOf(lines[i]) == values[i]);  // byte for byte
    auto j = nlohmann::json::parse(lines[i]);  // and every line is valid JSON
    CHECK(j["seq"] == i);
    CHECK(j["stream"] == "default");
  }
}

TEST_CASE("ExportFiltersMatchTheSameFilterOnTheInput") {
  TempDir dir;
  const std::vector<std::string> topics = {"imu", "imu_raw", "gps", "cam/left"};
  std::string input;
  struct In { std::string topic; int64_t t; std::string line; };
  std::vector<In> all;
  const int64_t t0 = 1764000000000000000;  // 2025-11-24T16:00:00Z
  for (int i = 0; i < 3000; ++i) {
    const std::string topic = topics[static_cast<size_t>(i) % topics.size()];
    const int64_t t = t0 + int64_t{i} * 10'000'000;  // 10 ms apart: 30 s in all
    all.push_back({topic, t, "{\"topic\":\"" + topic + "\",\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}"});
    input += all.back().line + "\n";
  }
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "--section-size", "4K", "f.slog"}, input,
                     dir.dir()).exit_code == 0);
  auto expect = [&](auto keep) {
    std::multiset<std::string> want;
    for (const auto& in : all) {
      if (keep(in)) want.insert(in.line);
    }
    return want;
  };
  auto got = [&](const std::vector<std::string>& args) {
    std::vector<std::string> full = {"export"};
    full.insert(full.end(), args.begin(), args.end());
    full.push_back("f.slog");
    RunResult r = RunSlablog(full, "", dir.dir());
    CHECK(r.exit_code == 0);
    std::multiset<std::string> out;
    for (const auto& line : Lines(r.out)) out.insert(DataOf(line));
    return out;
  };
  CHECK(got({"--stream", "imu*"}) == expect([](const In& in) { return in.topic.rfind("imu", 0) == 0; }));
  CHECK(got({"--stream", "gps", "--stream", "cam/*"}) ==
        expect([](const In& in) { return in.topic == "gps" || in.topic == "cam/left"; }));
  const int64_t since = t0 + 12'000'000'000, until = t0 + 17'500'000'000;
  CHECK(got({"--since", std::to_string(since), "--until", std::to_string(until)}) ==
        expect([&](const In& in) { return in.t >= since && in.t <= until; }));
  CHECK(got({"--since", "2025-11-24T16:00:12Z", "--until", "2025-11-24T17:00:17.5+01:00"}) ==
        expect([&](const In& in) { return in.t >= since && in.t <= until; }));
  CHECK(Lines(RunSlablog({"export", "--limit", "7", "f.slog"}, "", dir.dir()).out).size() == 7);

  // The same filters in jq, on the input as written.
  WriteFile(dir.path("in.ndjson"), input);
  auto shell = [&](const std::string& line) {
    RunResult r = RunShell(line, dir.dir());
    CHECK_MESSAGE(r.exit_code == 0, line, "\n", r.err);
    return r.out;
  };
  CHECK(shell("slablog export -s 'imu*' -s gps f.slog | jq -c .data | sort") ==
        shell("jq -c 'select(.topic | test(\"^imu|^gps$\"))' in.ndjson | sort"));
  const std::string window = "select(.t >= " + std::to_string(since) + " and .t <= " + std::to_string(until) + ")";
  CHECK(shell("slablog export --since " + std::to_string(since) + " --until " + std::to_string(until) +
              " f.slog | jq -c .data | sort") == shell("jq -c '" + window + "' in.ndjson | sort"));
  // Sections skipped by their time range still count: each record keeps its number in its stream.
  CHECK(shell("slablog export --since " + std::to_string(since) + " --until " + std::to_string(until) + " f.slog") ==
        shell("slablog export f.slog | jq -c '" + window + "'"));
  RunResult bad = RunSlablog({"export", "--since", "yesterday", "f.slog"}, "", dir.dir());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.rfind("slablog export: ", 0) == 0);
}

TEST_CASE("ExportPrintsEveryTimeDigitForDigit") {
  // export formats numbers by hand (eight digits at a time): every width and sign, and the
  // edges of the blocks, come out as std::to_string makes them.
  TempDir dir;
  const std::vector<int64_t> times = {std::numeric_limits<int64_t>::min(), -10'000'000'000'000'000, -100'000'001,
                                      -100'000'000, -99'999'999, -1, 0, 7, 99'999'999, 100'000'000, 100'000'001,
                                      1'000'000'000'000'000, 9'999'999'999'999'999, 10'000'000'000'000'000,
                                      1'764'000'000'000'000'001, std::numeric_limits<int64_t>::max()};
  std::string input;
  for (int64_t t : times) input += "{\"t\":" + std::to_string(t) + "}\n";
  REQUIRE(RunSlablog({"write", "--time-field", "t", "e.slog"}, input, dir.dir()).exit_code == 0);
  RunResult r = RunSlablog({"export", "e.slog"}, "", dir.dir());
  CHECK(r.exit_code == 0);
  const auto lines = Lines(r.out);
  REQUIRE(lines.size() == times.size());
  for (size_t i = 0; i < times.size(); ++i) {
    const std::string t = std::to_string(times[i]);
    CHECK(lines[i] == "{\"stream\":\"default\",\"t\":" + t + ",\"seq\":" + std::to_string(i) + ",\"data\":{\"t\":" + t + "}}");
  }
}

TEST_CASE("ExportArraySectionsAndEncodings") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "--format", "lines", "--stream", "txt", "t.slog"}, "tab\there\n\xff\xfe\n", dir.dir()).exit_code == 0);
  auto lines = Lines(RunSlablog({"export", "t.slog"}, "", dir.dir()).out);
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["data"] == "tab\there");
  CHECK(nlohmann::json::parse(lines[1])["data"] == "\xef\xbf\xbd\xef\xbf\xbd");  // invalid UTF-8 -> U+FFFD
  // Sequences that decode to no Unicode scalar value (a surrogate, an overlong form, a code point
  // above U+10FFFF) are invalid too: one U+FFFD per byte, as the Unicode standard recommends for
  // them; a four-byte character passes whole.
  REQUIRE(RunSlablog({"write", "--format", "lines", "--stream", "txt", "u.slog"},
                     "a\xed\xa0\x80" "b\nc\xc0\xaf" "d\ne\xf4\x90\x80\x80" "f\ng\xf0\x9f\x98\x80" "h\n", dir.dir())
              .exit_code == 0);
  const std::string r = "\xef\xbf\xbd";
  auto text = Lines(RunSlablog({"export", "u.slog"}, "", dir.dir()).out);
  REQUIRE(text.size() == 4);
  CHECK(nlohmann::json::parse(text[0])["data"] == "a" + r + r + r + "b");
  CHECK(nlohmann::json::parse(text[1])["data"] == "c" + r + r + "d");
  CHECK(nlohmann::json::parse(text[2])["data"] == "e" + r + r + r + r + "f");
  CHECK(nlohmann::json::parse(text[3])["data"] == "g\xf0\x9f\x98\x80h");
  REQUIRE(RunSlablog({"write", "--format", "raw", "b.slog"}, std::string("\x04\0\0\0\x00\x01\xfe\xff", 8), dir.dir()).exit_code == 0);
  CHECK(nlohmann::json::parse(RunSlablog({"export", "b.slog"}, "", dir.dir()).out)["data"] == "AAH+/w==");
  auto array = nlohmann::json::parse(RunSlablog({"export", "--array", "t.slog"}, "", dir.dir()).out);
  CHECK(array.is_array());
  CHECK(array.size() == 2);
  CHECK(nlohmann::json::parse(RunSlablog({"export", "--array", "--stream", "none", "t.slog"}, "", dir.dir()).out).empty());
  auto sections = Lines(RunSlablog({"export", "--sections", "t.slog"}, "", dir.dir()).out);
  REQUIRE(sections.size() == 1);
  auto s = nlohmann::json::parse(sections[0]);
  CHECK(s["stream"] == "txt");
  CHECK(s["state"] == "closed");
  CHECK(s["record_count"] == 2);
  CHECK_FALSE(s.contains("records"));
  auto with = nlohmann::json::parse(RunSlablog({"export", "--sections", "--records", "t.slog"}, "", dir.dir()).out);
  REQUIRE(with["records"].size() == 2);
  CHECK(with["records"][1]["seq"] == 1);
}

TEST_CASE("ExportIntoAClosedPipe") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 200000; ++i) input += "{\"i\":" + std::to_string(i) + "}\n";
  REQUIRE(RunSlablog({"write", "p.slog"}, input, dir.dir()).exit_code == 0);
  RunResult r = RunShell("slablog export p.slog | head -n 1; echo \"rc=${PIPESTATUS[0]}\"", dir.dir());
  CHECK(r.err.empty());
  CHECK(r.out.rfind("{\"stream\":\"default\"", 0) == 0);
  CHECK(r.out.find("\nrc=0\n") != std::string::npos);
}

}  // namespace slablog::test
