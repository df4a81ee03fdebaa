// Copper logs: every fixture (real output of copper-rs's own writer, tests/fixtures/copper*, with
// the README and expected.json that specify them) read section by section and entry by entry,
// converted into slablog logs, and cut and bit-flipped: no crash, no hang, no entry that was not
// written, and salvage that never grows as the file shrinks.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "slablog/copper.h"
#include "slablog/json_text.h"
#include "slablog/log_format.h"
#include "testutil.h"

namespace slablog::test {
namespace {

using nlohmann::json;

struct Fixture {
  const char* dir;   // under tests/fixtures
  const char* name;  // base name without ".copper"
  bool v1;
};
constexpr Fixture kFixtures[] = {
    {"copper/clean", "clean", false},           {"copper/crash_simple", "crash_simple", false},
    {"copper/crash_multislab", "crash_multislab", false}, {"copper/multislab", "multislab", false},
    {"copper-v1/clean", "clean", true},         {"copper-v1/crash_abort", "crash_abort", true},
    {"copper-v1/crash_sigkill", "crash_sigkill", true},   {"copper-v1/multislab", "multislab", true},
};

std::string FixtureDir(const Fixture& f) { return std::string(SLABLOG_SOURCE_DIR) + "/tests/fixtures/" + f.dir; }
std::string FixtureBase(const Fixture& f) { return FixtureDir(f) + "/" + f.name + ".copper"; }

json Expected(const Fixture& f) {
  std::ifstream in(FixtureDir(f) + "/expected.json");
  return json::parse(in);
}

const copper::CopperType& Triple() {
  static const copper::CopperType type = copper::CopperType::Parse("(u32,u32,u32)").value();
  return type;
}

// The payload rules of the fixtures' READMEs.
json CopperListRule(uint64_t j) {
  return json::array({j, (j * 1000) & 0xFFFFFFFFu, 0xDEAD0000u | (j & 0xFFFF)});
}
json LogLineRule(uint64_t i, bool with_level) {
  static const char* kLevels[] = {"Debug", "Info", "Warning", "Error", "Critical"};
  json e;
  e["time_ns"] = 1000000000ull + i * 1000000ull;
  if (with_level) {
    e["level"] = i % 5;
    e["level_name"] = kLevels[i % 5];
  }
  e["msg_index"] = 1 + i % 4;
  e["paramname_indexes"] = json::array();
  e["params"] = json::array();
  switch (i % 4) {
    case 1:
      e["paramname_indexes"] = {10};
      e["params"].push_back({{"type", "U32"}, {"disc", 3}, {"value", i}});
      break;
    case 2:
      e["paramname_indexes"] = {11, 12};
      e["params"].push_back({{"type", "String"}, {"disc", 12}, {"value", "item" + std::to_string(i)}});
      e["params"].push_back({{"type", "F64"}, {"disc", 10}, {"value", static_cast<double>(i) * 0.5}});
      break;
    case 3:
      e["paramname_indexes"] = {13};
      e["params"].push_back({{"type", "I64"}, {"disc", 8}, {"value", -static_cast<int64_t>(i)}});
      break;
  }
  return e;
}

struct SectionSeen {
  uint32_t slab = 0;
  uint64_t offset = 0;
  copper::Section section;  // its spans point into a map gone with the reader: see `data`
  std::string data;
  std::vector<json> entries;
};

struct WalkResult {
  std::vector<SectionSeen> sections;
  std::vector<json> log_lines, copperlists;            // parsed (Walk's `parse`)
  std::vector<std::string> log_text, copperlist_text;  // as the reader rendered them
  bool indexes_in_order = true;
  std::vector<int64_t> log_times;
  copper::Summary summary;
  CollectingReporter reporter;
  bool opened = false;
};

WalkResult Walk(const std::string& path, const copper::CopperType* type, bool parse = true) {
  WalkResult w;
  copper::ReadOptions ro;
  ro.json = true;
  ro.copperlist_type = type;
  auto reader = copper::Reader::Open(path, ro, &w.reporter);
  if (!reader) return w;
  w.opened = true;
  copper::Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind == copper::ItemKind::kSection) {
      const auto d = item.section->data;
      w.sections.push_back({item.slab->index, item.section->offset, *item.section,
                            std::string(reinterpret_cast<const char*>(d.data()), d.size()), {}});
    } else if (item.kind == copper::ItemKind::kEntry) {
      const bool line = item.entry.type == copper::EntryType::kLogLine;
      auto& texts = line ? w.log_text : w.copperlist_text;
      w.indexes_in_order = w.indexes_in_order && item.entry.index == texts.size();
      texts.emplace_back(item.entry.json);
      if (line) w.log_times.push_back(item.entry.time.value_or(-1));
      if (!parse) continue;
      json e = json::parse(item.entry.json);
      w.sections.back().entries.push_back(e);
      (line ? w.log_lines : w.copperlists).push_back(e);
    }
  }
  w.summary = reader.value()->summary();
  return w;
}

}  // namespace

TEST_CASE("CopperFixturesAreToldApartFromSlablogLogsByAnyOfTheirNames") {
  for (const Fixture& f : kFixtures) {
    CAPTURE(f.dir);
    CHECK(DetectLogFormat(FixtureBase(f)) == LogFormat::kCopper);
    const json expected = Expected(f);  // kept: a range-for over a temporary's member outlives it
    for (const json& slab : expected["slabs"]) {
      CHECK(DetectLogFormat(FixtureDir(f) + "/" + slab["file"].get<std::string>()) == LogFormat::kCopper);
    }
  }
  TempDir dir;
  WriteLog(dir.path("own.slog"), SmallOptions(), {{"a", "x"}});
  CHECK(DetectLogFormat(dir.path("own.slog")) == LogFormat::kSlablog);
  CHECK(DetectLogFormat(dir.path("missing.copper")) == LogFormat::kSlablog);
}

TEST_CASE("CopperFixturesMatchTheirExpectedJsonSectionBySectionAndEntryByEntry") {
  for (const Fixture& f : kFixtures) {
    CAPTURE(f.dir);
    const json expected = Expected(f);
    const WalkResult w = Walk(FixtureBase(f), &Triple());
    REQUIRE(w.opened);
    CHECK(w.indexes_in_order);
    CHECK_MESSAGE(w.reporter.events.empty(), w.reporter.Describe());
    CHECK(w.summary.layout == (f.v1 ? copper::Layout::kV1 : copper::Layout::kOriginal));
    CHECK(w.summary.slabs == expected["slabs"].size());
    CHECK(w.summary.page_size == expected["main_header"]["page_size"].get<uint32_t>());
    CHECK(w.summary.first_section_offset == expected["main_header"]["first_section_offset"].get<uint32_t>());
    const json& sections = expected["sections"];
    REQUIRE(w.sections.size() == sections.size());
    for (size_t i = 0; i < sections.size(); ++i) {
      const json& e = sections[i];
      const SectionSeen& got = w.sections[i];
      const copper::Section& s = got.section;
      CAPTURE(i);
      CHECK(got.slab == e["slab"].get<uint32_t>());
      CHECK(got.offset == e["offset"].get<uint64_t>());
      CHECK(copper::EntryTypeName(s.type) == e["entry_type"].get<std::string>());
      CHECK(s.type_id == e["entry_type_id"].get<uint32_t>());
      CHECK(s.header_bytes == e["header_encoded_len"].get<uint32_t>());
      CHECK(s.size == e[f.v1 ? "offset_to_next_section" : "section_size"].get<uint64_t>());
      CHECK(s.used == e[f.v1 ? "used" : "filled_size"].get<uint64_t>());
      if (f.v1) CHECK(s.open_flag == e["is_open"].get<bool>());
      if (!e["data_offset"].is_null() && s.type != copper::EntryType::kLastEntry) {
        CHECK(s.data_offset == e["data_offset"].get<uint64_t>());
      }
      if (s.type == copper::EntryType::kLastEntry) continue;
      const bool open = f.v1 ? e["is_open"].get<bool>() : e["open_at_crash"].get<bool>();
      CHECK((s.state == copper::SectionState::kOpen) == open);
      CHECK(s.entries == e["entry_count"].get<uint64_t>());
      REQUIRE(got.entries.size() == e["entry_count"].get<size_t>());
      CHECK(s.first_index == e["first_entry_index"].get<uint64_t>());
      if (e.contains("recovered_payload_bytes")) CHECK(s.data.size() == e["recovered_payload_bytes"].get<uint64_t>());
      if (!open) CHECK(s.data.size() == s.used);
      if (!got.entries.empty()) {
        CHECK(got.entries.front() == e["first_entry"]);
        CHECK(got.entries.back() == e["last_entry"]);
      }
    }
    // Every entry written, each as the payload rule says; the small fixtures list them all.
    const uint64_t lines = expected["writer"]["log_lines_logged"], lists = expected["writer"]["copperlists_logged"];
    REQUIRE(w.log_lines.size() == lines);
    REQUIRE(w.copperlists.size() == lists);
    for (uint64_t i = 0; i < lines; ++i) {
      CHECK(w.log_lines[i] == LogLineRule(i, f.v1));
      CHECK(w.log_times[i] == static_cast<int64_t>(1000000000ull + i * 1000000ull));
    }
    for (uint64_t j = 0; j < lists; ++j) CHECK(w.copperlists[j] == CopperListRule(j));
    if (expected.contains("structured_log_lines")) CHECK(json(w.log_lines) == expected["structured_log_lines"]);
    if (expected.contains("copperlists")) CHECK(json(w.copperlists) == expected["copperlists"]);
    // Clean or crashed, as the walk's end in expected.json says.
    const std::string end = expected["walk_end"];
    const bool clean = end.find("final") != std::string::npos || (!f.v1 && end.rfind("LastEntry", 0) == 0);
    CHECK(w.summary.clean == clean);
  }
}

TEST_CASE("CopperLogLinesAreSplitWithoutATypeAndCopperlistsAreWholeSections") {
  for (const Fixture& f : kFixtures) {
    CAPTURE(f.dir);
    const json expected = Expected(f);
    const WalkResult w = Walk(FixtureBase(f), nullptr);
    CHECK(w.log_lines.size() == expected["writer"]["log_lines_logged"].get<size_t>());
    CHECK(w.copperlists.empty());
    // The sections' bytes, joined, are the entries' encodings, joined: Triple() splits them back.
    std::string joined;
    bool open_seen = false;
    for (const SectionSeen& s : w.sections) {
      if (s.section.type != copper::EntryType::kCopperList) continue;
      CHECK(!s.section.split);
      joined += s.data;
      open_seen = open_seen || s.section.state == copper::SectionState::kOpen;
      CHECK(s.section.trailing_zeros_possible == (s.section.state == copper::SectionState::kOpen));
    }
    std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(joined.data()), joined.size());
    uint64_t j = 0;
    while (!rest.empty()) {
      std::string text;
      auto n = Triple().Decode(rest, &text, nullptr);
      REQUIRE(n.has_value());
      CHECK(json::parse(text) == CopperListRule(j++));
      rest = rest.subspan(*n);
    }
    CHECK(j == expected["writer"]["copperlists_logged"].get<uint64_t>());
  }
}

TEST_CASE("CopperFixturesConvertIntoSlablogLogsWithEveryEntry") {
  for (const Fixture& f : kFixtures) {
    CAPTURE(f.dir);
    const json expected = Expected(f);
    const uint64_t lines = expected["writer"]["log_lines_logged"], lists = expected["writer"]["copperlists_logged"];
    for (const copper::CopperType* type : {&Triple(), static_cast<const copper::CopperType*>(nullptr)}) {
      TempDir dir;
      auto done = copper::ConvertToSlablog(FixtureBase(f), dir.path("out.slog"), SmallOptions(), type, nullptr);
      REQUIRE_MESSAGE(done.has_value(), (done ? "" : Describe(done.error())));
      CHECK(done->problems == 0);
      CHECK(done->log_lines == lines);
      const ReadResult r = ReadAll(dir.path("out.slog"));
      CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
      CHECK(r.summary.clean);
      const auto log = r.OfStream("log");
      REQUIRE(log.size() == lines);
      for (uint64_t i = 0; i < lines; ++i) {
        CHECK(json::parse(log[i].payload) == LogLineRule(i, f.v1));
        CHECK(log[i].timestamp == static_cast<int64_t>(1000000000ull + i * 1000000ull));
      }
      const auto cls = r.OfStream("copperlist");
      std::string joined;
      for (const auto& c : cls) joined += c.payload;
      if (type != nullptr) {
        CHECK(done->copperlists == lists);
        REQUIRE(cls.size() == lists);
      } else {
        CHECK(done->copperlists == 0);
        CHECK(cls.size() == done->copperlist_sections);
      }
      std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(joined.data()), joined.size());
      uint64_t j = 0;
      for (; !rest.empty(); ++j) {
        std::string text;
        auto n = Triple().Decode(rest, &text, nullptr);
        REQUIRE(n.has_value());
        CHECK(json::parse(text) == CopperListRule(j));
        if (type != nullptr) CHECK(*n == cls[j].payload.size());
        rest = rest.subspan(*n);
      }
      CHECK(j == lists);
    }
  }
}

TEST_CASE("CopperTypesDecodeWhatBincodeEncodes") {
  auto decode = [](const char* type, std::vector<uint8_t> bytes) -> std::optional<json> {
    auto t = copper::CopperType::Parse(type);
    REQUIRE_MESSAGE(t.has_value(), (t ? "" : t.error().message));
    std::string text;
    std::optional<int64_t> time;
    auto n = t->Decode(bytes, &text, &time);
    if (!n || *n != bytes.size()) return std::nullopt;
    json j = json::parse(text);
    if (time) j = json{{"value", j}, {"time", *time}};
    return j;
  };
  CHECK(decode("(u32,u32,u32)", {0, 0, 0xfc, 0, 0, 0xad, 0xde}) == json::array({0, 0, 3735879680u}));
  CHECK(decode("u16", {0xfb, 0x34, 0x12}) == json(0x1234));
  CHECK(decode("u16", {0xfc, 0, 0, 1, 0}) == std::nullopt);  // larger than a u16
  CHECK(decode("i32", {3}) == json(-2));                      // zigzag
  CHECK(decode("i8", {0xff}) == json(-1));                    // raw byte
  CHECK(decode("u64", {0xfd, 1, 0, 0, 0, 0, 0, 0, 0}) == json(1));
  CHECK(decode("f32", {0, 0, 0xc0, 0x3f}) == json(1.5));
  CHECK(decode("f64", {0, 0, 0, 0, 0, 0, 0xf8, 0x7f}) == json("NaN"));
  CHECK(decode("bool", {2}) == std::nullopt);
  CHECK(decode("{x: bool, name: String}", {1, 2, 'h', 'i'}) == json{{"x", true}, {"name", "hi"}});
  CHECK(decode("Pose{x: f32}", {0, 0, 0x80, 0x3f}) == json{{"x", 1.0}});
  CHECK(decode("Vec<Option<i16>>", {3, 0, 1, 4, 1, 5}) == json::array({nullptr, 2, -3}));
  CHECK(decode("[u8; 3]", {7, 8, 9}) == json::array({7, 8, 9}));
  CHECK(decode("bytes", {3, 'a', 'b', 'c'}) == json("YWJj"));
  CHECK(decode("char", {0xe2, 0x82, 0xac}) == json("\xe2\x82\xac"));
  CHECK(decode("char", {0xed, 0xa0, 0x80}) == std::nullopt);  // a surrogate is no char
  CHECK(decode("enum{Idle, Moving{speed: f32}, At(u8, u8)}", {0}) == json("Idle"));
  CHECK(decode("enum{Idle, Moving{speed: f32}, At(u8, u8)}", {2, 1, 2}) == json{{"At", {1, 2}}});
  CHECK(decode("enum{Idle}", {1}) == std::nullopt);
  CHECK(decode("{t: cutime, v: u8}", {0xfc, 0x00, 0xca, 0x9a, 0x3b, 7}) ==
        json{{"value", {{"t", 1000000000}, {"v", 7}}}, {"time", 1000000000}});
  CHECK(decode("(u8, ())", {7}) == json::array({7, nullptr}));
  // Work in proportion to the bytes: 16M empty values for one byte fail the entry, not take hours.
  CHECK(decode("(u8, [(); 16000000])", {7}) == std::nullopt);
  CHECK(decode("(u8, [(); 100])", {7})->at(1).size() == 100);
  // As strict as bincode: a tag wider than the integer, a String that is not UTF-8.
  CHECK(decode("u16", {0xfc, 5, 0, 0, 0}) == std::nullopt);
  CHECK(decode("u32", {0xfd, 5, 0, 0, 0, 0, 0, 0, 0}) == std::nullopt);
  CHECK(decode("i16", {0xfc, 5, 0, 0, 0}) == std::nullopt);
  CHECK(decode("String", {2, 0xc3, 0xa9}) == json("\xc3\xa9"));
  CHECK(decode("String", {3, 0xed, 0xa0, 0x80}) == std::nullopt);     // a surrogate
  CHECK(decode("String", {4, 0xf4, 0x90, 0x80, 0x80}) == std::nullopt);  // above U+10FFFF
  CHECK(decode("String", {3, 0xe0, 0x80, 0xaf}) == std::nullopt);     // overlong
  CHECK(decode("Vec<()>", {0xfd, 0, 0, 0, 0, 0, 0, 0, 1}) == std::nullopt);  // 2^56 empty values: refused
  CHECK(decode("Vec<u32>", {0xfd, 0, 0, 0, 0, 0, 0, 0, 1}) == std::nullopt);  // longer than the bytes
  // Types that take no bytes could not be split (each entry would be empty), and arrays of values
  // that take none could take hours per entry.
  for (const char* bad : {"()", "unit", "{}", "[u8; 0]", "[(); 99999999]", "([[(); 999999999]; 999999999], u32)",
                          "", "u33", "(u32", "{x u32}", "[u8; ]", "Vec<u8", "enum{}", "(u32) x",
                          "((((((((((((((((((((((((((((((((((((((((((((((((((u8))))))))))))))))))))))))))))))))))))))))))))))))))"}) {
    CAPTURE(bad);
    auto t = copper::CopperType::Parse(bad);
    CHECK(!t.has_value());
    if (!t) CHECK(t.error().message.find("at character") != std::string::npos);
  }
}

// Each fixture cut at many lengths (the files joined in slab order, cut, and split back: what a
// copy or a disk that stopped part-way leaves), and with bits flipped: every read ends, reports
// with offsets inside the files, never returns an entry the rule does not give at its index, and
// recovers no more as the cut moves earlier.
TEST_CASE("CopperFixturesCutAtManyLengthsAndWithFlippedBitsNeverCrashLieOrGrow") {
  std::mt19937_64 rng(TestSeed());
  uint64_t cuts = 0, flips = 0, flip_reports = 0;
  for (const Fixture& f : kFixtures) {
    CAPTURE(f.dir);
    const json expected = Expected(f);
    std::vector<std::pair<std::string, std::string>> slabs;  // name, bytes
    uint64_t total = 0;
    for (const json& s : expected["slabs"]) {
      slabs.emplace_back(s["file"], ReadFile(FixtureDir(f) + "/" + s["file"].get<std::string>()));
      total += slabs.back().second.size();
    }
    TempDir dir;
    const std::string base = dir.path(std::string(f.name) + ".copper");
    auto write_prefix = [&](uint64_t length) {
      for (const auto& entry : std::filesystem::directory_iterator(dir.dir())) std::filesystem::remove(entry.path());
      uint64_t left = length;
      for (const auto& [name, bytes] : slabs) {
        if (left == 0) break;
        const uint64_t n = std::min<uint64_t>(left, bytes.size());
        WriteFile(dir.path(name), bytes.substr(0, n));
        left -= n;
      }
    };
    // Cuts from the whole log down to nothing, more of them near the start of each section.
    std::vector<uint64_t> lengths;
    const uint64_t step = std::max<uint64_t>(1, total / (LongMode() ? total : 150 * TestScale()));
    for (uint64_t n = total; n > step; n -= step) lengths.push_back(n - rng() % step);
    for (uint64_t n = 0; n < 64 && n < total; ++n) lengths.push_back(n);
    std::sort(lengths.rbegin(), lengths.rend());
    uint64_t prev_lines = UINT64_MAX, prev_lists = UINT64_MAX;
    // The whole log's entries as rendered, each checked against the payload rule here (and in
    // the test above): a cut log must give a prefix of them, the same text.
    const WalkResult whole = Walk(FixtureBase(f), &Triple());
    const std::vector<std::string>& line_rule = whole.log_text;
    const std::vector<std::string>& list_rule = whole.copperlist_text;
    REQUIRE(line_rule.size() == expected["writer"]["log_lines_logged"].get<size_t>());
    REQUIRE(list_rule.size() == expected["writer"]["copperlists_logged"].get<size_t>());
    for (size_t i = 0; i < line_rule.size(); ++i) REQUIRE(json::parse(line_rule[i]) == LogLineRule(i, f.v1));
    for (size_t j = 0; j < list_rule.size(); ++j) REQUIRE(json::parse(list_rule[j]) == CopperListRule(j));
    for (uint64_t length : lengths) {
      CAPTURE(length);
      write_prefix(length);
      ++cuts;
      const WalkResult w = Walk(base, &Triple(), /*parse=*/false);
      if (!w.opened) continue;  // no file at all
      REQUIRE(w.indexes_in_order);
      REQUIRE(w.log_text.size() <= line_rule.size());
      REQUIRE(w.copperlist_text.size() <= list_rule.size());
      // Compared without an assertion per entry (millions of them in all).
      REQUIRE(std::equal(w.log_text.begin(), w.log_text.end(), line_rule.begin()));
      REQUIRE(std::equal(w.copperlist_text.begin(), w.copperlist_text.end(), list_rule.begin()));
      CHECK(w.log_text.size() <= prev_lines);
      CHECK(w.copperlist_text.size() <= prev_lists);
      prev_lines = w.log_text.size();
      prev_lists = w.copperlist_text.size();
      for (const Corruption& c : w.reporter.events) CHECK(c.offset <= std::filesystem::file_size(c.file));
      // A cut log is never passed as whole: not clean, or a problem says where it was cut.
      if (length < total) CHECK((!w.summary.clean || !w.reporter.events.empty()));
    }
    // Bit flips: no checksum can catch a flipped value; what must hold is that reading ends with
    // every problem placed in its file and never more entries than bytes.
    write_prefix(total);
    const uint64_t trials = LongMode() ? 2000 : 120 * TestScale();
    for (uint64_t t = 0; t < trials; ++t) {
      const auto& [name, bytes] = slabs[rng() % slabs.size()];
      if (bytes.empty()) continue;
      const uint64_t at = rng() % bytes.size();
      const int bit = static_cast<int>(rng() % 8);
      FlipBit(dir.path(name), at, bit);
      const WalkResult w = Walk(base, &Triple(), /*parse=*/false);
      REQUIRE(w.opened);
      ++flips;
      flip_reports += w.reporter.events.size();
      CHECK(w.indexes_in_order);
      CHECK(w.log_text.size() + w.copperlist_text.size() <= total);
      for (const Corruption& c : w.reporter.events) CHECK(c.offset <= std::filesystem::file_size(c.file));
      FlipBit(dir.path(name), at, bit);  // back
    }
  }
  MESSAGE(cuts << " cut logs and " << flips << " flipped bits read; the flips gave " << flip_reports << " reports");
  CHECK(cuts > 1000);
}

}  // namespace slablog::test

namespace slablog::test {
namespace {

// A copy of fixture `f`'s slab files in `dir` under base name "x.copper", with `edit` applied
// to the bytes of each (slab index, bytes).
std::string CopyFixture(const Fixture& f, const TempDir& dir, const std::function<void(uint32_t, std::string*)>& edit) {
  const json expected = Expected(f);
  uint32_t i = 0;
  for (const json& s : expected["slabs"]) {
    std::string bytes = ReadFile(FixtureDir(f) + "/" + s["file"].get<std::string>());
    edit(i, &bytes);
    if (!bytes.empty()) WriteFile(dir.path("x_" + std::to_string(i) + ".copper"), bytes);
    ++i;
  }
  return dir.path("x.copper");
}

}  // namespace

TEST_CASE("CopperASectionSizeThatSkipsSectionHeadersIsReportedAndTheSkippedSectionsAreRead") {
  TempDir dir;
  // multislab v1, slab 0: the first section's offset_to_next_section 4096 (fb 00 10) made 28672.
  const std::string log = CopyFixture(kFixtures[7], dir, [](uint32_t slab, std::string* b) {
    if (slab == 0) {
      REQUIRE(static_cast<uint8_t>((*b)[4096 + 8]) == 0x10);
      (*b)[4096 + 8] = 0x70;
    }
  });
  const WalkResult w = Walk(log, &Triple(), false);
  CHECK(w.summary.sections == 75);
  CHECK(w.log_text.size() == 5000);
  CHECK(w.copperlist_text.size() == 20000);
  REQUIRE(w.reporter.events.size() == 1);
  CHECK(w.reporter.events[0].kind == CorruptionKind::kBadSection);
  CHECK(w.reporter.events[0].offset == 4096);
}

TEST_CASE("CopperLogsOfTheLayoutsBetweenTheFixturesAreReadNotMisread") {
  SUBCASE("2025-06..10: FrozenTasks = 3 and LastEntry = 4 in the original header") {
    TempDir dir;
    // The original clean log with its copperlist section made a keyframes one (type 3) and its end
    // marker a LastEntry of that layout (type 4).
    const std::string log = CopyFixture(kFixtures[0], dir, [](uint32_t, std::string* b) {
      REQUIRE(static_cast<uint8_t>((*b)[12288 + 2]) == 2);
      (*b)[12288 + 2] = 3;
      REQUIRE(static_cast<uint8_t>((*b)[20480 + 2]) == 3);
      (*b)[20480 + 2] = 4;
    });
    const WalkResult w = Walk(log, &Triple(), false);
    CHECK(w.summary.layout == copper::Layout::kKeyframes);
    CHECK(w.summary.clean);
    CHECK(w.log_text.size() == 5);
    CHECK(w.summary.keyframes.sections == 1);
    CHECK(w.summary.keyframes.bytes == 88);
    CHECK_MESSAGE(w.reporter.events.empty(), w.reporter.Describe());
  }
  SUBCASE("2025-10..11: block_size without is_open, crashed") {
    TempDir dir;
    // crash_abort (v1) as that layout leaves it: no is_open byte (the zero padding reads as
    // closed), and no temporary end marker.
    const std::string log = CopyFixture(kFixtures[5], dir, [](uint32_t, std::string* b) {
      (*b)[4096 + 10] = 0;
      (*b)[12288 + 10] = 0;
      std::fill(b->begin() + 20480, b->begin() + 20480 + 11, '\0');
    });
    const WalkResult w = Walk(log, &Triple(), false);
    CHECK(!w.summary.clean);
    CHECK(w.log_text.size() == 3);
    CHECK(w.copperlist_text.size() == 6);
  }
  SUBCASE("a log whose slab 0 is lost is still a Copper log, read from its next slab") {
    TempDir dir;
    const std::string log = CopyFixture(kFixtures[6], dir, [](uint32_t slab, std::string* b) {
      if (slab == 0) b->clear();
    });
    CHECK(DetectLogFormat(log) == LogFormat::kCopper);
    CHECK(DetectLogFormat(dir.path("x_1.copper")) == LogFormat::kCopper);
    const WalkResult w = Walk(log, &Triple(), false);
    CHECK(w.copperlist_text.size() == 546);
    REQUIRE(!w.reporter.events.empty());
    CHECK(w.reporter.events[0].kind == CorruptionKind::kBadFileHeader);
  }
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("CopperAUsedSizePastItsSectionCostsThatSectionAndMakesNoEntries") {
  TempDir dir;
  // v1 clean: the copperlist section (at 12288, 8192 bytes) made to claim 9000 used bytes.
  std::string b = ReadFile(FixtureBase(kFixtures[4]).replace(FixtureBase(kFixtures[4]).size() - 7, 7, "_0.copper"));
  const std::string header = "\xfa\x57\xfb\x00\x02\x02\xfb\x00\x20\xfb\x28\x23\x00";  // used 9000
  REQUIRE(b.substr(12288, 2) == "\xfa\x57");
  b.replace(12288, 11, header);  // 2 bytes longer: the data starts at block_size all the same
  WriteFile(dir.path("x_0.copper"), b);
  const WalkResult w = Walk(dir.path("x.copper"), &Triple(), false);
  CHECK(w.log_text.size() == 5);
  CHECK(w.copperlist_text.empty());
  REQUIRE(w.reporter.events.size() == 1);
  CHECK(w.reporter.events[0].kind == CorruptionKind::kBadSection);
  CHECK(w.reporter.events[0].offset == 12288);
}

TEST_CASE("CopperLogLinesWithALevelByteInTheOriginalLayoutAreToldFromASectionThatDecidesIt") {
  // Original layout, log lines with the level byte (2025-05..06). The first section's only line
  // (Debug, msg 1, no parameters) decodes both with and without the level byte, differently; the
  // second's (Error, msg 4, [13] -> I64 -3) only with it.
  std::string log("\xb4\xa5\x50\xff\xfb\x00\x10\xfb\x00\x10", 10);
  log.resize(4096, '\0');
  log += std::string("\xfa\x57\x01\xfb\x00\x10\x09", 7);
  log.resize(4096 + 15, '\0');
  log += std::string("\xfc\x00\xca\x9a\x3b\x00\x01\x00\x00", 9);
  log.resize(8192, '\0');
  log += std::string("\xfa\x57\x01\xfb\x00\x10\x0c", 7);
  log.resize(8192 + 15, '\0');
  log += std::string("\xfc\xc0\x90\xc8\x3b\x03\x04\x01\x0d\x01\x08\x05", 12);
  log.resize(12288, '\0');
  log += std::string("\xfa\x57\x03\xfb\x00\x10\x00", 7);
  log.resize(12288 + 80, '\0');
  TempDir dir;
  for (size_t cut : {log.size(), size_t{8192 + 15 + 12}, size_t{8192 + 15 + 8}}) {
    CAPTURE(cut);
    WriteFile(dir.path("x_0.copper"), log.substr(0, cut));
    const WalkResult w = Walk(dir.path("x.copper"), nullptr);
    CHECK(w.summary.log_line_level);
    REQUIRE(!w.log_lines.empty());
    CHECK(w.log_lines[0] == LogLineRule(0, true));
    if (cut >= 8192 + 15 + 12) {
      REQUIRE(w.log_lines.size() == 2);
      CHECK(w.log_lines[1] == LogLineRule(3, true));
    }
  }
}

}  // namespace slablog::test

namespace slablog::test {
namespace {

// Every log line is one of the fixtures' rule, for the index its time gives: none was made of
// zeros, or spliced from a torn line and zeros.
void CheckLinesFollowTheRule(const WalkResult& w, bool with_level) {
  for (const json& line : w.log_lines) {
    const uint64_t t = line["time_ns"].get<uint64_t>();
    REQUIRE(t >= 1000000000u);
    CHECK(line == LogLineRule((t - 1000000000u) / 1000000u, with_level));
  }
}

std::optional<Corruption> FirstOfKind(const WalkResult& w, CorruptionKind kind) {
  for (const auto& e : w.reporter.events) {
    if (e.kind == kind) return e;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("CopperAnAllZeroSectorInsideASectionsDataIsAHoleNotEntriesOfZeros") {
  // A power cut loses sectors written since the last flush; a Copper slab is preallocated, so they
  // read back as zeros, and a log line of zeros decodes (time 0). Each case zeroes one sector.
  struct Case {
    const char* what;
    int fixture;
    uint32_t slab;
    uint64_t sector;      // file offset of the zeroed 512 bytes
    uint64_t data_begin;  // the section's data
    size_t lines, copperlists;  // what the intact log has
    size_t in_section;          // entries of the section: what the hole may cost at most
  };
  const Case cases[] = {
      {"log lines of a closed section (v1)", 7, 0, 5120, 4608, 5000, 20000, 230},
      {"log lines of a section open at the crash (v1)", 6, 0, 6144, 4608, 300, 1500, 300},
      {"log lines of a section open at the crash (original layout)", 2, 0, 5120, 4111, 300, 1500, 300},
      {"copperlists of a closed section (v1)", 6, 0, 13312, 12800, 300, 1500, 954},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    TempDir dir;
    const std::string log = CopyFixture(kFixtures[c.fixture], dir, [&](uint32_t slab, std::string* b) {
      if (slab == c.slab) b->replace(c.sector, 512, 512, '\0');
    });
    const WalkResult w = Walk(log, &Triple());
    CheckLinesFollowTheRule(w, kFixtures[c.fixture].v1);
    for (const json& cl : w.copperlists) CHECK(cl == CopperListRule(cl[0].get<uint64_t>()));
    CHECK(w.log_lines.size() + w.copperlists.size() < c.lines + c.copperlists);
    CHECK(w.log_lines.size() + w.copperlists.size() + c.in_section > c.lines + c.copperlists);
    const auto hole = FirstOfKind(w, CorruptionKind::kMissingData);
    REQUIRE_MESSAGE(hole, w.reporter.Describe());
    CHECK(hole->slab == c.slab);
    CHECK(hole->offset >= c.data_begin);
    CHECK(hole->offset <= c.sector);
    CHECK(hole->detail.find("all-zero") != std::string::npos);
  }
}

TEST_CASE("CopperZerosThatOnlyEndTheLastEntryOrLieInsideOneAreNoHole") {
  // v1 clean, its copperlist section made to hold three (u32, [u8; 1193], u32) entries: the first
  // holds a whole sector of zeros, and the last ends the data with a zero alone in its sector.
  TempDir dir;
  const std::string base = FixtureBase(kFixtures[4]);
  std::string b = ReadFile(base.substr(0, base.size() - 7) + "_0.copper");
  const uint64_t data = 12288 + 512;
  std::string entries;
  for (char fill : {'\0', '\x01', '\x02'}) {
    entries += static_cast<char>(7 + fill);
    entries.append(1193, fill);
    entries += fill == '\x02' ? '\0' : '\x09';
  }
  REQUIRE((data + entries.size() - 1) % 512 == 0);  // the last byte starts a sector
  REQUIRE(data + entries.size() < 12288 + 8192);
  std::fill(b.begin() + data, b.begin() + 12288 + 8192, '\0');
  b.replace(data, entries.size(), entries);
  // The header with used = 3585 (fb 01 0e), two bytes longer, over its zero padding.
  REQUIRE(b.substr(12288, 13) == std::string("\xfa\x57\xfb\x00\x02\x02\xfb\x00\x20\x58\x00\x00\x00", 13));
  b.replace(12288, 13, std::string("\xfa\x57\xfb\x00\x02\x02\xfb\x00\x20\xfb\x01\x0e\x00", 13));
  WriteFile(dir.path("x_0.copper"), b);
  const auto type = copper::CopperType::Parse("(u32, [u8; 1193], u32)").value();
  const WalkResult w = Walk(dir.path("x.copper"), &type);
  CHECK_MESSAGE(w.reporter.events.empty(), w.reporter.Describe());
  REQUIRE(w.copperlists.size() == 3);
  CHECK(w.copperlists[0][0] == 7);
  CHECK(w.copperlists[2][0] == 9);
  CHECK(w.copperlists[2][2] == 0);
  CHECK(w.log_lines.size() == 5);
  // Kept, but marked: those zeros may be a lost sector's.
  copper::ReadOptions ro;
  ro.copperlist_type = &type;
  auto reader = copper::Reader::Open(dir.path("x.copper"), ro, nullptr);
  REQUIRE(reader);
  copper::Item item;
  std::vector<bool> marked;
  while (reader.value()->Next(&item)) {
    if (item.kind == copper::ItemKind::kEntry && item.entry.type == copper::EntryType::kCopperList) {
      marked.push_back(item.entry.zero_sector_possible);
    }
  }
  CHECK(marked == std::vector<bool>{true, false, true});
}

TEST_CASE("CopperASectionSizeThatLandsOnZerosBeforeMoreSectionsIsReportedAndNothingIsSkipped") {
  // multislab (original layout), slab 0: the log section's size 4096 made 10240, which lands in
  // the zero tail of the copperlist section after it.
  TempDir dir;
  const std::string log = CopyFixture(kFixtures[3], dir, [](uint32_t slab, std::string* b) {
    if (slab != 0) return;
    REQUIRE(b->substr(4099, 3) == std::string("\xfb\x00\x10", 3));
    (*b)[4101] = 0x28;
  });
  const WalkResult w = Walk(log, &Triple(), false);
  CHECK(w.copperlist_text.size() == 20000);
  CHECK(w.log_text.size() == 5000);
  REQUIRE(!w.reporter.events.empty());
  CHECK(w.reporter.events[0].kind == CorruptionKind::kBadSection);
  CHECK(w.reporter.events[0].offset == 4096);
}

TEST_CASE("CopperTheLastEntryOfAnOpenSectionThatEndsInZerosIsMarkedAsPossiblyTorn") {
  // crash_sigkill (v1): the open log section's last line (i 299: ... 08 fb 55 02, an I64 -299)
  // torn after its parameter's tag, as a crash leaves it: it decodes with the zeros after it.
  TempDir dir;
  const std::string log = CopyFixture(kFixtures[6], dir, [](uint32_t slab, std::string* b) {
    if (slab != 0) return;
    REQUIRE(b->substr(9339, 4) == "\x08\xfb\x55\x02");
    std::fill(b->begin() + 9340, b->begin() + 9343, '\0');
  });
  copper::ReadOptions ro;
  ro.copperlist_type = &Triple();
  ro.json = true;
  auto reader = copper::Reader::Open(log, ro, nullptr);
  REQUIRE(reader);
  copper::Item item;
  std::vector<uint64_t> marked;
  uint64_t lines = 0;
  while (reader.value()->Next(&item)) {
    if (item.kind != copper::ItemKind::kEntry) continue;
    if (item.entry.trailing_zeros_possible) marked.push_back(item.entry.index);
    if (item.entry.type == copper::EntryType::kLogLine) ++lines;
  }
  CHECK(lines == 300);
  // The torn line, and no other: the open copperlist section's last entry ends in a non-zero byte.
  REQUIRE(marked.size() == 1);
  CHECK(marked[0] == 299);
  auto converted = copper::ConvertToSlablog(log, dir.path("out.slog"), WriterOptions{}, &Triple(), nullptr);
  REQUIRE(converted);
  CHECK(converted.value().entries_ending_in_zeros == 1);
}

TEST_CASE("CopperAHeaderInAClosedSectionsResidueIsNotTakenForADamagedSize") {
  // v1 multislab, slab 0: the copperlist section at 8192 (size 8192) made to use ten entries, and a
  // copy of a section header put on the page boundary at 12288 in what is now its residue. The
  // header at its size (16384) is good, so nothing between is looked at.
  TempDir dir;
  const std::string log = CopyFixture(kFixtures[7], dir, [](uint32_t slab, std::string* b) {
    if (slab != 0) return;
    REQUIRE(b->substr(8192 + 9, 3) == "\xfb\x6f\x15");
    size_t used = 0;  // ten entries
    for (int i = 0; i < 10; ++i) {
      used += Triple().Decode(std::span(reinterpret_cast<const uint8_t*>(b->data()) + 8704 + used, 64), nullptr, nullptr).value();
    }
    REQUIRE(used < 251);
    (*b)[8192 + 9] = static_cast<char>(used);
    (*b)[8192 + 10] = 0;
    (*b)[8192 + 11] = 0;  // used (one byte), then is_open 0 and padding
    b->replace(12288, 13, b->substr(16384, 13));
  });
  const WalkResult w = Walk(log, &Triple(), false);
  CHECK_MESSAGE(w.reporter.events.empty(), w.reporter.Describe());
  CHECK(w.summary.sections == 75);
  CHECK(w.log_text.size() == 5000);
}

TEST_CASE("CopperASmallKeyframesSectionAtACrashedLogsEndIsNotTakenForItsEndMarker") {
  // The original clean log's end marker (type 3, trimmed to +80) given data: in the 2025-06..10
  // layout, type 3 is a keyframes section, here open at a crash; only a marker holds no data.
  TempDir dir;
  const std::string log = CopyFixture(kFixtures[0], dir, [](uint32_t, std::string* b) {
    REQUIRE(b->size() == 20480 + 80);
    REQUIRE(static_cast<uint8_t>((*b)[20480 + 2]) == 3);
    b->replace(20480 + 15, 3, "\x01\x02\x03");
  });
  const WalkResult w = Walk(log, &Triple(), false);
  CHECK(w.summary.layout == copper::Layout::kKeyframes);
  CHECK(!w.summary.clean);
  CHECK(w.summary.keyframes.sections == 1);
  CHECK(w.summary.keyframes.open_sections == 1);
  CHECK(w.log_text.size() == 5);
}

TEST_CASE("CopperEntriesWhoseJsonWouldPassTheLimitAreGivenAsBase64AndReported") {
  const std::string base = FixtureBase(kFixtures[4]);
  for (size_t limit : {size_t{0}, size_t{40}}) {
    CAPTURE(limit);
    copper::ReadOptions ro;
    ro.copperlist_type = &Triple();
    ro.json = true;
    ro.max_entry_json = limit;
    CollectingReporter reporter;
    auto reader = copper::Reader::Open(base, ro, &reporter);
    REQUIRE(reader);
    copper::Item item;
    uint64_t entries = 0, placeholders = 0;
    while (reader.value()->Next(&item)) {
      if (item.kind != copper::ItemKind::kEntry) continue;
      ++entries;
      const json j = json::parse(item.entry.json);
      if (!j.contains("too_large_for_json")) {
        CHECK(item.entry.json.size() <= limit);
        continue;
      }
      ++placeholders;
      std::string b64;
      AppendBase64(&b64, item.entry.bytes);
      CHECK(j["base64"] == json::parse(b64));  // (AppendBase64 writes a JSON string)
    }
    CHECK(entries == 15);
    CHECK(placeholders == (limit == 0 ? 15 : 5));  // 40 bytes: the copperlists fit, no log line does
    CHECK(reporter.events.size() == placeholders);
    for (const auto& e : reporter.events) CHECK(e.kind == CorruptionKind::kBadEntry);
  }
  const auto bytes = copper::CopperType::Parse("[u8; 100]").value();
  const std::vector<uint8_t> in(100, 7);
  std::string text;
  CHECK(!bytes.Decode(in, &text, nullptr, 50));
  CHECK(text.empty());
  CHECK(bytes.Decode(in, &text, nullptr) == 100u);
}

TEST_CASE("CopperTypesOfLargeArraysOfBytesAreTakenAndArraysOfNothingStillRefused") {
  CHECK(copper::CopperType::Parse("[u8; 20000000]"));
  CHECK(copper::CopperType::Parse("(cutime, [[f32; 4096]; 4096])"));
  CHECK(!copper::CopperType::Parse("(u8, [[(); 65536]; 65536])"));
  CHECK(!copper::CopperType::Parse("(u8, [(); 20000000])"));
}

TEST_CASE("CopperAKnownLevelByteReadingIsKept") {
  // The log of the level-byte test above, whose lines decode only with the byte: told to read
  // without it (as an earlier read of a growing log decided), the reader does, and says so.
  std::string log("\xb4\xa5\x50\xff\xfb\x00\x10\xfb\x00\x10", 10);
  log.resize(4096, '\0');
  log += std::string("\xfa\x57\x01\xfb\x00\x10\x09", 7);
  log.resize(4096 + 15, '\0');
  log += std::string("\xfc\x00\xca\x9a\x3b\x00\x01\x00\x00", 9);
  log.resize(8192, '\0');
  TempDir dir;
  WriteFile(dir.path("x_0.copper"), log);
  for (bool level : {false, true}) {
    copper::ReadOptions ro;
    ro.json = true;
    ro.log_line_level = level;
    auto reader = copper::Reader::Open(dir.path("x.copper"), ro, nullptr);
    REQUIRE(reader);
    copper::Item item;
    std::vector<json> lines;
    while (reader.value()->Next(&item)) {
      if (item.kind == copper::ItemKind::kEntry) lines.push_back(json::parse(item.entry.json));
    }
    CHECK(reader.value()->summary().log_line_level == level);
    REQUIRE(!lines.empty());
    CHECK(lines[0].contains("level") == level);
  }
}

}  // namespace slablog::test
