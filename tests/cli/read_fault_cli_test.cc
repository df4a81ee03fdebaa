// A slab cut short under a running verify, export and recover: each reports the file and offset
// as an io-error and exits 3 (recover after salvaging the rest); none dies by SIGBUS.
//
// To cut the file while the command runs, not before or after it: the test holds the trim lock of
// the log's last slab, which a reader takes (waiting) after it has mapped the slabs before it.
// Once slab 0 is mapped, slab 0 is cut short; then the lock is let go and the command reads on.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

// A log of three slabs of 256 KiB.
void WriteThreeSlabs(const std::string& base) {
  WriterOptions o = SmallOptions();
  o.slab_size = 256 << 10;
  std::vector<std::pair<std::string, std::string>> rs;
  for (int i = 0; i < 180; ++i) rs.emplace_back(i % 2 ? "a" : "b", std::string(3000, static_cast<char>('a' + i % 26)));
  WriteLog(base, o, rs);
}

bool Mapped(pid_t pid, const std::string& path) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) return true;
  }
  return false;
}

struct Outcome {
  int status = 0;
  std::string err;
};

// Runs `slablog ARGS` in `dir` and cuts `victim` to `cut` bytes once the command has it mapped and
// waits for the trim lock of `last`.
Outcome RunAndCut(const std::vector<std::string>& args, const std::string& dir,
                  const std::string& victim, uint64_t cut, const std::string& last) {
  const int lock_fd = ::open(last.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(lock_fd >= 0);
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  lk.l_start = 1;
  lk.l_len = 1;
  REQUIRE(fcntl(lock_fd, F_OFD_SETLK, &lk) == 0);
  const std::string err_path = dir + "/stderr.txt";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int out = ::open("/dev/null", O_WRONLY);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || chdir(dir.c_str()) != 0) _exit(100);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv{const_cast<char*>("slablog")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SlablogBinary().c_str(), argv.data());
    _exit(101);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!Mapped(pid, victim) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const bool mapped = Mapped(pid, victim);
  ShrinkSize(victim, cut);
  ::close(lock_fd);  // lets the command go on
  Outcome o;
  REQUIRE(waitpid(pid, &o.status, 0) == pid);
  REQUIRE(mapped);
  o.err = ReadFile(err_path);
  return o;
}

// The io-error names the file and a page-aligned offset at or past the cut where a read failed
// (the first page wholly past the new end, or a later one: a reader that drops the rest of a
// section after the zeros spoil a frame first touches the next section's header).
void CheckIoExit(const Outcome& o, const std::string& cmd, const std::string& victim, uint64_t cut) {
  INFO(o.err);
  REQUIRE_FALSE(WIFSIGNALED(o.status));
  REQUIRE(WIFEXITED(o.status));
  CHECK(WEXITSTATUS(o.status) == 3);
  const std::string name = std::filesystem::path(victim).filename().string();
  // "slablog CMD: NAME: offset N: io-error: the file shrank or could not be read (I/O error) from
  // offset N" (parsed by hand: std::regex draws a false maybe-uninitialized warning from g++ 12
  // at -O1, which the sanitizer build treats as an error).
  const std::string head = "slablog " + cmd + ": " + name + ": offset ";
  const std::string middle = ": io-error: the file shrank or could not be read (I/O error) from offset ";
  const size_t io = o.err.find(middle);
  REQUIRE(io != std::string::npos);
  const size_t line_start = o.err.rfind('\n', io) == std::string::npos ? 0 : o.err.rfind('\n', io) + 1;
  const size_t h = o.err.find(head, line_start);
  REQUIRE(h == line_start);
  const size_t n1 = h + head.size();
  const size_t e1 = o.err.find_first_not_of("0123456789", n1);
  REQUIRE((e1 != std::string::npos && e1 > n1));
  REQUIRE(o.err.compare(e1, middle.size(), middle) == 0);
  const size_t n2 = e1 + middle.size();
  const size_t e2 = o.err.find_first_not_of("0123456789", n2);
  const std::string first = o.err.substr(n1, e1 - n1);
  const std::string second = o.err.substr(n2, (e2 == std::string::npos ? o.err.size() : e2) - n2);
  const uint64_t at = std::stoull(first);
  CHECK(second == first);
  CHECK(at % 4096 == 0);
  CHECK(at >= (cut + 4095) / 4096 * 4096);
  CHECK(at < (uint64_t{256} << 10));
}

TEST_CASE("CliReadFault: a slab cut short under a running verify, export or recover") {
  constexpr uint64_t kCut = 100000;
  for (const std::string cmd : {"verify", "export", "recover"}) {
    CAPTURE(cmd);
    TempDir dir;
    const std::string base = dir.path("run.slog");
    WriteThreeSlabs(base);
    const auto slabs = ListSlabFiles(base);
    REQUIRE(slabs.size() == 3);
    const std::string victim = slabs[0].second;
    std::vector<std::string> args{cmd, "run.slog"};
    if (cmd == "recover") args.push_back("saved.slog");
    const Outcome o = RunAndCut(args, dir.dir(), victim, kCut, slabs.back().second);
    CheckIoExit(o, cmd, victim, kCut);
    if (cmd == "recover") {
      // It went on past the fault: the records of the slabs after it are in the new log.
      RunResult info = RunSlablog({"info", "saved.slog"}, "", dir.dir());
      CHECK(info.exit_code == 0);
      ReadResult saved = ReadAll(dir.path("saved.slog"));
      REQUIRE(saved.opened);
      CHECK(saved.records.size() > 90);
      CHECK(saved.records.size() < 180);
    }
  }
}

}  // namespace
}  // namespace slablog::test
