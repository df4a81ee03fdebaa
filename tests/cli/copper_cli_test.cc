// The commands on Copper logs: info, verify (exit codes and --json), dump, export (filters,
// --sections), follow of a finished log, convert and recover, and the messages for bad input.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& dir, const std::string& file) {
  return SourceDir() + "/tests/fixtures/" + dir + "/" + file;
}
const std::string kTriple = "--copperlist-type=(u32,u32,u32)";

std::vector<json> JsonLines(const std::string& out) {
  std::vector<json> v;
  for (const std::string& line : Lines(out)) v.push_back(json::parse(line));
  return v;
}

}  // namespace

TEST_CASE("CliCopperInfoAndVerifyTellCleanFromCrashedWithGradedExitCodes") {
  struct Case {
    const char* dir;
    const char* base;
    bool clean;
    uint64_t lines, lists;
  };
  for (const Case& c : {Case{"copper/clean", "clean.copper", true, 5, 10},
                        Case{"copper/crash_multislab", "crash_multislab.copper", false, 300, 1500},
                        Case{"copper-v1/multislab", "multislab_7.copper", true, 5000, 20000},
                        Case{"copper-v1/crash_sigkill", "crash_sigkill.copper", false, 300, 1500}}) {
    CAPTURE(c.dir);
    const std::string log = Fixture(c.dir, c.base);
    const RunResult info = RunSlablog({"info", "--json", kTriple, log});
    REQUIRE(info.exit_code == 0);
    const json j = json::parse(info.out);
    CHECK(j["format"] == "copper");
    CHECK(j["checksums"] == false);
    CHECK(j["clean"] == c.clean);
    CHECK(j["streams"][0]["name"] == "log");
    CHECK(j["streams"][0]["entries"] == c.lines);
    CHECK(j["streams"][1]["entries"] == c.lists);
    const RunResult text = RunSlablog({"info", log});
    CHECK(text.exit_code == 0);
    CHECK(text.out.find("no checksums") != std::string::npos);
    CHECK(text.out.find(c.clean ? "closed cleanly" : "NOT closed cleanly") != std::string::npos);

    const RunResult verify = RunSlablog({"verify", log});
    CHECK(verify.exit_code == (c.clean ? 0 : 1));
    CHECK(verify.out.find("no checksums") != std::string::npos);
    if (!c.clean) CHECK(verify.err.find("slablog convert") != std::string::npos);
    const RunResult vj = RunSlablog({"verify", "--json", kTriple, log});
    CHECK(vj.exit_code == (c.clean ? 0 : 1));
    const json v = json::parse(vj.out);
    CHECK(v["ok"] == c.clean);
    CHECK(v["records"] == c.lines + c.lists);
    CHECK(v["problem_count"] == 0);
    CHECK(v["checksums"] == false);
  }
}

TEST_CASE("CliCopperVerifyReportsDamageWithFileAndOffset") {
  TempDir dir;
  const std::string bytes = ReadFile(Fixture("copper-v1/clean", "clean_0.copper"));
  WriteFile(dir.path("run_0.copper"), bytes);
  // A byte of the copperlist section's header (at 12288) broken: the walk picks up at the next
  // section and says where.
  SetByte(dir.path("run_0.copper"), 12288 + 4, 0x7F);
  const RunResult v = RunSlablog({"verify", "--json", dir.path("run.copper")});
  CHECK(v.exit_code == 1);
  const json j = json::parse(v.out);
  REQUIRE(j["problems"].size() >= 1);
  CHECK(j["problems"][0]["kind"] == "bad-section");
  CHECK(j["problems"][0]["offset"] == 12288);
  CHECK(j["problems"][0]["slab"] == dir.path("run_0.copper"));
  // A log line that does not decode (a Value discriminant no Copper has) in a closed section.
  WriteFile(dir.path("run_0.copper"), bytes);
  SetByte(dir.path("run_0.copper"), 4608 + 5 + 1 + 1 + 1 + 1 + 5 + 1 + 1 + 1 + 1 + 1, 0x63);
  const RunResult e = RunSlablog({"verify", dir.path("run.copper")});
  CHECK(e.exit_code == 1);
  CHECK(e.err.find("bad-entry") != std::string::npos);
  CHECK(e.err.find("offset 46") != std::string::npos);
  // Not a log at all, a directory, a missing log: messages and exit codes as for slablog logs.
  WriteFile(dir.path("junk.copper"), std::string("\xB4\xA5\x50\xFF", 4) + std::string(100, '\x33'));
  const RunResult junk = RunSlablog({"verify", dir.path("junk.copper")});
  CHECK(junk.exit_code == 1);
  CHECK(junk.err.find("junk.copper") != std::string::npos);
  CHECK(RunSlablog({"info", dir.path("nothing.copper")}).exit_code == 3);  // as for a missing slablog log
  CHECK(RunSlablog({"info", "--copperlist-type", "(u32", Fixture("copper/clean", "clean.copper")}).exit_code == 2);
}

TEST_CASE("CliCopperExportGivesEveryEntryAndTakesTheFilters") {
  const std::string log = Fixture("copper-v1/crash_sigkill", "crash_sigkill_1.copper");
  const RunResult all = RunSlablog({"export", kTriple, log});
  REQUIRE(all.exit_code == 0);
  const auto objs = JsonLines(all.out);
  REQUIRE(objs.size() == 1800);
  uint64_t lines = 0, lists = 0;
  for (const json& o : objs) {
    if (o["stream"] == "log") {
      CHECK(o["seq"] == lines);
      CHECK(o["t"] == 1000000000ull + lines * 1000000ull);
      CHECK(o["data"]["time_ns"] == o["t"]);
      ++lines;
    } else {
      CHECK(o["stream"] == "copperlist");
      CHECK(o["data"] == json::array({lists, lists * 1000, 0xDEAD0000u | lists}));
      ++lists;
    }
  }
  CHECK(lines == 300);
  CHECK(lists == 1500);
  // Streams, times, limit.
  CHECK(Lines(RunSlablog({"export", "-s", "log", log}).out).size() == 300);
  CHECK(Lines(RunSlablog({"export", "-s", "log", "--since", "1100000000", "--until", "1100999999", log}).out).size() == 1);
  CHECK(Lines(RunSlablog({"export", "-n", "7", log}).out).size() == 7);
  // Without a type: copperlists per section, the open one marked.
  const auto whole = JsonLines(RunSlablog({"export", "-s", "copperlist", log}).out);
  REQUIRE(whole.size() == 2);
  CHECK(whole[0]["offset"] == 12800);
  CHECK(whole[0]["bytes"] == 11766);
  CHECK(!whole[0].contains("trailing_zeros_possible"));
  CHECK(whole[1]["bytes"] == 7098);
  CHECK(whole[1]["trailing_zeros_possible"] == true);
  // --sections: one object per section with its counts.
  const auto sections = JsonLines(RunSlablog({"export", "--sections", kTriple, log}).out);
  REQUIRE(sections.size() == 3);
  CHECK(sections[0]["stream"] == "log");
  CHECK(sections[0]["state"] == "open");
  CHECK(sections[0]["entries"] == 300);
  CHECK(sections[2]["first_index"] == 954);
  CHECK(sections[2]["entries"] == 546);
  // A closed pipe is quiet.
  const RunResult head = RunShell("slablog export '" + log + "' | head -1");
  CHECK(head.exit_code == 0);
  CHECK(head.err.empty());
}

TEST_CASE("CliCopperDumpAndFollowOfAFinishedLog") {
  const std::string log = Fixture("copper-v1/crash_sigkill", "crash_sigkill.copper");
  const RunResult dump = RunSlablog({"dump", kTriple, log});
  CHECK(dump.exit_code == 0);
  CHECK(dump.out.find("stale temporary end marker") != std::string::npos);
  CHECK(dump.out.find("OPEN at the crash") != std::string::npos);
  CHECK(dump.out.find("entry @512  #954") != std::string::npos);
  const RunResult sections = RunSlablog({"dump", "--sections", log});
  CHECK(Lines(sections.out).size() == 2 + 5 + 1);
  // follow prints what export prints, then ends at the final end marker.
  const std::string clean = Fixture("copper-v1/multislab", "multislab.copper");
  const RunResult follow = RunSlablog({"follow", "--from-start", kTriple, clean});
  CHECK(follow.exit_code == 0);
  CHECK(follow.out == RunSlablog({"export", kTriple, clean}).out);
}

TEST_CASE("CliCopperConvertAndRecoverWriteSlablogLogsEveryCommandReads") {
  TempDir dir;
  const std::string log = Fixture("copper/crash_multislab", "crash_multislab.copper");
  const RunResult conv = RunSlablog({"convert", kTriple, log, dir.path("robot.slog")});
  CHECK(conv.exit_code == 0);
  CHECK(conv.out.find("300 log lines, 1500 copperlists") != std::string::npos);
  CHECK(RunSlablog({"verify", dir.path("robot.slog")}).exit_code == 0);
  const auto lines = JsonLines(RunSlablog({"export", "-s", "log", dir.path("robot.slog")}).out);
  REQUIRE(lines.size() == 300);
  CHECK(lines[299]["data"]["params"][0]["value"] == -299);
  CHECK(lines[299]["t"] == 1299000000);
  const RunResult rec = RunSlablog({"recover", log, dir.path("again.slog")});
  CHECK(rec.exit_code == 0);
  CHECK(rec.out.find("copperlist sections") != std::string::npos);
  const json info = json::parse(RunSlablog({"info", "--json", dir.path("again.slog")}).out);
  CHECK(info["records"] == 300 + 2);
  // Never over an existing log, never from a slablog log.
  CHECK(RunSlablog({"convert", log, dir.path("robot.slog")}).exit_code != 0);
  CHECK(RunSlablog({"convert", dir.path("robot.slog"), dir.path("x.slog")}).exit_code == 2);
}

}  // namespace slablog::test
