// What a user at a terminal sees: progress bars that never leave text after them on a line,
// colour only on a terminal (and never with NO_COLOR), info lines that fit 100 columns, and
// "did you mean" for typos. Standard error goes to a pseudo-terminal (RunOnTerminal).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

const std::string kNoDelay = "SLABLOG_PROGRESS_DELAY_MS=0";

// 5000 records of two streams with wall-clock times, in many sections of two slabs: more than
// merge's 4096 records between progress updates.
std::string RobotInput() {
  std::string in;
  for (int i = 0; i < 5000; ++i) {
    in += "{\"topic\":\"" + std::string(i % 3 ? "imu" : "gps") + "\",\"t\":" +
          std::to_string(1764000000000000000 + int64_t{i} * 1000000) + ",\"v\":" + std::to_string(i) + "}\n";
  }
  return in;
}

void WriteRobotLog(const TempDir& dir, const std::string& log) {
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "--slab-size", "256K",
                      "--section-size", "8K", log}, RobotInput(), dir.dir()).exit_code == 0);
}

// A bar ("CMD [###...") never stays on a line that a terminal shows: it is erased before any
// other text, so none of it is left with text after it, nor at the end.
void CheckNoBarLeft(const std::string& terminal, const std::string& command) {
  for (const std::string& line : ScreenLines(terminal)) {
    CAPTURE(line);
    CHECK(line.find(command + " [") == std::string::npos);
  }
}

bool HasColour(const std::string& bytes) {
  return bytes.find("\033[31m") != std::string::npos || bytes.find("\033[32m") != std::string::npos;
}

}  // namespace

TEST_CASE("TtyVerifyProgressIsErasedBeforeTheSummary") {
  TempDir dir;
  WriteRobotLog(dir, "run.slog");
  TerminalOptions both;
  both.stdout_on_terminal = true;
  both.env = {kNoDelay};
  const RunResult r = RunOnTerminal({"verify", "run.slog"}, dir.dir(), both);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("verify [") != std::string::npos);  // the bar was drawn
  CheckNoBarLeft(r.err, "verify");
  const std::vector<std::string> lines = ScreenLines(r.err);
  REQUIRE(!lines.empty());
  CHECK(lines[0].rfind("run.slog: 5000 records", 0) == 0);  // the summary starts its line
}

TEST_CASE("TtyEveryLongCommandShowsProgressAndErasesIt") {
  TempDir dir;
  WriteRobotLog(dir, "run.slog");
  // Damage early in the log, so that problems are printed while a bar is up.
  const FrameLoc early = FindFrame(dir.path("run.slog"), "imu", FragmentKind::kFull, 2);
  FlipBit(early.file, early.offset + kFrameHeaderSize + 1, 0);
  struct Case {
    std::string command;
    std::vector<std::string> args;
  };
  for (const Case& c : {Case{"verify", {"verify", "run.slog"}},
                        Case{"export", {"export", "run.slog"}},
                        Case{"export", {"export", "--format", "csv", "run.slog"}},
                        Case{"export", {"export", "--format", "mcap", "--force", "-o", "out.mcap", "run.slog"}},
                        Case{"split", {"split", "run.slog", "-o", "pieces"}},
                        Case{"merge", {"merge", "merged.slog", "run.slog"}},
                        Case{"recover", {"recover", "run.slog", "saved.slog"}}}) {
    CAPTURE(c.command);
    SUBCASE("on a terminal, with no delay: drawn, then erased") {
      TerminalOptions tty;
      tty.env = {kNoDelay};
      const RunResult r = RunOnTerminal(c.args, dir.dir(), tty);
      CHECK(r.exit_code == 1);  // the damage
      CHECK(r.err.find(c.command + " [") != std::string::npos);
      CheckNoBarLeft(r.err, c.command);
      CHECK(r.err.find("checksum") != std::string::npos);
    }
    SUBCASE("on a terminal, as usual: work of less than a second shows no bar") {
      const RunResult r = RunOnTerminal(c.args, dir.dir());
      CHECK(r.err.find(c.command + " [") == std::string::npos);
    }
    SUBCASE("standard error not a terminal: nothing drawn") {
      std::string line = kNoDelay + " slablog";
      for (const std::string& a : c.args) line += " " + a;
      const RunResult r = RunShell(line, dir.dir());
      CHECK(r.exit_code == 1);
      CHECK(r.err.find('\r') == std::string::npos);
      CHECK(r.err.find(c.command + " [") == std::string::npos);
    }
  }
}

TEST_CASE("TtyNoBarWhereItCouldShareTheTerminalOrCannotBeErased") {
  TempDir dir;
  WriteRobotLog(dir, "run.slog");
  // export into a pipe: what reads it (head, jq) may print to this terminal, through the bar.
  TerminalOptions piped;
  piped.stdout_into_pipe = true;
  piped.env = {kNoDelay};
  RunResult r = RunOnTerminal({"export", "run.slog"}, dir.dir(), piped);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("export [") == std::string::npos);
  CHECK(Lines(r.out).size() == 5000);
  // Into a file: shown.
  TerminalOptions file;
  file.env = {kNoDelay};
  CHECK(RunOnTerminal({"export", "run.slog"}, dir.dir(), file).err.find("export [") != std::string::npos);
  // TERM=dumb has no ESC [ K to erase a bar with.
  TerminalOptions dumb;
  dumb.env = {kNoDelay, "TERM=dumb"};
  r = RunOnTerminal({"verify", "run.slog"}, dir.dir(), dumb);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find('\033') == std::string::npos);
}

TEST_CASE("TtyInfoSpanOfTheWholeTimeRange") {
  TempDir dir;
  const std::string in = "{\"topic\":\"a\",\"t\":-9223372036854775808}\n{\"topic\":\"a\",\"t\":9223372036854775807}\n";
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "ends.slog"}, in, dir.dir()).exit_code == 0);
  const RunResult r = RunSlablog({"info", "ends.slog"}, "", dir.dir());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("-9223372036854775808 .. 9223372036854775807 (18446744073.710 s)") != std::string::npos);
}

TEST_CASE("TtyProblemsAreRedOnlyOnATerminalWithoutNoColor") {
  TempDir dir;
  WriteRobotLog(dir, "run.slog");
  WriteRobotLog(dir, "bad.slog");
  const FrameLoc early = FindFrame(dir.path("bad.slog"), "imu", FragmentKind::kFull, 2);
  FlipBit(early.file, early.offset + kFrameHeaderSize + 1, 0);

  const RunResult red = RunOnTerminal({"verify", "bad.slog"}, dir.dir());
  CHECK(red.exit_code == 1);
  CHECK(red.err.find("slablog verify: \033[31mbad_0.slog: offset") != std::string::npos);
  TerminalOptions both;
  both.stdout_on_terminal = true;
  CHECK(RunOnTerminal({"verify", "run.slog"}, dir.dir(), both).err.find("\033[32mclosed cleanly\033[0m") !=
        std::string::npos);

  TerminalOptions no_color;
  no_color.stdout_on_terminal = true;
  no_color.env = {"NO_COLOR=1", kNoDelay};
  const RunResult plain = RunOnTerminal({"verify", "bad.slog"}, dir.dir(), no_color);
  CHECK(plain.exit_code == 1);
  CHECK(plain.err.find("slablog verify: bad_0.slog: offset") != std::string::npos);
  CHECK(!HasColour(plain.err));

  // Into files and pipes: not one escape code, on stdout or stderr.
  for (const char* log : {"bad.slog", "run.slog"}) {
    const RunResult piped = RunShell(std::string("slablog verify ") + log + " 2>&1 | cat", dir.dir());
    CHECK(piped.out.find("records") != std::string::npos);
    CHECK(piped.out.find('\033') == std::string::npos);
  }
}

TEST_CASE("TtyDemoWritesNoEscapeCodesIntoAFile") {
  const RunResult r = RunShell("SLABLOG_BIN=" + SlablogBinary() + " " + SourceDir() + "/scripts/demo");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("$ slablog info robot.slog") != std::string::npos);
  CHECK(r.out.find('\033') == std::string::npos);
}

TEST_CASE("TtyInfoLinesFitOneHundredColumns") {
  TempDir dir;
  // Many streams, long names (ASCII and not), wall-clock times.
  std::string in;
  const std::vector<std::string> names = {"imu", std::string(60, 'n'), "/robot/arm/left/joint_states/effort/filtered",
                                          "caméra/avant/très/longue/image_compressée"};
  for (int i = 0; i < 400; ++i) {
    in += "{\"topic\":\"" + names[static_cast<size_t>(i) % names.size()] + "\",\"t\":" +
          std::to_string(1764000000000000000 + int64_t{i} * 1000000) + "}\n";
  }
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "many.slog"}, in, dir.dir()).exit_code == 0);
  // A ring that reused slabs, with wall-clock times.
  std::string ring;
  for (int i = 0; i < 20000; ++i) {
    ring += "{\"topic\":\"gps\",\"t\":" + std::to_string(1764000000000000000 + int64_t{i} * 1000000) +
            ",\"pad\":\"" + std::string(100, 'p') + "\"}\n";
  }
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "--slab-size", "64K",
                      "--section-size", "8K", "--ring", "256K", "ring.slog"}, ring, dir.dir()).exit_code == 0);
  const std::string fixtures = SourceDir() + "/tests/fixtures/";
  for (const std::string& log : {dir.path("many.slog"), dir.path("ring.slog"),
                                 fixtures + "copper/crash_multislab/crash_multislab.copper",
                                 fixtures + "copper-v1/multislab/multislab_7.copper"}) {
    CAPTURE(log);
    const RunResult r = RunSlablog({"info", log}, "", dir.dir());
    CHECK(r.exit_code == 0);
    CHECK(Lines(r.out).size() > 3);
    for (const std::string& line : Lines(r.out)) {
      size_t columns = 0;
      for (char c : line) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      // A path is printed whole, on a line of its own if need be: the fixtures' are as long as
      // the directory of the sources makes them.
      std::string rest = line;
      if (rest.find(':') < 10) rest = rest.substr(rest.find(':') + 1);  // "log:      PATH"
      rest.erase(0, rest.find_first_not_of(' '));
      const bool one_word = rest.find(' ') == std::string::npos;
      CAPTURE(line);
      CHECK((columns <= 100 || one_word));
    }
  }
  const RunResult many = RunSlablog({"info", "many.slog"}, "", dir.dir());
  CHECK(many.out.find("/robot/arm/left/joint_s\u2026") != std::string::npos);  // cut at 24 columns
  CHECK(many.out.find("ring:") == std::string::npos);
  CHECK(RunSlablog({"info", "ring.slog"}, "", dir.dir()).out.find("ring:") != std::string::npos);
}

TEST_CASE("TtyDidYouMean") {
  TempDir dir;
  RunResult r = RunSlablog({"verfy", "x.slog"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("slablog: unknown command 'verfy'; did you mean 'verify'?") != std::string::npos);
  r = RunSlablog({"export", "--stram", "imu", "x.slog"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("slablog export: unknown option '--stram'; did you mean '--stream'?") != std::string::npos);
  r = RunSlablog({"export", "x.slog", "--limt=3"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown option '--limt'; did you mean '--limit'?") != std::string::npos);
  r = RunSlablog({"splti", "x.slog"});  // two letters swapped
  CHECK(r.err.find("did you mean 'split'?") != std::string::npos);
  // Nothing close: the list of commands, and no guess.
  r = RunSlablog({"frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("did you mean") == std::string::npos);
  CHECK(r.err.find("the commands are") != std::string::npos);
  r = RunSlablog({"verify", "--zzzzzz", "x.slog"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("did you mean") == std::string::npos);
}

}  // namespace slablog::test
