// A directory whose listing fails (opendir: EMFILE, EIO; readdir part-way: EIO) never makes a
// name look free, or a log look shorter than it is: what the listing did not reach may hold the
// slabs that take the name, or the log's later slabs. Failures are injected through io_faults.h
// at each step of each listing a call makes.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "io_faults.h"
#include "slablog/format.h"
#include "slablog/writer.h"
#include "testutil.h"

namespace slablog::test {
namespace {

using io_faults::Op;

// The listing step numbered `g_fail_at` (counted over every listing from 0: a directory's open,
// then each readdir) fails with `g_err`.
std::atomic<int> g_fail_at{-1};
std::atomic<int> g_err{0};
std::atomic<int> g_steps{0};
std::atomic<bool> g_fired{false};

int FailOneStep(Op op, const char* /*path*/) {
  if (op != Op::kListDirectory) return 0;
  if (g_steps.fetch_add(1) != g_fail_at.load()) return 0;
  g_fired = true;
  return g_err.load();
}

class FailListingStep {
 public:
  FailListingStep(int step, int err) {
    g_fail_at = step;
    g_err = err;
    g_steps = 0;
    g_fired = false;
    io_faults::SetHook(&FailOneStep);
  }
  ~FailListingStep() { io_faults::SetHook(nullptr); }
  bool fired() const { return g_fired.load(); }
};

std::vector<std::pair<std::string, std::string>> Records(int n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) out.emplace_back("s", "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(900, 'x') + "\"}");
  return out;
}

// A directory with the log run.slog of several slabs, the log new_0.slog (whose slab new_0_0.slog
// has the name of a slab of new_0.slog's own "larger" log new.slog), and other files around them.
struct Logs {
  TempDir dir;
  int run_records = 400;
  Logs() {
    WriteLog(dir.path("run.slog"), SmallOptions(), Records(run_records));
    WriteLog(dir.path("new_0.slog"), SmallOptions(), Records(3));
    for (int i = 0; i < 12; ++i) WriteFile(dir.path("other" + std::to_string(i) + ".txt"), "x");
  }
};

}  // namespace

TEST_CASE("ANewLogNameIsNeverTakenAsFreeWhenItsDirectoryListingFails") {
  Logs logs;
  REQUIRE(ListSlabFiles(logs.dir.path("run.slog")).size() >= 3);
  // Each name is refused when its directory lists fully: run.slog exists, run_1.slog is its slab 1,
  // and new.slog would grow a slab named as the log new_0.slog.
  for (const char* name : {"run.slog", "run_1.slog", "new.slog"}) {
    CAPTURE(name);
    const Status whole = CheckNewLogName(logs.dir.path(name));
    REQUIRE_FALSE(whole.ok());
    REQUIRE(whole.error().code == Errc::kInvalidArgument);
  }
  size_t failed_as_io = 0;
  for (const int err : {EIO, EMFILE}) {
    for (const char* name : {"run.slog", "run_1.slog", "new.slog", "free.slog"}) {
      for (int step = 0;; ++step) {
        CAPTURE(err);
        CAPTURE(name);
        CAPTURE(step);
        FailListingStep fail(step, err);
        const Status st = CheckNewLogName(logs.dir.path(name));
        if (!fail.fired()) break;
        // Refused for the name (what was listed already took it), or failed as I/O; never free.
        REQUIRE_FALSE(st.ok());
        if (st.error().code == Errc::kIo) {
          ++failed_as_io;
          CHECK(st.error().file == logs.dir.dir());
          CHECK(st.error().message.find("the directory: " + std::string(std::strerror(err))) != std::string::npos);
        } else {
          CHECK(st.error().code == Errc::kInvalidArgument);
          CHECK(std::string(name) != "free.slog");
        }
      }
    }
  }
  CHECK(failed_as_io > 20);
}

TEST_CASE("AReaderFailsRatherThanReadALogWhoseDirectoryListingFailed") {
  Logs logs;
  const std::string base = logs.dir.path("run.slog");
  const ReadResult whole = ReadAll(base);
  REQUIRE(whole.opened);
  REQUIRE(whole.records.size() == static_cast<size_t>(logs.run_records));
  int fired = 0;
  for (int step = 0;; ++step) {
    CAPTURE(step);
    FailListingStep fail(step, EIO);
    const ReadResult r = ReadAll(base);
    if (!fail.fired()) break;
    ++fired;
    // Never a log shorter than it is: the open fails, naming the directory.
    CHECK_FALSE(r.opened);
    CHECK(r.records.empty());
    CHECK(r.open_error.find(" the directory: " + std::string(std::strerror(EIO))) != std::string::npos);
  }
  CHECK(fired > 10);
}

TEST_CASE("ADirectoryThatCannotBeOpenedListsNoSlabOnlyWhenThereIsNoneToList") {
  Logs logs;
  const std::string base = logs.dir.path("run.slog");
  // Absent, or a file: no slab.
  for (const int err : {ENOENT, ENOTDIR}) {
    CAPTURE(err);
    FailListingStep fail(0, err);
    const auto listed = ListSlabFilesOrFail(base);
    REQUIRE(fail.fired());
    REQUIRE(listed.has_value());
    CHECK(listed->empty());
  }
  // Anything else may hide slabs, -wx (EACCES) too: an error naming the directory.
  for (const int err : {EACCES, EMFILE, ENFILE, ENOMEM, EIO}) {
    CAPTURE(err);
    FailListingStep fail(0, err);
    const auto listed = ListSlabFilesOrFail(base);
    REQUIRE(fail.fired());
    REQUIRE_FALSE(listed.has_value());
    CHECK(listed.error().code == Errc::kIo);
    CHECK(listed.error().message.rfind("cannot open the directory: " + std::string(std::strerror(err)), 0) == 0);
    CHECK((listed.error().message.find("needs read permission") != std::string::npos) == (err == EACCES));
  }
  // ListSlabFiles keeps what a listing that broke off found (and FillListingGaps adds to it).
  const size_t all = ListSlabFiles(base).size();
  FailListingStep fail(1, EIO);
  CHECK(ListSlabFiles(base).empty());
  CHECK(fail.fired());
  CHECK(all >= 3);
}

}  // namespace slablog::test
