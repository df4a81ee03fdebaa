// Sticky I/O errors: a writer whose fdatasync, directory fsync, ftruncate or fallocate failed once
// fails every later Sync() and Close() with that first error, even when the calls that follow
// succeed (the kernel may have dropped the pages it could not write). Failures are injected
// through io_faults.h.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <cerrno>
#include <string>

#include "io_faults.h"
#include "testutil.h"

namespace slablog::test {
namespace {

using io_faults::Op;

// The one failure injected: the first call of `op` after `skip` of them fails with `err`; the
// calls before and after it run.
std::atomic<Op> g_op{Op::kFdatasync};
std::atomic<int> g_err{0};
std::atomic<int> g_skip{0};
std::atomic<int> g_failed{0};

int FailOnce(Op op, const char* /*path*/) {
  if (op != g_op.load() || g_failed.load() > 0) return 0;
  if (g_skip.fetch_sub(1) > 0) return 0;
  g_failed.fetch_add(1);
  return g_err.load();
}

class InjectOnce {
 public:
  InjectOnce(Op op, int err, int skip = 0) {
    g_op = op;
    g_err = err;
    g_skip = skip;
    g_failed = 0;
    io_faults::SetHook(&FailOnce);
  }
  ~InjectOnce() { io_faults::SetHook(nullptr); }
  bool fired() const { return g_failed.load() > 0; }
};

std::string Message(const Status& s) { return s.ok() ? "ok" : Describe(s.error()); }

WriterOptions Durable(SyncPolicy sync = SyncPolicy::kOnClose) {
  WriterOptions o = SmallOptions();
  o.sync = sync;
  o.background_prefault = false;
  return o;
}

// A writer of one stream "s" in a fresh directory, with `records` records appended.
struct OneStream {
  TempDir dir;
  std::string base = dir.path("log.slog");
  std::unique_ptr<Writer> w;
  StreamHandle h;

  explicit OneStream(SyncPolicy sync = SyncPolicy::kOnClose, int records = 1) {
    auto opened = Writer::Open(base, Durable(sync));
    REQUIRE(opened);
    w = std::move(opened.value());
    auto stream = w->OpenStream({"s", Encoding::kBinary, 0});
    REQUIRE(stream);
    h = stream.value();
    for (int i = 0; i < records; ++i) REQUIRE(w->Append(h, "record " + std::to_string(i), i).ok());
  }
};

// After the first failure `first`: Append still stores (it never claims durability), and every
// Sync() and Close(), twice each, fails with the same message; the log is left without its end
// marker.
void CheckStuck(OneStream& t, const Status& first) {
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().code == Errc::kIo);
  const std::string msg = Message(first);
  CHECK(t.w->Append(t.h, std::string("after the failure"), 99).ok());
  CHECK(Message(t.w->Sync()) == msg);
  CHECK(Message(t.w->Sync()) == msg);
  CHECK(Message(t.w->Close()) == msg);
  CHECK(Message(t.w->Close()) == msg);
  CHECK(Message(t.w->Sync()) == msg);
  ReadResult r = ReadAll(t.base);
  REQUIRE(r.opened);
  CHECK_FALSE(r.summary.clean);
}

TEST_CASE("IoFailure: a failed fdatasync fails every later Sync and Close") {
  OneStream t(SyncPolicy::kOnClose, 0);
  REQUIRE(t.w->Append(t.h, std::string("before"), 1).ok());
  REQUIRE(t.w->Sync().ok());
  REQUIRE(t.w->Append(t.h, std::string("lost?"), 2).ok());
  InjectOnce inject(Op::kFdatasync, EIO);
  const Status first = t.w->Sync();
  CHECK(inject.fired());
  CHECK(Message(first).find(SlabPath(t.base, 0)) != std::string::npos);
  CHECK(Message(first).find("cannot sync") != std::string::npos);
  CheckStuck(t, first);
}

TEST_CASE("IoFailure: a failed fsync of the directory fails every later Sync and Close") {
  OneStream t;
  InjectOnce inject(Op::kFsyncDirectory, EIO);
  const Status first = t.w->Sync();  // the new slab's directory entry is synced first here
  CHECK(inject.fired());
  CHECK(Message(first).find(t.dir.dir()) != std::string::npos);
  CHECK(Message(first).find("cannot sync directory") != std::string::npos);
  CheckStuck(t, first);
}

TEST_CASE("IoFailure: a failed ftruncate at Close fails every later Close and Sync") {
  OneStream t;
  InjectOnce inject(Op::kFtruncate, EIO);  // the trim of the last slab
  const Status first = t.w->Close();
  CHECK(inject.fired());
  REQUIRE_FALSE(first.ok());
  CHECK(Message(first).find(SlabPath(t.base, 0)) != std::string::npos);
  CHECK(Message(first).find("cannot trim") != std::string::npos);
  CHECK(Message(t.w->Close()) == Message(first));
  CHECK(Message(t.w->Sync()) == Message(first));
}

TEST_CASE("IoFailure: a failed fdatasync at Close fails a second Close") {
  OneStream t;
  InjectOnce inject(Op::kFdatasync, EIO);
  const Status first = t.w->Close();
  CHECK(inject.fired());
  REQUIRE_FALSE(first.ok());
  CHECK(Message(first).find(SlabPath(t.base, 0)) != std::string::npos);
  CHECK(Message(t.w->Close()) == Message(first));
  CHECK(Message(t.w->Sync()) == Message(first));
  ReadResult r = ReadAll(t.base);
  REQUIRE(r.opened);
  CHECK_FALSE(r.summary.clean);  // no end marker vouches for what may not be on disk
}

// Fills slab 0 so that the next appends need slab 1 (and more).
void AppendSlabs(Writer& w, StreamHandle h, int slabs, Status* first_error) {
  const std::string payload(4000, 'x');
  for (int i = 0; i < 16 * 4 * slabs; ++i) {
    Status s = w.Append(h, payload, i);
    if (!s.ok()) {
      *first_error = s;
      return;
    }
  }
}

TEST_CASE("IoFailure: a failed fallocate of a new slab fails Append, then every Sync and Close") {
  for (const Op op : {Op::kFallocate, Op::kFtruncate}) {
    CAPTURE(static_cast<int>(op));
    OneStream t(SyncPolicy::kOnClose, 0);
    InjectOnce inject(op, ENOSPC);
    Status first;
    AppendSlabs(*t.w, t.h, 3, &first);
    CHECK(inject.fired());
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().code == Errc::kIo);
    CHECK(Message(first).find(SlabPath(t.base, 1)) != std::string::npos);
    CheckStuck(t, first);
  }
}

TEST_CASE("IoFailure: kEverySlab, a failed sync of a slab left behind, or of its name, fails the next Sync") {
  // The slab left behind is synced inside an Append (whose record is stored), and so is its name:
  // it was named after the last directory sync (none yet).
  for (const Op op : {Op::kFdatasync, Op::kFsyncDirectory}) {
    CAPTURE(static_cast<int>(op));
    OneStream t(SyncPolicy::kEverySlab, 0);
    InjectOnce inject(op, EIO);
    Status append_error;
    AppendSlabs(*t.w, t.h, 3, &append_error);
    CHECK(append_error.ok());
    CHECK(inject.fired());
    const Status first = t.w->Sync();
    REQUIRE_FALSE(first.ok());
    const std::string named = op == Op::kFdatasync ? SlabPath(t.base, 0) : "cannot sync directory";
    CHECK(Message(first).find(named) != std::string::npos);
    CheckStuck(t, first);
  }
}

TEST_CASE("IoFailure: kManual, Close after a failed Sync fails and writes no end marker") {
  OneStream t(SyncPolicy::kManual, 1);
  Status first;
  {
    InjectOnce inject(Op::kFdatasync, EIO);
    first = t.w->Sync();
    CHECK(inject.fired());
  }
  CheckStuck(t, first);
}

TEST_CASE("IoFailure: without an injected failure Sync and Close succeed, and Close twice too") {
  OneStream t(SyncPolicy::kOnClose, 0);
  Status none;
  AppendSlabs(*t.w, t.h, 2, &none);
  CHECK(none.ok());
  CHECK(t.w->Sync().ok());
  CHECK(t.w->Close().ok());
  CHECK(t.w->Close().ok());
  ReadResult r = ReadAll(t.base);
  REQUIRE(r.opened);
  CHECK(r.summary.clean);
}

}  // namespace
}  // namespace slablog::test
