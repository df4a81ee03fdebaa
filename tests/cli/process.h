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
// The lines of a command's output, without their newlines.
std::vector<std::string> Lines(const std::string& text);
std::string SourceDir();

// `slablog ARGS...` running in `cwd` with a pipe on its standard input that the test feeds, for
// commands that read input as it arrives. The process is killed if still running at the end.
class PipedSlablog {
 public:
  PipedSlablog(const std::vector<std::string>& args, const std::string& cwd);
  ~PipedSlablog();
  PipedSlablog(const PipedSlablog&) = delete;
  PipedSlablog& operator=(const PipedSlablog&) = delete;

  void Send(const std::string& bytes);
  // Sends `signal` and waits; returns the wait status.
  int Stop(int signal);

 private:
  int pid_ = -1;
  int input_ = -1;
};

}  // namespace slablog::test
