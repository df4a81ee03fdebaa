// Every subcommand and option that --help shows must be in the man page and in each completion
// file, so that new commands keep them complete.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

std::set<std::string> Subcommands() {
  const std::string help = RunSlablog({"--help"}).out;
  const auto section = help.find("Subcommands:");
  REQUIRE(section != std::string::npos);
  std::set<std::string> out;
  std::regex line(R"(\n  ([a-z][a-z-]*)\s)");
  for (std::sregex_iterator it(help.begin() + static_cast<std::ptrdiff_t>(section), help.end(), line), end; it != end; ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

std::set<std::string> LongOptions(const std::string& command) {
  const std::string help = RunSlablog({command, "--help"}).out;
  std::set<std::string> out;
  std::regex option(R"(--([a-z][a-z-]*))");
  for (std::sregex_iterator it(help.begin(), help.end(), option), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

}  // namespace

TEST_CASE("HelpMatchesManPageAndCompletions") {
  const std::string man = ReadFile(SourceDir() + "/man/slablog.1");
  const std::string bash = ReadFile(SourceDir() + "/completions/slablog.bash");
  const std::string zsh = ReadFile(SourceDir() + "/completions/_slablog");
  const std::string fish = ReadFile(SourceDir() + "/completions/slablog.fish");
  const auto commands = Subcommands();
  CHECK(commands.size() >= 3);
  for (const std::string& cmd : commands) {
    CAPTURE(cmd);
    CHECK(man.find(".SS slablog " + cmd) != std::string::npos);
    CHECK(bash.find(cmd) != std::string::npos);
    CHECK(zsh.find("'" + cmd + ":") != std::string::npos);
    CHECK(fish.find("-a " + cmd) != std::string::npos);
    for (const std::string& opt : LongOptions(cmd)) {
      CAPTURE(opt);
      std::string escaped;
      for (char c : opt) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
      CHECK(man.find("\\-\\-" + escaped) != std::string::npos);
      CHECK(bash.find("--" + opt) != std::string::npos);
      CHECK(zsh.find("--" + opt) != std::string::npos);
      CHECK(fish.find("-l " + opt) != std::string::npos);
    }
  }
}

}  // namespace slablog::test
