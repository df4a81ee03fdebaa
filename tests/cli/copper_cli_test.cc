// The commands on Copper logs: info, verify (exit codes and --json), dump, export (filters,
// --sections), follow of a finished log, convert and recover, and the messages for bad input.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
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
  // The commands that change or rewrite slablog logs refuse a Copper log and say what to do.
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"truncate", log}, {"split", log, "-o", dir.dir()}, {"merge", dir.path("m.slog"), log}}) {
    const RunResult r = RunSlablog(cmd);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("slablog convert") != std::string::npos);
  }
  // Never over an existing log, never from a slablog log.
  CHECK(RunSlablog({"convert", log, dir.path("robot.slog")}).exit_code != 0);
  CHECK(RunSlablog({"convert", dir.path("robot.slog"), dir.path("x.slog")}).exit_code == 2);
}

}  // namespace slablog::test

namespace slablog::test {
namespace {

void PutVar(std::vector<uint8_t>* out, uint64_t v) {
  if (v < 251) {
    out->push_back(static_cast<uint8_t>(v));
    return;
  }
  const int n = v <= 0xFFFF ? 2 : 4;
  out->push_back(n == 2 ? 251 : 252);
  for (int i = 0; i < n; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// What copper-rs's writer does to crash_abort's log (v1; copperlist section open at 12288, data
// from 12800, 6 entries in 52 bytes) as it goes on: encodes more copperlists straight into the
// mapped file, one field at a time; then either closes the log (section headers with their used sizes
// and is_open 0, the end marker made final) or dies.
void CopperWriterProcess(const std::string& slab, uint64_t entries, bool close_at_end) {
  const int fd = ::open(slab.c_str(), O_RDWR);
  if (fd < 0) _exit(10);
  auto* map = static_cast<uint8_t*>(::mmap(nullptr, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (map == MAP_FAILED) _exit(11);
  uint64_t used = 52;
  for (uint64_t j = 6; j < 6 + entries; ++j) {
    if (12800 + used + 13 > 12288 + 8192) _exit(12);  // the section is full
    // Field by field, as bincode encodes into the map: a reader can find an entry half there.
    for (uint64_t field : {j, (j * 1000) & 0xFFFFFFFF, 0xDEAD0000u | (j & 0xFFFF)}) {
      std::vector<uint8_t> e;
      PutVar(&e, field);
      std::memcpy(map + 12800 + used, e.data(), e.size());
      used += e.size();
      ::usleep(150);
    }
  }
  if (close_at_end) {
    // The headers rewritten byte by byte, slowly: a poll in between reads the copperlist header
    // as "fb 01 00 | 00", a closed section of used 1 (then of used lo), which no entry fits.
    std::vector<uint8_t> h = {0xFA, 0x57, 0xFB, 0x00, 0x02, 0x02, 0xFB, 0x00, 0x20};
    PutVar(&h, used);
    h.push_back(0);
    for (size_t i = 9; i < h.size(); ++i) {
      map[12288 + i] = h[i];
      ::usleep(20000);
    }
    const uint8_t sll[] = {0xFA, 0x57, 0xFB, 0x00, 0x02, 0x01, 0xFB, 0x00, 0x20, 48, 0};
    std::memcpy(map + 4096, sll, sizeof(sll));
    map[20480 + 10] = 0;  // the temporary end marker made final
  }
  ::munmap(map, 65536);
  ::close(fd);
  _exit(0);
}

}  // namespace

TEST_CASE("CliCopperFollowPrintsEachEntryOnceInOrderWhileCoppersWriterAppendsAndEndsWhenItStops") {
  for (const bool close_at_end : {true, false}) {
    CAPTURE(close_at_end);
    TempDir dir;
    WriteFile(dir.path("live_0.copper"), ReadFile(Fixture("copper-v1/crash_abort", "crash_abort_0.copper")));
    const uint64_t added = 600;  // 6 + 600 entries take 7,362 of the section's 7,680 data bytes
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) CopperWriterProcess(dir.path("live_0.copper"), added, close_at_end);
    const RunResult f = RunShell("timeout 120 slablog follow --interval 5 --from-start '" + kTriple + "' live.copper", dir.dir());
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_MESSAGE(f.exit_code == (close_at_end ? 0 : 1), f.err);
    if (!close_at_end) CHECK(f.err.find("no process has the log open") != std::string::npos);
    uint64_t lines = 0, lists = 0, wrong = 0;
    for (const json& o : JsonLines(f.out)) {
      if (o["stream"] == "log") {
        wrong += o["seq"] != lines++;
      } else {
        wrong += o["seq"] != lists;
        wrong += o["data"] != json::array({lists, (lists * 1000) & 0xFFFFFFFF, 0xDEAD0000u | (lists & 0xFFFF)});
        ++lists;
      }
    }
    CHECK(wrong == 0);
    CHECK(lines == 3);
    CHECK(lists == 6 + added);
  }
}

TEST_CASE("CliCopperFollowFromTheStartOfALiveLogPrintsEveryEntryOfEverySectionOnceInOrder") {
  // crash_multislab with a process that maps its slabs, as a writer would: a closed section in
  // slab 0 and an open one in slab 1. Follow holds back the last entry of a section whose header
  // it has not yet seen settle, and every later entry of its stream with it; none is passed over.
  TempDir dir;
  for (int i = 0; i < 2; ++i) {
    const std::string name = "crash_multislab_" + std::to_string(i) + ".copper";
    WriteFile(dir.path(name), ReadFile(Fixture("copper/crash_multislab", name)));
  }
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (int i = 0; i < 2; ++i) {
      const int fd = ::open(dir.path("crash_multislab_" + std::to_string(i) + ".copper").c_str(), O_RDONLY);
      if (fd < 0 || ::mmap(nullptr, 32768, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) _exit(10);
    }
    ::usleep(1500 * 1000);
    _exit(0);
  }
  ::usleep(100 * 1000);  // the child has mapped them
  const RunResult f = RunShell("timeout 60 slablog follow --interval 5 --from-start '" + kTriple +
                               "' crash_multislab.copper", dir.dir());
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(f.exit_code == 1);  // the "writer" went away without closing the log
  uint64_t lines = 0, lists = 0, wrong = 0;
  for (const json& o : JsonLines(f.out)) {
    if (o["stream"] == "log") {
      wrong += o["seq"] != lines++;
    } else {
      wrong += o["data"] != json::array({lists, (lists * 1000) & 0xFFFFFFFF, 0xDEAD0000u | (lists & 0xFFFF)});
      ++lists;
    }
  }
  CHECK(wrong == 0);
  CHECK(lines == 300);
  CHECK(lists == 1500);
}

}  // namespace slablog::test
