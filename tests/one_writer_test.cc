// One writer per log: a second writer (new log, append, or recycling its slabs) is refused while
// the first has it open, and nothing of the first's is touched; truncate and writers exclude
// each other for the whole repair.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "slablog/log_lock.h"
#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

std::vector<std::string> AppendNumbered(Writer& w, StreamHandle h, const std::string& tag, int n) {
  std::vector<std::string> written;
  for (int i = 0; i < n; ++i) {
    written.push_back(tag + ":" + std::to_string(i));
    REQUIRE(w.Append(h, written.back(), i).ok());
  }
  return written;
}

std::vector<std::string> Payloads(const ReadResult& r, const std::string& stream) {
  std::vector<std::string> out;
  for (const auto& rec : r.OfStream(stream)) out.push_back(rec.payload);
  return out;
}

}  // namespace

TEST_CASE("ASecondWriterOfALogIsRefusedAndTheFirstKeepsItsRecords") {
  TempDir dir;
  const std::string base = dir.path("one.slog");
  auto first = Writer::Open(base, SmallOptions());
  REQUIRE(first);
  auto h = first.value()->OpenStream({"s", Encoding::kBinary, 0});
  REQUIRE(h);
  auto written = AppendNumbered(*first.value(), h.value(), "first", 500);

  for (const bool append : {false, true}) {
    CAPTURE(append);
    WriterOptions o = SmallOptions();
    o.append = append;
    auto second = Writer::Open(base, o);
    REQUIRE_FALSE(second);
    CHECK(second.error().code == Errc::kInvalidArgument);
    CHECK(Describe(second.error()).find("has this log open") != std::string::npos);
  }
  // The first goes on as if nothing happened.
  const auto more = AppendNumbered(*first.value(), h.value(), "later", 500);
  written.insert(written.end(), more.begin(), more.end());
  REQUIRE(first.value()->Sync().ok());
  REQUIRE(first.value()->Close().ok());
  ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  CHECK(Payloads(r, "s") == written);
  // Its lock file goes with it; a new writer may append now.
  CHECK_FALSE(std::filesystem::exists(LogLock::PathOf(base)));
  WriterOptions o = SmallOptions();
  o.append = true;
  auto again = Writer::Open(base, o);
  REQUIRE_MESSAGE(again, (again ? "" : Describe(again.error())));
  REQUIRE(again.value()->Close().ok());
}

TEST_CASE("TwoProcessesCreatingOneLogLeaveExactlyOneWinnerWithAllItsRecords") {
  const uint64_t rounds = 10 * TestScale();
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    TempDir dir;
    const std::string base = dir.path("race.slog");
    // Each child: 0 if it made the log and closed it with all its records, 2 if it was refused
    // at Open, anything else is a failure.
    pid_t pids[2];
    for (int c = 0; c < 2; ++c) {
      pids[c] = fork();
      REQUIRE(pids[c] >= 0);
      if (pids[c] == 0) {
        auto w = Writer::Open(base, SmallOptions());
        if (!w) _exit(w.error().code == Errc::kInvalidArgument ? 2 : 3);
        auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
        if (!h) _exit(4);
        for (int i = 0; i < 1000; ++i) {
          if (!w.value()->Append(h.value(), std::to_string(c) + ":" + std::to_string(i), i).ok()) _exit(5);
        }
        _exit(w.value()->Sync().ok() && w.value()->Close().ok() ? 0 : 6);
      }
    }
    int codes[2];
    for (int c = 0; c < 2; ++c) {
      int status = 0;
      REQUIRE(waitpid(pids[c], &status, 0) == pids[c]);
      REQUIRE(WIFEXITED(status));
      codes[c] = WEXITSTATUS(status);
    }
    CAPTURE(codes[0]);
    CAPTURE(codes[1]);
    REQUIRE(((codes[0] == 0 && codes[1] == 2) || (codes[0] == 2 && codes[1] == 0)));
    const int winner = codes[0] == 0 ? 0 : 1;
    std::vector<std::string> expected;
    for (int i = 0; i < 1000; ++i) expected.push_back(std::to_string(winner) + ":" + std::to_string(i));
    ReadResult r = ReadAll(base);
    CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
    CHECK(r.summary.clean);
    CHECK(Payloads(r, "s") == expected);
  }
}

TEST_CASE("WritersAndTruncateExcludeEachOtherForTheWholeRepair") {
  TempDir dir;
  const std::string base = dir.path("t.slog");
  {
    auto w = Writer::Open(base, SmallOptions());
    REQUIRE(w);
    auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
    REQUIRE(h);
    AppendNumbered(*w.value(), h.value(), "x", 100);
    REQUIRE(w.value()->Close().ok());
  }
  SUBCASE("a writer's lock keeps truncate out") {
    WriterOptions o = SmallOptions();
    o.append = true;
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    auto t = Truncate(base, {}, nullptr);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == Errc::kInvalidArgument);
    REQUIRE(w.value()->Close().ok());
  }
  SUBCASE("truncate's lock keeps writers out") {
    // Taken as truncate takes it, for as long as it repairs.
    auto repairing = LogLock::Acquire(base, "a writer");
    REQUIRE(repairing);
    WriterOptions o = SmallOptions();
    o.append = true;
    auto w = Writer::Open(base, o);
    REQUIRE_FALSE(w);
    CHECK(w.error().code == Errc::kInvalidArgument);
    WriterOptions r = SmallOptions();
    r.recycle = base;
    auto recycling = Writer::Open(dir.path("other.slog"), r);
    REQUIRE_FALSE(recycling);
    CHECK(recycling.error().code == Errc::kInvalidArgument);
  }
  ReadResult r = ReadAll(base);
  CHECK(r.summary.clean);
  CHECK(r.OfStream("s").size() == 100);
}

TEST_CASE("AWriterThatNeverSyncsKeepsFewDescriptorsWhateverItsSlabs") {
  // Retired slabs keep their descriptors until a sync; with --sync close there is none until
  // Close, and a log of more slabs than the open-file limit failed ("Too many open files").
  TempDir dir;
  const std::string base = dir.path("many.slog");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    struct rlimit lim {};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = 128;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(7);
    WriterOptions o = SmallOptions();
    o.sync = SyncPolicy::kOnClose;
    auto w = Writer::Open(base, o);
    if (!w) _exit(3);
    auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
    if (!h) _exit(4);
    const std::string payload(1000, 'm');
    for (int i = 0; w.value()->slab_count() < 400; ++i) {
      if (!w.value()->Append(h.value(), payload, i).ok()) _exit(5);
    }
    _exit(w.value()->Close().ok() ? 0 : 6);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  CHECK(r.summary.slabs >= 400);
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("ALockFileThisUserMayNotWriteIsStillLocked") {
  // A lock file left by another user's writer (root's, on a robot) is locked read-only: flock
  // needs no write access, and opening it for writing alone made every later append refuse.
  if (getuid() != 0) {
    MESSAGE("needs root, to act as another user on a file root owns");
    return;
  }
  TempDir dir;
  REQUIRE(chmod(dir.dir().c_str(), 0755) == 0);
  const std::string base = dir.path("root.slog");
  { REQUIRE(LogLock::Acquire(base, "a writer")); }
  WriteFile(LogLock::PathOf(base), LogLock::kLockFileMark);  // as a crashed writer leaves it: root's, 0644
  REQUIRE(chmod(LogLock::PathOf(base).c_str(), 0644) == 0);
  auto lock_as_nobody = [&] {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(7);
      auto lock = LogLock::Acquire(base, "a writer");
      _exit(lock ? 0 : lock.error().code == Errc::kInvalidArgument ? 2 : 3);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  };
  CHECK(lock_as_nobody() == 0);
  auto held = LogLock::Acquire(base, "a writer");
  REQUIRE(held);
  CHECK(lock_as_nobody() == 2);  // and held, it is refused as held, not as unreadable
}

// The lock file's name may be a user's file (run.slog.lock): the writer locks it as it is and
// leaves it, bytes and all; it removes only a lock file slablog made (review r17, F12).
TEST_CASE("AFileAtTheLockFileNameThatSlablogDidNotMakeIsNeverRemoved") {
  TempDir dir;
  const std::string base = dir.path("run.slog");
  const std::string lock = LogLock::PathOf(base);
  SUBCASE("there before the writer") {
    WriteFile(lock, "precious\n");
    auto w = Writer::Open(base, SmallOptions());
    REQUIRE(w);
    auto second = Writer::Open(base, SmallOptions());  // still the log's lock
    CHECK_FALSE(second);
    auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
    REQUIRE(h);
    REQUIRE(w.value()->Append(h.value(), "x", 1).ok());
    REQUIRE(w.value()->Close().ok());
    w.value().reset();
    CHECK(ReadFile(lock) == "precious\n");
  }
  SUBCASE("put in the lock file's place while the writer held it") {
    auto held = LogLock::Acquire(base, "a writer");
    REQUIRE(held);
    std::filesystem::remove(lock);
    WriteFile(lock, "precious\n");
    held.value().Release();
    CHECK(ReadFile(lock) == "precious\n");
  }
  SUBCASE("a lock file a crashed writer left is slablog's, and goes") {
    WriteFile(lock, LogLock::kLockFileMark);
    { REQUIRE(LogLock::Acquire(base, "a writer")); }
    CHECK_FALSE(std::filesystem::exists(lock));
  }
}

}  // namespace slablog::test
