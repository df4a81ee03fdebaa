#include "process.h"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

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

PipedSlablog::PipedSlablog(const std::vector<std::string>& args, const std::string& cwd) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::vector<std::string> argv_strings = {"slablog"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    dup2(fds[0], 0);
    close(fds[1]);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execv(SLABLOG_BIN, argv.data());
    _exit(127);
  }
  close(fds[0]);
  input_ = fds[1];
}

PipedSlablog::~PipedSlablog() {
  if (pid_ > 0) Stop(SIGKILL);
}

void PipedSlablog::Send(const std::string& bytes) {
  REQUIRE(write(input_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

int PipedSlablog::Stop(int signal) {
  int status = 0;
  kill(pid_, signal);
  waitpid(pid_, &status, 0);
  close(input_);
  pid_ = input_ = -1;
  return status;
}

}  // namespace slablog::test
