// New logs' names are checked and made under one short directory lock (NewLogLock): new logs
// named like slabs of one log are all made at once, an append is never refused for them, and
// every path that names a new log (write, compress, split, merge) waits for that lock.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli/process.h"
#include "io_faults.h"
#include "slablog/compressed_writer.h"
#include "slablog/format.h"
#include "slablog/new_log_lock.h"
#include "slablog/writer.h"
#include "testutil.h"

namespace slablog::test {
namespace {
namespace fs = std::filesystem;

// Runs `make(i)` for i in 0..n-1, each on its own thread, all let go at the same instant.
template <typename Make>
void AtOnce(int n, Make make) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < n) {
      }
      make(i);
    });
  }
  for (auto& t : threads) t.join();
}

// Whether `path` appears within `seconds` (checked every 10 ms).
bool AppearsWithin(const std::string& path, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fs::exists(path);
}

}  // namespace

// da8565a made robot_1.slog's writer take robot.slog's log lock without waiting: robot_2.slog's,
// taking the same lock at the same moment, failed ("a writer of the log robot.slog ... has this
// log open"), though neither name has anything to do with the other.
TEST_CASE("TwoNewLogsNamedLikeSlabsOfOneLogAreBothMadeAtOnce") {
  int failed = 0;
  std::string why;
  for (int round = 0; round < 200; ++round) {
    TempDir dir;
    std::string errors[2];
    AtOnce(2, [&](int i) {
      auto w = Writer::Open(dir.path("robot_" + std::to_string(i + 1) + ".slog"), SmallOptions());
      if (!w) {
        errors[i] = w.error().message;
        return;
      }
      if (Status s = w.value()->Close(); !s) errors[i] = s.error().message;
    });
    for (const std::string& e : errors) {
      if (!e.empty()) {
        ++failed;
        why = e;
      }
    }
  }
  CHECK_MESSAGE(failed == 0, failed, " of 400 new logs refused, last: ", why);
}

// The same lock made an append of robot.slog fail ("another writer") while anyone tried to
// make robot_1.slog, which its name check refuses anyway (robot.slog exists).
TEST_CASE("AnAppendIsNeverRefusedWhileALogNamedLikeItsSlabIsTried") {
  TempDir dir;
  const std::string base = dir.path("robot.slog");
  WriteLog(base, SmallOptions(), {{"s", "first"}});
  std::atomic<bool> appending{true};
  int refused = 0, appends = 0, made = 0;
  std::string why;
  std::thread creator([&] {
    while (appending.load()) {
      auto w = Writer::Open(dir.path("robot_1.slog"), SmallOptions());
      if (w) {
        ++made;
        (void)w.value()->Close();
      }
    }
  });
  for (; appends < 300; ++appends) {
    WriterOptions o = SmallOptions();
    o.append = true;
    auto w = Writer::Open(base, o);
    if (!w) {
      ++refused;
      why = w.error().message;
      continue;
    }
    auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
    REQUIRE(h);
    REQUIRE(w.value()->Append(h.value(), "more", appends).ok());
    REQUIRE(w.value()->Close().ok());
  }
  appending = false;
  creator.join();
  CHECK_MESSAGE(refused == 0, refused, " of ", appends, " appends refused, last: ", why);
  CHECK(made == 0);  // robot_1.slog is robot.slog's slab name: never a log of its own
}

// A compressed log is named only at Close. Its name was checked at Create alone: run.slog made
// in between (nothing was named run_1* yet) and then run_1_0.slog named at Close gave run_1.slog
// to two logs (run.slog's slab 1, once it grows, and the compressed log).
TEST_CASE("ACompressedLogIsNotNamedBesideALogMadeWhileItWasWritten") {
  TempDir dir;
  CompressedWriterOptions co;
  co.sync = false;
  auto packed = CompressedWriter::Create(dir.path("run_1.slog"), co);
  REQUIRE(packed);
  auto id = packed.value()->AddStream("s", Encoding::kBinary, 0);
  REQUIRE(id);
  const uint8_t payload[16] = {};
  REQUIRE(packed.value()->Append(*id, payload, 1).ok());
  auto plain = Writer::Open(dir.path("run.slog"), SmallOptions());
  REQUIRE(plain);
  REQUIRE(plain.value()->Close().ok());
  const Status closed = packed.value()->Close();
  const bool both = !ListSlabFiles(dir.path("run.slog")).empty() && !ListSlabFiles(dir.path("run_1.slog")).empty();
  CHECK_MESSAGE(!both, "run.slog and the compressed run_1.slog both exist");
  CHECK_FALSE(closed.ok());
}

// Every command that names a new log does so under the directory's NewLogLock: while the test
// holds it, nothing is named; once it lets go, the command goes on and succeeds.
TEST_CASE("EveryCommandNamesItsNewLogUnderTheDirectoryLock") {
  struct Case {
    std::vector<std::string> args;
    std::string made;  // a file the command names
  };
  const std::vector<Case> cases = {
      {{"write", "new.slog"}, "new_0.slog"},
      {{"merge", "merged.slog", "a.slog", "b.slog"}, "merged_0.slog"},
      {{"compress", "a.slog", "packed.slog"}, "packed_0.slog"},
      {{"split", "-o", ".", "a.slog"}, "a.default_0.slog"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    REQUIRE(RunSlablog({"write", "a.slog"}, "{\"s\":1}\n", dir.dir()).exit_code == 0);
    REQUIRE(RunSlablog({"write", "b.slog"}, "{\"s\":2}\n", dir.dir()).exit_code == 0);
    CAPTURE(c.args[0]);
    auto held = NewLogLock::Acquire({dir.path("x")});
    REQUIRE(held);
    RunResult result;
    std::thread command([&] { result = RunSlablog(c.args, "{\"s\":3}\n", dir.dir()); });
    const bool named_while_held = AppearsWithin(dir.path(c.made), 2.0);
    held.value().Release();
    command.join();
    CHECK_MESSAGE(!named_while_held, c.made, " was named while the directory lock was held");
    CHECK_MESSAGE(result.exit_code == 0, result.err);
    CHECK(fs::exists(dir.path(c.made)));
  }
}

namespace {

// For the test below: the first directory NewLogLock tries cannot be locked (as on NFS); every
// other one is locked by someone else, never let go. When a later one is tried, the first one's
// descriptor is closed: its number is taken at once, as another thread of the process would.
struct PassedOver {
  std::string dir;         // the directory that cannot be locked
  int fd = -1;             // the descriptor NewLogLock had open on it
  int reused = -1;         // the same number, open on /dev/null since
};
PassedOver g_passed_over;

int DescriptorOf(const std::string& dir) {
  const fs::path wanted = fs::canonical(dir);
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(entry.path(), ec) == wanted) return std::stoi(entry.path().filename().string());
  }
  return -1;
}

int OneDirectoryCannotBeLockedTheOthersAreHeld(io_faults::Op op, const char* path) {
  if (op != io_faults::Op::kFlockDirectory) return 0;
  PassedOver& p = g_passed_over;
  if (p.dir.empty()) {
    p.dir = path;
    p.fd = DescriptorOf(path);
  }
  if (p.dir == path) return ENOLCK;
  if (p.reused < 0 && p.fd >= 0) {
    std::vector<int> others;  // lower numbers free meanwhile are taken first
    for (int i = 0; i < 4096 && p.reused < 0; ++i) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      if (fd == p.fd) {
        p.reused = fd;
      } else {
        others.push_back(fd);
      }
    }
    for (const int fd : others) ::close(fd);
  }
  return EWOULDBLOCK;
}

}  // namespace

// NewLogLock closed the descriptor of a directory it could not lock, then, when a later
// directory's lock was not had in time, closed every descriptor it had opened: that number again,
// which by then may be another thread's (a writer's slab, and the lock on it).
TEST_CASE("ADirectoryPassedOverIsClosedOnlyOnceWhenALaterOneIsNotLockedInTime") {
  TempDir one, two;
  g_passed_over = PassedOver{};
  io_faults::SetHook(&OneDirectoryCannotBeLockedTheOthersAreHeld);
  auto naming = NewLogLock::Acquire({one.path("a.slog"), two.path("b.slog")});  // waits kWaitSeconds
  io_faults::SetHook(nullptr);
  CHECK_FALSE(naming);
  REQUIRE_MESSAGE(g_passed_over.fd >= 0, "no descriptor open on ", g_passed_over.dir);
  REQUIRE_MESSAGE(g_passed_over.reused >= 0, "descriptor ", g_passed_over.fd, " was not closed in time to be taken");
  CHECK_MESSAGE(::fcntl(g_passed_over.reused, F_GETFD) != -1,
                "descriptor ", g_passed_over.reused, ", closed by NewLogLock and open again since, was closed again");
  ::close(g_passed_over.reused);
}

}  // namespace slablog::test
