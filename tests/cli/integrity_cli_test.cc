// verify, truncate and recover as users run them, and every command against bad input.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

// AddressSanitizer reserves terabytes of address space for its shadow memory, so the 1 GB limit
// that proves no claimed size is allocated applies to the plain build only.
#ifdef __SANITIZE_ADDRESS__
constexpr const char* kAddressSpaceLimit = "";
#else
constexpr const char* kAddressSpaceLimit = "ulimit -v 1000000; ";
#endif

// A log as a SIGKILLed writer leaves it, written through the CLI.
std::string CrashedLog(const TempDir& dir, const std::string& name, int records = 400) {
  std::string input;
  for (int i = 0; i < records; ++i) {
    input += "{\"topic\":\"" + std::string(i % 3 ? "imu" : "gps") + "\",\"t\":" + std::to_string(i) + ",\"pad\":\"" +
             std::string(static_cast<size_t>(i % 50), 'x') + "\"}\n";
  }
  WriteFile(dir.path(name + ".ndjson"), input);
  PipedSlablog writer({"write", "--stream-field", "topic", "--time-field", "t", "--slab-size", "64K",
                       "--section-size", "8K", name + ".slog"},
                      dir.dir());
  writer.Send(input);
  // Wait until every record is in the log, then kill the writer that still waits for input.
  size_t in = 0;
  const bool all_in = WaitUntil([&] {
    in = ReadAll(dir.path(name + ".slog")).records.size();
    return in == static_cast<size_t>(records);
  });
  writer.Stop(SIGKILL);
  REQUIRE_MESSAGE(all_in, "only ", in, " of ", records, " records reached ", name, ".slog in ",
                  kPatience.count(), " s");
  return name + ".slog";
}

// Every slab file of the log with its bytes, gaps included: equal only if no file changed.
std::string Fingerprint(const std::string& dir, const std::string& base) {
  std::string all;
  for (const auto& [index, path] : ListSlabFiles(dir + "/" + base)) {
    all += std::to_string(index) + ":" + ReadFile(path) + "\n";
  }
  return all;
}

}  // namespace

TEST_CASE("CliVerifyCleanAndDamaged") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "--format", "lines", "v.slog"}, "a\nb\nc\n", dir.dir()).exit_code == 0);
  RunResult ok = RunSlablog({"verify", "v.slog"}, "", dir.dir());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("3 records") != std::string::npos);
  CHECK(ok.out.find("0 problems; closed cleanly") != std::string::npos);
  auto j = nlohmann::json::parse(RunSlablog({"verify", "--json", "v.slog"}, "", dir.dir()).out);
  CHECK(j["ok"] == true);
  CHECK(j["clean"] == true);
  CHECK(j["records"] == 3);
  CHECK(j["problems"].empty());
  const FrameLoc f = FindFrame(dir.path("v.slog"), "default", FragmentKind::kFull, 1);
  FlipBit(f.file, f.offset + kFrameHeaderSize, 3);
  RunResult bad = RunSlablog({"verify", "v.slog"}, "", dir.dir());
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.rfind("slablog verify: v_0.slog: offset " + std::to_string(f.offset) + ": checksum (stream 'default')", 0) == 0);
  CHECK(bad.err.find("slablog recover") != std::string::npos);
  j = nlohmann::json::parse(RunSlablog({"verify", "--json", "v.slog"}, "", dir.dir()).out);
  CHECK(j["ok"] == false);
  REQUIRE(j["problems"].size() == 1);
  CHECK(j["problems"][0]["slab"] == "v_0.slog");
  CHECK(j["problems"][0]["offset"] == f.offset);
  CHECK(j["problems"][0]["stream"] == "default");
  CHECK(j["problems"][0]["kind"] == "checksum");
  CHECK(RunSlablog({"verify", "--quiet", "v.slog"}, "", dir.dir()).out.empty());
}

TEST_CASE("CliTruncateRepairsACrashedLog") {
  TempDir dir;
  const std::string log = CrashedLog(dir, "c");
  RunResult before = RunSlablog({"verify", log}, "", dir.dir());
  CHECK(before.exit_code == 1);
  CHECK(before.err.find("not closed cleanly") != std::string::npos);
  CHECK(before.err.find("slablog truncate") != std::string::npos);
  const std::string bytes = Fingerprint(dir.dir(), log);
  RunResult dry = RunSlablog({"truncate", "--dry-run", log}, "", dir.dir());
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("would close") != std::string::npos);
  // info, verify and truncate give the same number of open sections (the catalog's included).
  const auto open = nlohmann::json::parse(RunSlablog({"verify", "--json", log}, "", dir.dir()).out)["open_sections"];
  CHECK(open > 0);
  CHECK(nlohmann::json::parse(RunSlablog({"info", "--json", log}, "", dir.dir()).out)["open_sections"] == open);
  CHECK(dry.out.find("would close " + open.dump() + " open section") != std::string::npos);
  CHECK(Fingerprint(dir.dir(), log) == bytes);  // a dry run writes nothing
  RunResult fixed = RunSlablog({"truncate", "--save-cut", "cut.bin", log}, "", dir.dir());
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("closed cleanly") != std::string::npos);
  RunResult after = RunSlablog({"verify", "--json", log}, "", dir.dir());
  CHECK(after.exit_code == 0);
  CHECK(nlohmann::json::parse(after.out)["records"] == 400);
  const std::string repaired = Fingerprint(dir.dir(), log);
  RunResult again = RunSlablog({"truncate", log}, "", dir.dir());
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("nothing to do") != std::string::npos);
  CHECK(Fingerprint(dir.dir(), log) == repaired);  // idempotent: not a byte changed
}

TEST_CASE("CliTruncateCutsWhatFollowsTheLastFrameAndSavesIt") {
  TempDir dir;
  const std::string log = CrashedLog(dir, "t");
  const FrameLoc last = Frames(dir.path(log)).back();
  REQUIRE_FALSE(last.section_closed);
  const uint64_t after = last.offset + kFrameHeaderSize + last.length;
  const std::string file = std::filesystem::path(last.file).filename().string();
  std::string reason;
  SUBCASE("a frame the writer had begun: header and payload bytes, no kind byte yet") {
    SetByte(last.file, after + 4, 9);
    SetByte(last.file, after + kFrameHeaderSize, 'z');
    reason = "frame torn by the crash";
  }
  SUBCASE("payload bytes past a zero frame header") {
    // The writer stores a payload before its header (and a reused slab file may hold old bytes
    // there): zeroed, but listed as no torn frame.
    SetByte(last.file, after + kFrameHeaderSize + 30, 'q');
    reason = "no frame header claims";
    RunResult dry = RunSlablog({"truncate", "-n", log}, "", dir.dir());
    CHECK(dry.out.find("would cut: " + file + " offset " + std::to_string(after) + ", 51 bytes") != std::string::npos);
    CHECK(dry.out.find("frame torn by the crash") == std::string::npos);
  }
  RunResult dry = RunSlablog({"truncate", "-n", log}, "", dir.dir());
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("would cut: " + file + " offset " + std::to_string(after)) != std::string::npos);
  CHECK(dry.out.find(reason) != std::string::npos);
  RunResult fixed = RunSlablog({"truncate", "--save-cut", "cut.bin", log}, "", dir.dir());
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find(reason) != std::string::npos);
  const std::string saved = ReadFile(dir.path("cut.bin"));
  CHECK(saved.rfind("slablog-cut file=" + file + " offset=" + std::to_string(after), 0) == 0);
  CHECK(RunSlablog({"verify", log}, "", dir.dir()).exit_code == 0);
  CHECK(ReadAll(dir.path(log)).records.size() == 400);
}

TEST_CASE("CliTruncateRefusesDamageInTheMiddle") {
  TempDir dir;
  const std::string log = CrashedLog(dir, "m");
  const FrameLoc early = FindFrame(dir.path(log), "imu", FragmentKind::kFull, 2);
  FlipBit(early.file, early.offset + kFrameHeaderSize + 1, 0);
  const std::string bytes = Fingerprint(dir.dir(), log);
  RunResult r = RunSlablog({"truncate", log}, "", dir.dir());
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("slablog truncate: ", 0) == 0);
  CHECK(r.err.find("slablog recover") != std::string::npos);
  CHECK(Fingerprint(dir.dir(), log) == bytes);  // refused: nothing touched
  RunResult rec = RunSlablog({"recover", log, "saved.slog"}, "", dir.dir());
  CHECK(rec.exit_code == 1);
  CHECK(rec.out.find("imu") != std::string::npos);
  CHECK(Fingerprint(dir.dir(), log) == bytes);  // recover only reads
  RunResult v = RunSlablog({"verify", "saved.slog"}, "", dir.dir());
  CHECK(v.exit_code == 0);
  const ReadResult saved = ReadAll(dir.path("saved.slog"));
  // The damaged record and the rest of its section are lost; everything after is saved.
  CHECK(saved.records.size() < 400);
  CHECK(saved.records.size() > 200);
  CHECK(RunSlablog({"recover", log, "saved.slog"}, "", dir.dir()).exit_code == 2);  // exists
}

TEST_CASE("CliVerifyOfALiveLogSaysInProgress") {
  TempDir dir;
  PipedSlablog writer({"write", "--format", "lines", "live.slog"}, dir.dir());
  writer.Send("x\ny\n");
  REQUIRE(WaitUntil([&] { return ReadAll(dir.path("live.slog")).records.size() == 2; }));
  RunResult v = RunSlablog({"verify", "live.slog"}, "", dir.dir());
  CHECK(v.exit_code == 1);
  CHECK(v.err.find("a writer has live.slog open") != std::string::npos);
  CHECK(v.err.find("checksum") == std::string::npos);
  RunResult t = RunSlablog({"truncate", "live.slog"}, "", dir.dir());
  CHECK(t.exit_code == 2);
  CHECK(t.err.find("a writer (or another truncate) has this log open") != std::string::npos);
  writer.Stop(SIGTERM);
  CHECK(RunSlablog({"verify", "live.slog"}, "", dir.dir()).exit_code == 0);
}

TEST_CASE("CliGarbageIn") {
  // Every command against each kind of bad input: a clear "slablog CMD:" message and a
  // documented exit code, never a crash, a hang, or an allocation of a claimed size (the
  // commands run with 1 GB of address space).
  TempDir dir;
  std::mt19937_64 rng(TestSeed());
  std::string junk(100000, '\0');
  for (auto& c : junk) c = static_cast<char>(rng());
  WriteFile(dir.path("empty.slog"), "");
  WriteFile(dir.path("random.slog"), junk);
  // Another robot-log format slablog does not read: an MCAP file's magic and header record.
  // (Copper's unified logs are read: tests/cli/copper_cli_test.cc.)
  std::string other("\x89MCAP0\r\n\x01", 9);
  other.resize(20560, '\x11');
  WriteFile(dir.path("other.slog"), other);
  // Copper logs (read by every command): one cut inside a section's data, and Copper's main header
  // followed by random bytes.
  WriteFile(dir.path("copper-cut.copper"),
            ReadFile(SourceDir() + "/tests/fixtures/copper/multislab/multislab_0.copper").substr(0, 6000));
  WriteFile(dir.path("copper-junk.copper"), std::string("\xb4\xa5\x50\xff\xfb\x00\x10\xfb\x00\x10", 10) + junk);
  std::filesystem::create_directory(dir.path("adir.slog"));
  // A log with a missing middle slab, one with a slab of another log, one with a duplicated slab.
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 150; ++i) records.emplace_back("s", std::string(1500, static_cast<char>('a' + i % 26)));
  WriteLog(dir.path("gap.slog"), SmallOptions(), records);
  std::filesystem::remove(SlabPath(dir.path("gap.slog"), 1));
  WriteLog(dir.path("foreign.slog"), SmallOptions(), records);
  WriteLog(dir.path("donor.slog"), SmallOptions(), records);
  std::filesystem::copy_file(SlabPath(dir.path("donor.slog"), 1), SlabPath(dir.path("foreign.slog"), 1),
                             std::filesystem::copy_options::overwrite_existing);
  WriteFile(dir.path("dup.slog"), ReadFile(SlabPath(dir.path("donor.slog"), 0)) + ReadFile(SlabPath(dir.path("donor.slog"), 1)) +
                                       ReadFile(SlabPath(dir.path("donor.slog"), 1)));
  // Length fields that claim terabytes, with their CRCs made right so only the size check stops them.
  WriteLog(dir.path("huge.slog"), SmallOptions(), records);
  {
    const std::string path = SlabPath(dir.path("huge.slog"), 0);
    std::string b = ReadFile(path);
    auto* p = reinterpret_cast<uint8_t*>(b.data());
    auto header = DecodeSlabHeader({p, b.size()});
    REQUIRE(header.has_value());
    header->capacity = uint64_t{1} << 42;  // 4 TiB slab
    EncodeSlabHeader(*header, std::span<uint8_t, kSlabHeaderSize>(p, kSlabHeaderSize));
    auto open = DecodeSectionOpen(header->log_id, {p + 8192, kSectionHeaderSize});
    REQUIRE(open.has_value());
    open->size = uint64_t{1} << 41;  // a 2 TiB section
    EncodeSectionOpen(header->log_id, *open, std::span<uint8_t, 32>(p + 8192, 32));
    WriteFile(path, b);
  }
  const std::vector<std::string> inputs = {"empty.slog", "random.slog", "other.slog", "adir.slog", "missing.slog",
                                           "gap.slog", "foreign.slog", "dup.slog", "huge.slog",
                                           "copper-cut.copper", "copper-junk.copper"};
  const std::vector<std::vector<std::string>> commands = {
      {"info"}, {"dump"}, {"verify"}, {"verify", "--json"}, {"truncate", "--dry-run"}, {"recover"},
      {"export"}, {"follow"}};
  for (const auto& input : inputs) {
    for (const auto& cmd : commands) {
      CAPTURE(input);
      CAPTURE(cmd[0]);
      // follow waits for a writer: on a log nobody writes it must end by itself, not hang.
      std::string line = std::string(kAddressSpaceLimit) + (cmd[0] == "follow" ? "timeout 60 " : "") + "slablog";
      for (const auto& a : cmd) line += " " + a;
      line += " " + input;
      if (cmd[0] == "recover") line += " out-" + input + "-" + std::to_string(rng() % 100000);
      line += " > /dev/null";
      RunResult r = RunShell(line, dir.dir());
      CHECK(r.exit_code >= 1);
      CHECK(r.exit_code <= 3);
      // With --json, problems are in the report; anything on stderr is still prefixed.
      if (!(cmd.size() > 1 && cmd[1] == "--json" && r.err.empty())) {
        CHECK(r.err.rfind("slablog " + cmd[0] + ": ", 0) == 0);
      }
    }
  }
}

}  // namespace slablog::test

namespace slablog::test {
namespace {

// One random change to one slab of the log in `dir`, of the kinds a failing disk, a careless copy
// or a crash make. Returns what it did, for the failure message.
std::string Mutate(const std::string& dir, std::mt19937_64& rng) {
  std::vector<std::string> slabs;  // after a gap an earlier change made too
  for (const auto& [index, path] : ListSlabFiles(dir + "/m.slog")) slabs.push_back(path);
  if (slabs.empty()) return "no slab left";
  const size_t pick = rng() % slabs.size();
  const std::string& path = slabs[pick];
  std::string b = ReadFile(path);
  const auto at = [&](size_t room) { return b.size() > room ? rng() % (b.size() - room) : 0; };
  const std::string name = std::filesystem::path(path).filename().string();
  switch (rng() % 7) {
    case 0: {
      const size_t i = at(1);
      if (!b.empty()) b[i] = static_cast<char>(b[i] ^ (1 << (rng() % 8)));
      WriteFile(path, b);
      return name + ": bit flipped at " + std::to_string(i);
    }
    case 1: {
      const size_t n = b.empty() ? 0 : rng() % (b.size() + 1);
      b.resize(n);
      WriteFile(path, b);
      return name + ": cut to " + std::to_string(n) + " bytes";
    }
    case 2: {
      const size_t i = at(0), n = std::min<size_t>(1 + rng() % 5000, b.size() - i);
      std::fill_n(b.begin() + static_cast<long>(i), n, '\0');
      WriteFile(path, b);
      return name + ": " + std::to_string(n) + " zeros at " + std::to_string(i);
    }
    case 3: {
      // A length, size or count field claiming the impossible: near the headers, or anywhere.
      const size_t i = rng() % 2 ? at(8) % 8192 : at(8);
      if (b.size() >= i + 8) b.replace(i, 8, std::string(8, '\xff'));
      WriteFile(path, b);
      return name + ": 8 bytes of 0xff at " + std::to_string(i);
    }
    case 4:
      std::filesystem::remove(path);
      return name + ": removed";
    case 5: {
      const size_t i = at(0), n = std::min<size_t>(1 + rng() % 300, b.size() - i);
      for (size_t k = 0; k < n; ++k) b[i + k] = static_cast<char>(rng());
      WriteFile(path, b);
      return name + ": " + std::to_string(n) + " random bytes at " + std::to_string(i);
    }
    default: {
      const size_t other = rng() % slabs.size();
      if (other == pick) return name + ": left as it was";
      std::filesystem::copy_file(slabs[other], path, std::filesystem::copy_options::overwrite_existing);
      return name + ": replaced by a copy of " + std::filesystem::path(slabs[other]).filename().string();
    }
  }
}

}  // namespace

TEST_CASE("CliMutatedCrashedLogs") {
  // A crashed log, changed at random in one to three places (12 times, 200 in long mode), through
  // every command: a documented exit code and never a crash or a hang; and truncate, when it
  // repairs, loses no record that could be read before and changes nothing when run again.
  TempDir src;
  const std::string crashed = CrashedLog(src, "c", 3000);  // 4 slabs, so that one can go missing between two
  REQUIRE(std::filesystem::exists(SlabPath(src.path(crashed), 3)));
  std::mt19937_64 rng(TestSeed());
  const uint64_t trials = LongMode() ? 200 : 12 * TestScale();
  for (uint64_t trial = 0; trial < trials; ++trial) {
    TempDir dir;
    for (uint32_t i = 0; std::filesystem::exists(SlabPath(src.path(crashed), i)); ++i) {
      std::filesystem::copy_file(SlabPath(src.path(crashed), i), SlabPath(dir.path("m.slog"), i));
    }
    std::string changes;
    for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) changes += Mutate(dir.dir(), rng) + "; ";
    CAPTURE(changes);
    const auto run = [&](const std::string& command) {
      CAPTURE(command);
      RunResult r = RunShell(std::string(kAddressSpaceLimit) + "timeout 60 slablog " + command, dir.dir());
      CHECK(r.exit_code >= 0);
      CHECK(r.exit_code <= 3);
      CHECK(r.err.find("runtime error") == std::string::npos);
      CHECK(r.err.find("Sanitizer") == std::string::npos);
      return r;
    };
    for (const char* command : {"info m.slog", "info --json m.slog", "dump m.slog", "verify m.slog",
                                "verify --json m.slog", "follow m.slog", "recover m.slog rec.slog",
                                "split m.slog -o pieces --by stream", "truncate --dry-run m.slog"}) {
      run(command);
    }
    const RunResult before = run("export m.slog");
    if (run("truncate m.slog").exit_code != 0) continue;
    const std::string repaired = Fingerprint(dir.dir(), "m.slog");
    run("truncate m.slog");
    CHECK_MESSAGE(Fingerprint(dir.dir(), "m.slog") == repaired, "a second truncate changed the log");
    const std::vector<std::string> after_lines = Lines(run("export m.slog").out);
    const std::set<std::string> after(after_lines.begin(), after_lines.end());
    size_t lost = 0;
    for (const std::string& line : Lines(before.out)) lost += after.count(line) == 0 ? size_t{1} : size_t{0};
    CHECK_MESSAGE(lost == 0, lost << " records readable before truncate are gone after it");
  }
}

}  // namespace slablog::test
