// The slablog program as a user runs it: exit codes, stderr prefixes, stdout, pipes, signals.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {

namespace {
const std::string kSample =
    "{\"topic\":\"imu\",\"t\":100,\"v\":[1,2,3]}\n"
    "{\"topic\":\"gps\",\"t\":150,\"lat\":47.1,\"s\":\"caf\\u00e9 \\\"q\\\"\"}\n"
    "\n"
    "{\"topic\":\"imu\",\"t\":200,\"v\":[4,5,6]}\r\n"
    "{\"no_topic\":true,\"t\":250}\n";
}

TEST_CASE("CliWriteNdjsonThenInfoJson") {
  TempDir dir;
  RunResult w = RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "run.slog"}, kSample, dir.dir());
  CHECK(w.exit_code == 0);
  CHECK(w.err.empty());
  RunResult i = RunSlablog({"info", "--json", "run.slog"}, "", dir.dir());
  REQUIRE(i.exit_code == 0);
  auto j = nlohmann::json::parse(i.out);
  CHECK(j["clean"] == true);
  CHECK(j["slabs"] == 1);
  CHECK(j["records"] == 4);
  REQUIRE(j["streams"].size() == 3);
  CHECK(j["streams"][0]["name"] == "imu");
  CHECK(j["streams"][0]["records"] == 2);
  CHECK(j["streams"][0]["first_t"] == 100);
  CHECK(j["streams"][0]["last_t"] == 200);
  CHECK(j["streams"][0]["encoding"] == "json");
  CHECK(j["streams"][2]["name"] == "default");  // the record without the field
  // A stream that was opened but never written is still listed, with no time range.
  {
    auto quiet = Writer::Open(dir.path("quiet.slog"), SmallOptions());
    REQUIRE(quiet.has_value());
    REQUIRE(quiet.value()->OpenStream({"quiet", Encoding::kText, 3}).has_value());
    REQUIRE(quiet.value()->Close().ok());
  }
  auto e = nlohmann::json::parse(RunSlablog({"info", "--json", "quiet.slog"}, "", dir.dir()).out);
  CHECK(e["records"] == 0);
  REQUIRE(e["streams"].size() == 1);
  CHECK(e["streams"][0]["name"] == "quiet");
  CHECK(e["streams"][0]["type"] == 3);
  CHECK(e["streams"][0]["first_t"].is_null());
  // The stored records are the input lines, byte for byte (without the line ending).
  ReadResult r = ReadAll(dir.path("run.slog"));
  REQUIRE(r.records.size() == 4);
  REQUIRE(r.OfStream("gps").size() == 1);
  CHECK(r.OfStream("gps")[0].payload == "{\"topic\":\"gps\",\"t\":150,\"lat\":47.1,\"s\":\"caf\\u00e9 \\\"q\\\"\"}");
  CHECK(r.OfStream("imu")[1].payload == "{\"topic\":\"imu\",\"t\":200,\"v\":[4,5,6]}");
}

TEST_CASE("CliWriteInvalidLineKeepsTheLinesBefore") {
  TempDir dir;
  RunResult w = RunSlablog({"write", "bad.slog"}, "{\"a\":1}\n[1,2]\n{\"a\":\n{\"b\":2}\n", dir.dir());
  CHECK(w.exit_code == 1);
  CHECK(w.err.rfind("slablog write: stdin: offset 14: line 3: invalid JSON", 0) == 0);
  ReadResult r = ReadAll(dir.path("bad.slog"));
  CHECK(r.summary.clean);
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[1].payload == "[1,2]");
}

TEST_CASE("CliWriteFieldErrors") {
  TempDir dir;
  RunResult w = RunSlablog({"write", "--time-field", "t", "a.slog"}, "{\"t\":5}\n{\"t\":\"x\"}\n", dir.dir());
  CHECK(w.exit_code == 1);
  CHECK(w.err.find("line 2: field 't': 'x' is neither a number nor an RFC 3339 time") != std::string::npos);
  w = RunSlablog({"write", "--stream-field", "s", "b.slog"}, "{\"s\":3}\n", dir.dir());
  CHECK(w.exit_code == 1);
  CHECK(w.err.find("must be a non-empty string") != std::string::npos);
  w = RunSlablog({"write", "--format", "lines", "--time-field", "t", "c.slog"}, "x\n", dir.dir());
  CHECK(w.exit_code == 2);
}

TEST_CASE("CliWriteLinesAndRaw") {
  TempDir dir;
  RunResult w = RunSlablog({"write", "--format", "lines", "--stream", "text", "l.slog"}, "one\ntwo\n\nlast-no-newline", dir.dir());
  CHECK(w.exit_code == 0);
  ReadResult r = ReadAll(dir.path("l.slog"));
  REQUIRE(r.records.size() == 4);
  CHECK(r.records[2].payload.empty());
  CHECK(r.records[3].payload == "last-no-newline");
  std::string raw;
  for (std::string p : {std::string("ab"), std::string(), std::string("\0\1\2", 3)}) {
    const uint32_t n = static_cast<uint32_t>(p.size());
    raw.append(reinterpret_cast<const char*>(&n), 4);
    raw += p;
  }
  w = RunSlablog({"write", "--format", "raw", "r.slog"}, raw, dir.dir());
  CHECK(w.exit_code == 0);
  r = ReadAll(dir.path("r.slog"));
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[2].payload == std::string("\0\1\2", 3));
  w = RunSlablog({"write", "--format", "raw", "t.slog"}, raw + std::string("\x10\0\0\0abc", 7), dir.dir());
  CHECK(w.exit_code == 1);
  CHECK(w.err.find("ends inside a raw record") != std::string::npos);
  CHECK(ReadAll(dir.path("t.slog")).records.size() == 3);
}

TEST_CASE("CliWriteSyncsEveryDurationOrSize") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 3000; ++i) input += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'p') + "\"}\n";
  RunResult w = RunSlablog({"write", "--sync-every", "5ms", "--sync-every-bytes", "4K", "--slab-size", "256K",
                            "--section-size", "16K", "s.slog"}, input, dir.dir());
  CHECK_MESSAGE(w.exit_code == 0, w.err);
  ReadResult r = ReadAll(dir.path("s.slog"));
  CHECK(r.summary.clean);
  REQUIRE(r.records.size() == 3000);
  CHECK(r.records[2999].payload.find("\"i\":2999") != std::string::npos);
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--sync-every", "soon"}, {"--sync-every", "0s"},
        {"--sync-every-bytes", "lots"}, {"--sync-every-bytes", "0"}}) {
    std::vector<std::string> args = {"write"};
    args.insert(args.end(), bad.begin(), bad.end());
    args.push_back("bad.slog");
    RunResult refused = RunSlablog(args, "{}\n", dir.dir());
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find(bad[0]) != std::string::npos);
  }
}

TEST_CASE("CliWriteRefusesToOverwriteAndAppends") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "x.slog"}, "1\n", dir.dir()).exit_code == 0);
  RunResult again = RunSlablog({"write", "x.slog"}, "2\n", dir.dir());
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("--append") != std::string::npos);
  CHECK(RunSlablog({"write", "--append", "x.slog"}, "2\n", dir.dir()).exit_code == 0);
  ReadResult r = ReadAll(dir.path("x.slog"));
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[1].payload == "2");
}

TEST_CASE("CliWriteRecyclesARetiredLog") {
  TempDir dir;
  auto lines = [](int n, const std::string& tag) {
    std::string input;
    for (int i = 0; i < n; ++i) input += "{\"" + tag + "\":" + std::to_string(i) + ",\"pad\":\"" + std::string(200, 'p') + "\"}\n";
    return input;
  };
  const std::vector<std::string> small = {"--slab-size", "64K", "--section-size", "8K"};
  auto args = [&](std::vector<std::string> a) {
    a.insert(a.begin() + 1, small.begin(), small.end());
    return a;
  };
  REQUIRE(RunSlablog(args({"write", "old.slog"}), lines(3000, "old"), dir.dir()).exit_code == 0);
  const size_t old_slabs = ListSlabFiles(dir.path("old.slog")).size();
  REQUIRE(old_slabs > 8);
  const std::string input = lines(1000, "new");
  RunResult w = RunSlablog(args({"write", "--recycle", "old.slog", "new.slog"}), input, dir.dir());
  CHECK_MESSAGE(w.exit_code == 0, w.err);
  const size_t new_slabs = ListSlabFiles(dir.path("new.slog")).size();
  REQUIRE(new_slabs > 2);
  CHECK(ListSlabFiles(dir.path("old.slog")).size() == old_slabs - new_slabs);  // taken, not copied
  CHECK(RunSlablog({"verify", "new.slog"}, "", dir.dir()).exit_code == 0);
  RunResult e = RunSlablog({"export", "--stream", "default", "new.slog"}, "", dir.dir());
  REQUIRE(e.exit_code == 0);
  CHECK(Lines(e.out).size() == 1000);
  CHECK(e.out.find("\"old\"") == std::string::npos);
  // A log cannot take its own files.
  RunResult self = RunSlablog({"write", "--recycle", "x.slog", "x.slog"}, "1\n", dir.dir());
  CHECK(self.exit_code == 2);
  CHECK(self.err.find("own slabs") != std::string::npos);
}

TEST_CASE("CliManySmallSlabs") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 3000; ++i) input += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'p') + "\"}\n";
  RunResult w = RunSlablog({"write", "--slab-size", "64K", "--section-size", "8K", "m.slog"}, input, dir.dir());
  CHECK(w.exit_code == 0);
  RunResult i = RunSlablog({"info", "--json", "m.slog"}, "", dir.dir());
  auto j = nlohmann::json::parse(i.out);
  CHECK(j["slabs"].get<int>() > 5);
  CHECK(j["records"] == 3000);
  CHECK(RunSlablog({"write", "--slab-size", "12Q", "n.slog"}, "", dir.dir()).exit_code == 2);
  CHECK(RunSlablog({"write", "--slab-size", "8K", "--section-size", "8K", "n.slog"}, "", dir.dir()).exit_code == 2);
}

TEST_CASE("CliBadInputGetsAClearMessageAndCode") {
  TempDir dir;
  WriteFile(dir.path("junk.bin"), std::string(5000, 'j'));
  WriteFile(dir.path("empty.slog"), "");
  RunResult r = RunSlablog({"info", "missing.slog"}, "", dir.dir());
  CHECK(r.exit_code == 3);
  CHECK(r.err.rfind("slablog info: missing.slog: no such log", 0) == 0);
  r = RunSlablog({"info", dir.dir()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is a directory") != std::string::npos);
  r = RunSlablog({"dump", "junk.bin"}, "", dir.dir());
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("slablog dump: junk.bin: not a slablog log", 0) == 0);
  r = RunSlablog({"info", "empty.slog"}, "", dir.dir());
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("empty") != std::string::npos);
  // Usage errors too name the subcommand, like every other message.
  r = RunSlablog({"info", "--bogus", "x"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("slablog info: ", 0) == 0);
  CHECK(r.err.find("--bogus") != std::string::npos);
  r = RunSlablog({"split", "x.slog", "--by", "stream"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("slablog split: --out is required", 0) == 0);
  r = RunSlablog({"verfiy", "x.slog"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("slablog: unknown command 'verfiy'", 0) == 0);
  CHECK(r.err.find("did you mean 'verify'?") != std::string::npos);  // a typo: the command meant
  CHECK(RunSlablog({}).exit_code == 2);
}

TEST_CASE("CliDumpListsFramesAndProblems") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "--format", "lines", "d.slog"}, "hello\nworld\n", dir.dir()).exit_code == 0);
  RunResult d = RunSlablog({"dump", "--hex", "d.slog"}, "", dir.dir());
  CHECK(d.exit_code == 0);
  CHECK(d.out.find("frame @") != std::string::npos);
  CHECK(d.out.find("\"hello\"") != std::string::npos);
  CHECK(d.out.find("defines stream 1 'default' encoding text") != std::string::npos);
  CHECK(d.out.find("6865 6c6c 6f") != std::string::npos);  // hexdump of "hello"
  CHECK(d.out.find("end: 1 slab, closed cleanly, 0 problems") != std::string::npos);
  const FrameLoc f = FindFrame(dir.path("d.slog"), "default", FragmentKind::kFull, 0);
  FlipBit(f.file, f.offset + kFrameHeaderSize, 0);
  d = RunSlablog({"dump", "d.slog"}, "", dir.dir());
  CHECK(d.exit_code == 1);
  CHECK(d.out.find("crc BAD") != std::string::npos);
  CHECK(d.out.find("!! ") != std::string::npos);
  CHECK(d.err.rfind("slablog dump: ", 0) == 0);
  // info sums closed sections from their headers without reading frames: it still counts both
  // records (finding payload damage is verify's job).
  RunResult info = RunSlablog({"info", "d.slog"}, "", dir.dir());
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("records:  2 in 1 stream") != std::string::npos);
}

TEST_CASE("CliClosedPipeIsQuiet") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 20000; ++i) input += std::to_string(i) + "\n";
  REQUIRE(RunSlablog({"write", "--format", "lines", "p.slog"}, input, dir.dir()).exit_code == 0);
  RunResult r = RunShell("slablog dump p.slog | head -n 1; echo \"rc=${PIPESTATUS[0]}\"", dir.dir());
  CHECK(r.err.empty());
  CHECK(r.out.rfind("slab 0", 0) == 0);
  CHECK(r.out.find("\nrc=0\n") != std::string::npos);
}

TEST_CASE("CliWriteRecordsAreVisibleAsTheyArrive") {
  // A slow producer: each record must be in the log (readable by another process) while the
  // writer is still waiting for more input, and SIGTERM must close the log cleanly.
  TempDir dir;
  PipedSlablog writer({"write", "--format", "lines", "live.slog"}, dir.dir());
  auto records_now = [&] {
    ReadResult r = ReadAll(dir.path("live.slog"));
    return r.opened ? r.records.size() : size_t{0};
  };
  for (int i = 1; i <= 3; ++i) {
    const std::string line = "reading " + std::to_string(i) + "\n";
    writer.Send(line);
    size_t seen = 0;
    WaitUntil([&] { return (seen = records_now()) >= static_cast<size_t>(i); });
    CHECK(seen == static_cast<size_t>(i));
  }
  CHECK_FALSE(ReadAll(dir.path("live.slog")).summary.clean);
  const int status = writer.Stop(SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ReadResult r = ReadAll(dir.path("live.slog"));
  CHECK(r.summary.clean);
  CHECK(r.records.size() == 3);
  CHECK(r.reporter.events.empty());
}

TEST_CASE("CliHelpAndVersion") {
  RunResult v = RunSlablog({"--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out.rfind("slablog ", 0) == 0);
  RunResult h = RunSlablog({"--help"});
  CHECK(h.exit_code == 0);
  CHECK(h.out.find("Exit codes") != std::string::npos);
  CHECK(RunSlablog({"write", "--help"}).out.find("--stream-field") != std::string::npos);
}

}  // namespace slablog::test
