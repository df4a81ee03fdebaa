// slablog export --format mcap, read back by the MCAP project's own reader (@mcap/core, run by
// tests/mcap/read_mcap.mjs through node): every channel, message and time must be what NDJSON
// export gives for the same log, read through the indexes and front to back.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <tuple>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A log with json, text and binary streams: times past 2^53, empty records, records of about
// 1 MB (each fills a chunk of its own), and enough small ones for many chunks more.
void WriteMixedLog(const TempDir& dir, const std::string& log) {
  std::mt19937_64 rng(TestSeed());
  std::string ndjson;
  for (int i = 0; i < 30000; ++i) {
    const int64_t t = 1764000000000000000 + int64_t{i} * 1000003 + static_cast<int64_t>(rng() % 1000);
    ndjson += "{\"topic\":\"" + std::string(i % 3 ? "imu" : "odom") + "\",\"t\":" + std::to_string(t) +
              ",\"v\":" + std::to_string(static_cast<int64_t>(rng())) + ",\"big\":123456789012345678901234567890}\n";
  }
  ndjson += "{\"topic\":\"imu\",\"t\":9007199254740993,\"blob\":\"" + std::string(1000000, 'x') + "\"}\n";
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "--section-size", "64K", log}, ndjson,
                     dir.dir()).exit_code == 0);
  std::string text = "first line\n\ncaf\xc3\xa9 \"quoted\" \\ tab\there\n" + std::string(1000000, 'y') + "\nlast\n";
  REQUIRE(RunSlablog({"write", "-a", "--format", "lines", "--stream", "log/text", log}, text, dir.dir()).exit_code == 0);
  std::string raw;
  auto add_raw = [&](const std::string& bytes) {
    const auto n = static_cast<uint32_t>(bytes.size());
    raw.append(reinterpret_cast<const char*>(&n), 4);
    raw += bytes;
  };
  add_raw("");
  for (int i = 0; i < 3; ++i) {
    std::string big(1000000 + static_cast<size_t>(i), '\0');
    for (char& c : big) c = static_cast<char>(rng());
    add_raw(big);
  }
  add_raw(std::string("\x00\xff\x01", 3));
  REQUIRE(RunSlablog({"write", "-a", "--format", "raw", "--stream", "camera", log}, raw, dir.dir()).exit_code == 0);
}

// Fails, rather than skips, when the reader cannot run: CI must not pass without checking.
void RequireMcapReader() {
  const std::string modules = SourceDir() + "/tests/mcap/node_modules/@mcap/core/package.json";
  struct stat st {};
  INFO("tests/mcap_test needs node and the npm packages of tests/mcap/package.json in tests/mcap/node_modules: "
       "run scripts/setup (it runs npm ci there)");
  REQUIRE(RunShell("node --version").exit_code == 0);
  REQUIRE(::stat(modules.c_str(), &st) == 0);
}

struct McapRead {
  json indexed_summary, stream_summary;
  std::vector<json> indexed_channels, stream_channels, indexed_messages, stream_messages;
};

McapRead ReadMcap(const std::string& file) {
  RunResult r = RunShell("node " + SourceDir() + "/tests/mcap/read_mcap.mjs " + file);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  McapRead out;
  for (const std::string& line : Lines(r.out)) {
    json j = json::parse(line);
    const bool indexed = j["reader"] == "indexed";
    if (j["kind"] == "summary") (indexed ? out.indexed_summary : out.stream_summary) = j;
    if (j["kind"] == "channel") (indexed ? out.indexed_channels : out.stream_channels).push_back(j);
    if (j["kind"] == "message") (indexed ? out.indexed_messages : out.stream_messages).push_back(j);
  }
  return out;
}

// A message as @mcap/core read it, in the form of an NDJSON export line.
json AsExportLine(const json& m) {
  json data = m.contains("json_text") ? json::parse(m["json_text"].get<std::string>()) : m["data"];
  CHECK(m["publish_time"] == m["log_time"]);
  return json{{"stream", m["topic"]}, {"t", std::stoll(m["log_time"].get<std::string>())},
              {"seq", m["sequence"]}, {"data", data}};
}

std::vector<json> ExportLines(const std::string& out) {
  std::vector<json> lines;
  for (const std::string& line : Lines(out)) lines.push_back(json::parse(line));
  return lines;
}

// Checks an MCAP file against the NDJSON export of the same records, in file order (streaming)
// and in time order (indexed).
void CheckMcapMatchesExport(const std::string& file, const std::vector<json>& expected, const std::string& compression,
                            size_t min_chunks) {
  McapRead read = ReadMcap(file);
  CHECK(read.stream_summary["done"] == true);
  CHECK(read.indexed_summary["message_count"] == std::to_string(expected.size()));
  CHECK(read.indexed_summary["compression"] == json::array({compression}));
  CHECK(read.indexed_summary["chunks"].get<size_t>() >= min_chunks);
  CHECK(read.indexed_summary["chunk_count"] == read.indexed_summary["chunks"]);
  CHECK(read.indexed_summary["summary_offsets"] == json::array({4, 8, 11}));  // channels, chunk indexes, statistics
  CHECK(read.indexed_summary["message_index_offsets"].get<size_t>() >= read.indexed_summary["chunks"].get<size_t>());

  std::map<std::string, std::string> encodings;  // the encoding each stream's channel must have
  for (const json& e : expected) {
    const std::string name = e["stream"];
    encodings[name] = name == "camera" ? "application/octet-stream" : name == "log/text" ? "text/plain" : "json";
  }
  for (const auto* channels : {&read.indexed_channels, &read.stream_channels}) {
    std::map<std::string, std::string> got;
    for (const json& c : *channels) {
      got[c["topic"]] = c["message_encoding"];
      CHECK(c["schema_id"] == 0);
    }
    CHECK(got == encodings);
  }

  REQUIRE(read.stream_messages.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("message " << i << " read front to back");
    CHECK(AsExportLine(read.stream_messages[i]) == expected[i]);
  }
  // The indexed reader returns messages in time order: compare per stream, and check the order.
  auto key = [](const json& j) { return std::make_tuple(j["stream"].get<std::string>(), j["seq"].get<uint64_t>()); };
  std::map<std::tuple<std::string, uint64_t>, json> by_key;
  for (const json& e : expected) by_key[key(e)] = e;
  REQUIRE(read.indexed_messages.size() == expected.size());
  int64_t last_t = 0;
  for (const json& m : read.indexed_messages) {
    const json line = AsExportLine(m);
    INFO("message " << line["stream"] << " #" << line["seq"] << " read through the indexes");
    CHECK(line == by_key[key(line)]);
    CHECK(line["t"].get<int64_t>() >= last_t);
    last_t = line["t"].get<int64_t>();
  }
}

}  // namespace

TEST_CASE("McapExportMatchesNdjsonExport") {
  RequireMcapReader();
  TempDir dir;
  WriteMixedLog(dir, "m.slog");
  RunResult ndjson = RunSlablog({"export", "m.slog"}, "", dir.dir());
  REQUIRE(ndjson.exit_code == 0);
  const std::vector<json> expected = ExportLines(ndjson.out);
  REQUIRE(expected.size() == 30000 + 1 + 5 + 5);
  // One log for every output (a SUBCASE would write it again for each).
  struct Output {
    const char* command;
    const char* file;
    const char* compression;
  };
  for (const Output& o : {Output{"slablog export --format mcap -o m.mcap m.slog", "m.mcap", "zstd"},
                          Output{"slablog export --format mcap --compression none -o n.mcap m.slog", "n.mcap", ""},
                          Output{"slablog export --format mcap -o - m.slog > s.mcap", "s.mcap", "zstd"}}) {
    RunResult r = RunShell(o.command, dir.dir());
    INFO(o.command << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CheckMcapMatchesExport(dir.path(o.file), expected, o.compression, 6);
  }
}

TEST_CASE("McapExportAppliesTheFilters") {
  RequireMcapReader();
  TempDir dir;
  WriteMixedLog(dir, "f.slog");
  const std::vector<std::vector<std::string>> filters = {
      {"--stream", "imu", "--stream", "cam*"},
      {"--since", "1764000000000000000", "--until", "1764000010000000000"},
      {"-n", "1234"},
      {"--stream", "log/*", "-n", "3"},
  };
  for (const auto& filter : filters) {
    std::vector<std::string> args = {"export"};
    args.insert(args.end(), filter.begin(), filter.end());
    args.push_back("f.slog");
    RunResult ndjson = RunSlablog(args, "", dir.dir());
    REQUIRE(ndjson.exit_code == 0);
    const std::vector<json> expected = ExportLines(ndjson.out);
    REQUIRE(!expected.empty());
    args.insert(args.begin() + 1, {"--format", "mcap", "--force", "-o", "f.mcap"});
    RunResult r = RunSlablog(args, "", dir.dir());
    INFO(ndjson.err << r.err);
    REQUIRE(r.exit_code == 0);
    CheckMcapMatchesExport(dir.path("f.mcap"), expected, "zstd", 1);
  }
}

namespace {

// The names in a directory, hidden ones included (a temporary file left behind would show).
std::set<std::string> DirNames(const TempDir& dir) {
  std::set<std::string> names;
  for (const std::string& name : Lines(RunShell("ls -A", dir.dir()).out)) names.insert(name);
  return names;
}

// Records of about 100 bytes, {"v":N,"pad":"xx..."}: 3,000 of them fill several 64K slabs.
std::string PaddedRecords(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{\"v\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'x') + "\"}\n";
  return out;
}

}  // namespace

TEST_CASE("McapExportRefusesWhatItCannotWrite") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "--time-field", "t", "b.slog"}, "{\"t\":5}\n{\"t\":6}\n", dir.dir()).exit_code == 0);
  struct Refusal {
    std::vector<std::string> args;
    int exit_code;
    const char* message;
  };
  const std::string copper = SourceDir() + "/tests/fixtures/copper/clean/clean.copper";
  WriteFile(dir.path("taken.mcap"), "keep me");
  REQUIRE(RunShell("mkdir adir", dir.dir()).exit_code == 0);
  // Another log's slab, and a link (to a device: the rename would have replaced the link).
  REQUIRE(RunSlablog({"write", "o.slog"}, "{\"t\":1}\n", dir.dir()).exit_code == 0);
  REQUIRE(RunShell("ln -s /dev/null link.mcap", dir.dir()).exit_code == 0);
  const std::vector<Refusal> refusals = {
      {{"export", "--format", "mcap", "b.slog"}, 2, "needs -o FILE"},
      {{"export", "--format", "mcap", "-o", "adir", "b.slog"}, 2, "adir: is a directory"},
      {{"export", "--format", "mcap", "-o", "taken.mcap", "b.slog"}, 2, "taken.mcap: already exists (use --force"},
      {{"export", "--format", "mcap", "-o", "x.mcap", "--sections", "b.slog"}, 2, "are for --format json"},
      {{"export", "--compression", "none", "b.slog"}, 2, "need --format mcap"},
      {{"export", "-o", "x.mcap", "b.slog"}, 2, "need --format mcap"},
      {{"export", "--format", "mcap", "--compression", "lz9", "-o", "x.mcap", "b.slog"}, 2, "lz9"},
      {{"export", "--format", "mcap", "-o", "x.mcap", copper}, 2, "slablog logs only"},
      {{"export", "--format", "mcap", "-o", "nodir/x.mcap", "b.slog"}, 3, "nodir/x.mcap: cannot create"},
      {{"export", "--format", "mcap", "-o", "x.mcap", "missing.slog"}, 3, "missing"},
      {{"export", "--format", "mcap", "--force", "-o", "b_0.slog", "b.slog"}, 2, "b_0.slog: is a file of the log"},
      {{"export", "--format", "mcap", "--time-format", "s", "-o", "x.mcap", "b.slog"}, 2, "MCAP times are nanoseconds"},
      {{"export", "--format", "mcap", "-o", "b.slog", "b.slog"}, 2, "b.slog: is the name of a slablog log"},
      {{"export", "--format", "mcap", "--force", "-o", "o_0.slog", "b.slog"}, 2, "o_0.slog: is a slab file"},
      {{"export", "--format", "mcap", "--force", "-o", "link.mcap", "b.slog"}, 2, "link.mcap: is not a regular file"},
  };
  const std::set<std::string> before = DirNames(dir);
  for (const Refusal& r : refusals) {
    const RunResult got = RunSlablog(r.args, "", dir.dir());
    INFO(r.args[r.args.size() - 2] << " " << got.err);
    CHECK(got.exit_code == r.exit_code);
    CHECK(got.err.find(r.message) != std::string::npos);
    CHECK(got.err.find("slablog export") != std::string::npos);
    CHECK(DirNames(dir) == before);  // nothing written, nothing left behind
  }
  CHECK(ReadFile(dir.path("taken.mcap")) == "keep me");
  CHECK(RunSlablog({"export", "--format", "mcap", "--force", "-o", "taken.mcap", "b.slog"}, "", dir.dir()).exit_code == 0);
  CHECK(ReadFile(dir.path("taken.mcap")).substr(1, 4) == "MCAP");
}

TEST_CASE("McapExportToAFullDiskOrAClosedPipe") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 20000; ++i) input += "{\"t\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'p') + "\"}\n";
  REQUIRE(RunSlablog({"write", "--time-field", "t", "p.slog"}, input, dir.dir()).exit_code == 0);
  SUBCASE("a full disk is an I/O error that names standard output") {
    const RunResult r = RunShell("slablog export --format mcap --compression none -o - p.slog > /dev/full", dir.dir());
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("slablog export: standard output: cannot write: No space left on device") != std::string::npos);
  }
  SUBCASE("a reader that stops early is not an error") {
    const RunResult r = RunShell("slablog export --format mcap --compression none -o - p.slog | head -c 100 | wc -c",
                                 dir.dir());
    CHECK(r.exit_code == 0);
    CHECK(r.out == "100\n");
    CHECK(r.err.empty());
    const RunResult status = RunShell("slablog export --format mcap -o - p.slog | head -c 10 >/dev/null; "
                                      "echo ${PIPESTATUS[0]}", dir.dir());
    CHECK(status.out == "0\n");
  }
  SUBCASE("a time before 1970 is refused and leaves no file") {
    REQUIRE(RunSlablog({"write", "--time-field", "t", "n.slog"}, "{\"t\":-5}\n", dir.dir()).exit_code == 0);
    const RunResult r = RunSlablog({"export", "--format", "mcap", "-o", "n.mcap", "n.slog"}, "", dir.dir());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("before 1970") != std::string::npos);
    CHECK(DirNames(dir).count("n.mcap") == 0);
    for (const std::string& name : DirNames(dir)) CHECK(name.find("partial") == std::string::npos);
  }
}

TEST_CASE("McapOutputNeverReplacesADamagedSlabOfALog") {
  // A slab whose first sector was lost no longer starts as a slab does: its name still says
  // whose it is.
  TempDir dir;
  REQUIRE(RunSlablog({"write", "in.slog"}, PaddedRecords(10), dir.dir()).exit_code == 0);
  REQUIRE(RunSlablog({"write", "--slab-size", "64K", "run.slog"}, PaddedRecords(3000), dir.dir()).exit_code == 0);
  REQUIRE(fs::exists(dir.path("run_1.slog")));
  ZeroBytes(dir.path("run_1.slog"), 0, 8);
  const std::string before = ReadFile(dir.path("run_1.slog"));
  const RunResult e =
      RunSlablog({"export", "--format", "mcap", "-o", "run_1.slog", "--force", "in.slog"}, "", dir.dir());
  CHECK(e.exit_code == 2);
  CHECK(e.err.find("run_1.slog: is the name of slab 1 of the log run.slog") != std::string::npos);
  CHECK(ReadFile(dir.path("run_1.slog")) == before);
}

TEST_CASE("McapOutputIsNotNamedAsTheNextSlabOfALog") {
  // Otherwise the log would verify with a problem, refuse --append, and its writer would fail at
  // its next slab.
  TempDir dir;
  REQUIRE(RunSlablog({"write", "in.slog"}, PaddedRecords(10), dir.dir()).exit_code == 0);
  REQUIRE(RunSlablog({"write", "run.slog"}, PaddedRecords(10), dir.dir()).exit_code == 0);
  for (const char* name : {"run_1.slog", "run_7.slog"}) {
    INFO(name);
    const RunResult e = RunSlablog({"export", "--format", "mcap", "-o", name, "--force", "in.slog"}, "", dir.dir());
    CHECK(e.exit_code == 2);
    CHECK(e.err.find("not written even with --force") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path(name)));
  }
  CHECK(RunSlablog({"verify", "run.slog"}, "", dir.dir()).exit_code == 0);
}

TEST_CASE("McapOutputsNamedLikeSlabsBesideOtherMcapFilesAreWritten") {
  // take_1.mcap beside take_2.mcap are two exports, not a log: each is written, and replaced with --force.
  TempDir dir;
  REQUIRE(RunSlablog({"write", "in.slog"}, PaddedRecords(10), dir.dir()).exit_code == 0);
  CHECK(RunSlablog({"export", "--format", "mcap", "-o", "take_1.mcap", "in.slog"}, "", dir.dir()).exit_code == 0);
  CHECK(RunSlablog({"export", "--format", "mcap", "-o", "take_2.mcap", "in.slog"}, "", dir.dir()).exit_code == 0);
  CHECK(RunSlablog({"export", "--format", "mcap", "-o", "take_2.mcap", "--force", "in.slog"}, "", dir.dir())
            .exit_code == 0);
  CHECK(ReadFile(dir.path("take_2.mcap")).substr(1, 4) == "MCAP");
  // A file of another kind under such a name is refused, whatever it is: it is not guessed at.
  WriteFile(dir.path("take_3.mcap"), "notes");
  const RunResult e = RunSlablog({"export", "--format", "mcap", "-o", "take_4.mcap", "in.slog"}, "", dir.dir());
  CHECK(e.exit_code == 2);
  CHECK(e.err.find("slab 4 of the log take.mcap") != std::string::npos);
}

TEST_CASE("McapOutputRemovesTheTemporaryFileOfAnExportKilledOutright") {
  // SIGKILL or a power cut leaves .out.mcap.partial-PID behind: the next export to out.mcap
  // removes it once that PID is gone, and leaves a running export's alone (this test's own
  // process stands in for one).
  TempDir dir;
  REQUIRE(RunSlablog({"write", "in.slog"}, PaddedRecords(10), dir.dir()).exit_code == 0);
  const std::string dead_pid = Lines(RunShell("echo $$").out).at(0);
  const std::string dead = dir.path(".out.mcap.partial-" + dead_pid);
  const std::string running = dir.path(".out.mcap.partial-" + std::to_string(getpid()));
  WriteFile(dead, "left by a killed export");
  WriteFile(running, "being written");
  CHECK(RunSlablog({"export", "--format", "mcap", "-o", "out.mcap", "in.slog"}, "", dir.dir()).exit_code == 0);
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(running));
  CHECK(ReadFile(dir.path("out.mcap")).substr(1, 4) == "MCAP");
}

}  // namespace slablog::test
