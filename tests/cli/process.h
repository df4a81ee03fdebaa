// Runs the built slablog binary for CLI tests: arguments, standard input, and what comes back.
#pragma once

#include <string>
#include <vector>

namespace slablog::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `slablog ARGS...` in `cwd` with `input` on standard input.
RunResult RunSlablog(const std::vector<std::string>& args, const std::string& input = "",
                     const std::string& cwd = ".");
// Runs a shell command line (for pipelines); "slablog" in it is the binary under test.
RunResult RunShell(const std::string& command_line, const std::string& cwd = ".");
std::string SlablogBinary();
std::string SourceDir();

}  // namespace slablog::test
