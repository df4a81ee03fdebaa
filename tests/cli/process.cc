#include "process.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

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

RunResult RunOnTerminal(const std::vector<std::string>& args, const std::string& cwd,
                        const TerminalOptions& options) {
  TempDir io;
  const std::string out_path = io.path("out");
  termios raw{};
  cfmakeraw(&raw);
  int terminal = -1, child_side = -1;
  REQUIRE(openpty(&terminal, &child_side, nullptr, &raw, nullptr) == 0);
  std::vector<std::string> argv_strings = {"slablog"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null_in = open("/dev/null", O_RDONLY);
    int out = options.stdout_on_terminal ? child_side : open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (options.stdout_into_pipe) {
      int fds[2];
      if (pipe(fds) != 0) _exit(126);
      if (fork() == 0) {  // the reader: cat into the file
        dup2(fds[0], 0);
        dup2(out, 1);
        close(fds[1]);
        execl("/bin/cat", "cat", static_cast<char*>(nullptr));
        _exit(127);
      }
      close(fds[0]);
      out = fds[1];
    }
    if (null_in < 0 || out < 0) _exit(126);
    dup2(null_in, 0);
    dup2(out, 1);
    dup2(child_side, 2);
    close(terminal);
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm", 1);
    for (const std::string& e : options.env) putenv(const_cast<char*>(e.c_str()));
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execv(SLABLOG_BIN, argv.data());
    _exit(127);
  }
  close(child_side);
  RunResult r;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(terminal, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EIO once the child's side is closed: it has exited
    r.err.append(buf, static_cast<size_t>(n));
  }
  close(terminal);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!options.stdout_on_terminal) r.out = Slurp(out_path);
  return r;
}

std::vector<std::string> ScreenLines(const std::string& bytes) {
  std::vector<std::string> lines;
  std::string line;
  size_t cursor = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
      cursor = 0;
    } else if (c == '\r') {
      cursor = 0;
    } else if (c == '\033' && i + 1 < bytes.size() && bytes[i + 1] == '[') {
      size_t end = i + 2;
      while (end < bytes.size() && (bytes[end] < '@' || bytes[end] > '~')) ++end;
      if (end < bytes.size() && bytes[end] == 'K') line.resize(cursor);
      i = end;
    } else {
      if (cursor < line.size()) {
        line[cursor] = c;
      } else {
        line.push_back(c);
      }
      ++cursor;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
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
