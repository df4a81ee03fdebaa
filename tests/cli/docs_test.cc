// Every subcommand and option that --help shows must be in the man page and in each completion
// file, so that new commands keep them complete.
#include <doctest/doctest.h>

#include <set>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || c == '-'; }

// The names listed under "Subcommands:" in `slablog --help` (lines "  NAME   description").
std::set<std::string> Subcommands() {
  const std::string help = RunSlablog({"--help"}).out;
  const auto section = help.find("Subcommands:");
  REQUIRE(section != std::string::npos);
  std::set<std::string> out;
  for (size_t at = help.find("\n  ", section); at != std::string::npos; at = help.find("\n  ", at + 1)) {
    size_t end = at + 3;
    while (end < help.size() && IsNameChar(help[end])) ++end;
    if (end > at + 3 && end < help.size() && help[end] == ' ') out.insert(help.substr(at + 3, end - at - 3));
  }
  return out;
}

// Every "--name" in `slablog COMMAND --help`.
std::set<std::string> LongOptions(const std::string& command) {
  const std::string help = RunSlablog({command, "--help"}).out;
  std::set<std::string> out;
  for (size_t at = help.find("--"); at != std::string::npos; at = help.find("--", at + 2)) {
    size_t end = at + 2;
    while (end < help.size() && IsNameChar(help[end])) ++end;
    if (end > at + 2 && help[at + 2] != '-') out.insert(help.substr(at + 2, end - at - 2));
  }
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
