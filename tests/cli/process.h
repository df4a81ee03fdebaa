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

// How RunOnTerminal sets up the terminal side.
struct TerminalOptions {
  bool stdout_on_terminal = false;  // stdout too (as a user at a shell has it), else to a file
  bool stdout_into_pipe = false;    // stdout into a pipe read by cat (`slablog ... | cat >/dev/null`)
  // "NAME=value" added to the environment. NO_COLOR is removed and TERM is xterm unless set here.
  std::vector<std::string> env;
};

// Runs `slablog ARGS...` in `cwd` with its standard error on a pseudo-terminal (raw: no newline
// translation). `err` is every byte written to the terminal; `out` is stdout's when it is not on it.
RunResult RunOnTerminal(const std::vector<std::string>& args, const std::string& cwd,
                        const TerminalOptions& options = {});

// What a terminal would show of `bytes`, line by line: '\r' returns to the line's start, ESC [ K
// erases to its end, and other escape sequences (colours) take no room.
std::vector<std::string> ScreenLines(const std::string& bytes);

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
