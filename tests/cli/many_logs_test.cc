// verify and info of many logs in one call, as CI checks a fleet: a report per log that names it,
// one JSON line per log, the worst exit code, each log once however many of its slabs are named.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

using nlohmann::json;

std::string Records(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'p') + "\"}\n";
  return out;
}

void WriteLog(const TempDir& dir, const std::string& log, int records, const std::string& slab = "64M") {
  REQUIRE(RunSlablog({"write", "--slab-size", slab, log}, Records(records), dir.dir()).exit_code == 0);
}

// A flipped byte in the middle of the first data page of slab 0: a checksum failure.
void Damage(const TempDir& dir, const std::string& slab_file) {
  std::fstream f(dir.path(slab_file), std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(8192 + 300);
  char c = 0;
  f.get(c);
  f.seekp(8192 + 300);
  f.put(static_cast<char>(c ^ 0x20));
}

std::vector<json> JsonLinesOf(const std::string& out) {
  std::vector<json> v;
  for (const std::string& line : Lines(out)) v.push_back(json::parse(line));
  return v;
}

std::string CopperFixture(const std::string& dir, const std::string& file) {
  return SourceDir() + "/tests/fixtures/" + dir + "/" + file;
}

}  // namespace

TEST_CASE("ManyLogsVerifyTextHasABlockPerLogNamingIt") {
  TempDir dir;
  WriteLog(dir, "a.slog", 10);
  WriteLog(dir, "b.slog", 20);
  const RunResult r = RunSlablog({"verify", "a.slog", "b.slog"}, "", dir.dir());
  CHECK(r.exit_code == 0);
  const auto lines = Lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("a.slog: 10 records", 0) == 0);
  CHECK(lines[1].empty());
  CHECK(lines[2].rfind("b.slog: 20 records", 0) == 0);
}

TEST_CASE("ManyLogsVerifyJsonOneLinePerLogAndTheWorstExitCode") {
  TempDir dir;
  WriteLog(dir, "a.slog", 10);
  WriteLog(dir, "bad.slog", 200);
  WriteLog(dir, "c.slog", 30);
  Damage(dir, "bad_0.slog");
  SUBCASE("one damaged log among healthy ones") {
    const RunResult r = RunSlablog({"verify", "--json", "a.slog", "bad.slog", "c.slog"}, "", dir.dir());
    CHECK(r.exit_code == 1);
    const auto lines = JsonLinesOf(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["log"] == "a.slog");
    CHECK(lines[0]["ok"] == true);
    CHECK(lines[0]["records"] == 10);
    CHECK(lines[1]["log"] == "bad.slog");
    CHECK(lines[1]["ok"] == false);
    CHECK(lines[1]["problem_count"].get<int>() > 0);
    CHECK(lines[2]["log"] == "c.slog");
    CHECK(lines[2]["ok"] == true);
  }
  SUBCASE("a missing log: reported, the others still checked, exit 3") {
    const RunResult r = RunSlablog({"verify", "--json", "a.slog", "gone.slog", "bad.slog"}, "", dir.dir());
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("gone.slog") != std::string::npos);
    const auto lines = JsonLinesOf(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[1]["log"] == "gone.slog");
    CHECK(lines[1]["ok"] == false);
    CHECK(lines[1]["error"].get<std::string>().find("no such log") != std::string::npos);
    CHECK(lines[2]["log"] == "bad.slog");
    CHECK(lines[2]["ok"] == false);
  }
  SUBCASE("one log named alone prints the indented document it always did") {
    const RunResult r = RunSlablog({"verify", "--json", "a.slog"}, "", dir.dir());
    CHECK(r.exit_code == 0);
    CHECK(Lines(r.out).size() > 3);
    CHECK(json::parse(r.out).contains("log") == false);
  }
}

TEST_CASE("ManyLogsSlabFilesOfALogAreCheckedOnceUnderItsBaseName") {
  TempDir dir;
  WriteLog(dir, "run.slog", 3000, "64K");
  WriteLog(dir, "other.slog", 5);
  REQUIRE(RunSlablog({"info", "run_2.slog"}, "", dir.dir()).exit_code == 0);
  // What `find . -name '*.slog' | xargs slablog verify --json` passes.
  const RunResult r = RunShell("ls *.slog | xargs slablog verify --json", dir.dir());
  CHECK(r.exit_code == 0);
  const auto lines = JsonLinesOf(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["log"] == "other.slog");
  CHECK(lines[1]["log"] == "run.slog");
  CHECK(lines[1]["records"] == 3000);
  CHECK(lines[1]["slabs"].get<int>() >= 3);
}

TEST_CASE("ManyLogsCopperLogsMixedIn") {
  TempDir dir;
  WriteLog(dir, "a.slog", 10);
  const std::string clean = CopperFixture("copper", "clean/clean_0.copper");
  const std::string multi = CopperFixture("copper", "multislab/multislab_3.copper");
  const RunResult r = RunSlablog({"verify", "--json", "a.slog", clean, multi}, "", dir.dir());
  const auto lines = JsonLinesOf(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["log"] == "a.slog");
  // A Copper slab file stands for its log too, named by its base name.
  CHECK(lines[1]["log"] == CopperFixture("copper", "clean/clean.copper"));
  CHECK(lines[2]["log"] == CopperFixture("copper", "multislab/multislab.copper"));
  CHECK(r.exit_code == RunSlablog({"verify", clean}).exit_code);
  const RunResult info = RunSlablog({"info", "--json", clean, "a.slog"}, "", dir.dir());
  CHECK(info.exit_code == 0);
  const auto infos = JsonLinesOf(info.out);
  REQUIRE(infos.size() == 2);
  CHECK(infos[0]["log"] == CopperFixture("copper", "clean/clean.copper"));
  CHECK(infos[1]["log"] == "a.slog");
  CHECK(infos[1]["records"] == 10);
}

TEST_CASE("ManyLogsInfoTextAndJson") {
  TempDir dir;
  WriteLog(dir, "a.slog", 10);
  WriteLog(dir, "b.slog", 3000, "64K");
  const RunResult text = RunSlablog({"info", "a.slog", "b_1.slog", "b_0.slog"}, "", dir.dir());
  CHECK(text.exit_code == 0);
  // Two blocks, each opening with the log it is about.
  std::vector<std::string> heads;
  for (const std::string& line : Lines(text.out)) {
    if (line.rfind("log:", 0) == 0) heads.push_back(line);
  }
  REQUIRE(heads.size() == 2);
  CHECK(heads[0].find("a_0.slog") != std::string::npos);
  CHECK(heads[1].find("b_0.slog") != std::string::npos);
  const RunResult j = RunSlablog({"info", "--json", "b.slog", "a.slog", "missing.slog"}, "", dir.dir());
  CHECK(j.exit_code == 3);
  CHECK(j.err.find("missing.slog") != std::string::npos);
  const auto lines = JsonLinesOf(j.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["log"] == "b.slog");
  CHECK(lines[0]["records"] == 3000);
  CHECK(lines[1]["log"] == "a.slog");
  CHECK(lines[1]["records"] == 10);
  CHECK(lines[2]["log"] == "missing.slog");
  CHECK(lines[2]["ok"] == false);
}

}  // namespace slablog::test

namespace slablog::test {

// A bad option is said once, before any log is read, however many logs are named.
TEST_CASE("ManyLogsABadOptionIsSaidOnce") {
  TempDir dir;
  for (const char* log : {"a.slog", "b.slog"}) {
    REQUIRE(RunSlablog({"write", log}, "{\"x\":1}\n", dir.dir()).exit_code == 0);
  }
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"info", "--time-format", "bogus", "a.slog", "b.slog"},
                                             {"info", "--copperlist-type", "nope", "a.slog", "b.slog"},
                                             {"verify", "--copperlist-type", "nope", "a.slog", "b.slog"}}) {
    const RunResult r = RunSlablog(args, "", dir.dir());
    CAPTURE(args[1]);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(Lines(r.err).size() == 1);
  }
}

}  // namespace slablog::test
