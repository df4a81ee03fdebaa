#include "process.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../testutil.h"

namespace slablog::test {
namespace {

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

RunResult RunLine(const std::string& line, const std::string& input, const std::string& cwd) {
  TempDir io;
  WriteFile(io.path("in"), input);
  const std::string cmd = "cd " + Quote(cwd) + " && PATH=" + Quote(std::string(SLABLOG_BIN_DIR)) +
                          ":\"$PATH\" bash -c " + Quote(line) + " < " + Quote(io.path("in")) + " > " +
                          Quote(io.path("out")) + " 2> " + Quote(io.path("err"));
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(io.path("out"));
  r.err = Slurp(io.path("err"));
  return r;
}

}  // namespace

std::string SlablogBinary() { return SLABLOG_BIN; }
std::string SourceDir() { return SLABLOG_SOURCE_DIR; }

RunResult RunSlablog(const std::vector<std::string>& args, const std::string& input,
                     const std::string& cwd) {
  std::string line = Quote(SlablogBinary());
  for (const auto& a : args) line += " " + Quote(a);
  return RunLine(line, input, cwd);
}

RunResult RunShell(const std::string& command_line, const std::string& cwd) {
  return RunLine(command_line, "", cwd);
}

}  // namespace slablog::test
