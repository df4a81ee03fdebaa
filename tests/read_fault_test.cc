// No death by SIGBUS: a reader whose file is cut short under its map reports the file and offset
// as an io-error (the bytes read as zeros) and goes on; a writer whose disk fills gets an error
// from Append.
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "io_faults.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// One slab of 1 MiB holding sections of 8 KiB, records of 1000 bytes.
void WriteOneSlab(const std::string& base, int records) {
  WriterOptions o = SmallOptions();
  o.slab_size = 1 << 20;
  std::vector<std::pair<std::string, std::string>> rs;
  for (int i = 0; i < records; ++i) rs.emplace_back("s", std::string(1000, static_cast<char>('a' + i % 26)));
  WriteLog(base, o, rs);
}

TEST_CASE("ReadFault: a file cut short under an open reader reads as zeros and is reported") {
  for (const unsigned threads : {1u, 0u}) {
    CAPTURE(threads);
    TempDir dir;
    const std::string base = dir.path("log.slog");
    WriteOneSlab(base, 600);
    const std::string slab = SlabPath(base, 0);
    const uint64_t size = std::filesystem::file_size(slab);
    REQUIRE(size > 300000);
    ReaderOptions ro;
    ro.threads = threads;
    CollectingReporter reporter;
    auto reader = Reader::Open(base, ro, &reporter);
    REQUIRE(reader);
    constexpr uint64_t kCut = 200000;  // mid-section; the reader maps the whole file first
    ShrinkSize(slab, kCut);
    Item item;
    uint64_t records = 0;
    while (reader.value()->Next(&item)) {
      if (item.kind == ItemKind::kRecord) ++records;
    }
    INFO(reporter.Describe());
    CHECK(records > 0);
    CHECK(records < 600);
    REQUIRE(reporter.Has(CorruptionKind::kIoError));
    for (const Corruption& c : reporter.events) {
      if (c.kind != CorruptionKind::kIoError) continue;
      CHECK(c.file == slab);
      CHECK(c.offset == (kCut + 4095) / 4096 * 4096);  // the first page wholly past the new end
      CHECK(c.detail.find("shrank or could not be read") != std::string::npos);
    }
    CHECK(reader.value()->summary().corruptions > 0);
  }
}

TEST_CASE("ReadFault: a section a helper thread checked before the file was cut is checked again") {
  // Helper threads check sections' CRCs ahead of the reader, which then trusts them. A cut after
  // that check turns the section's bytes into zeros: no record may come back with them.
  for (int trial = 0; trial < 8; ++trial) {
    CAPTURE(trial);
    TempDir dir;
    const std::string base = dir.path("log.slog");
    WriteOneSlab(base, 600);
    const std::string slab = SlabPath(base, 0);
    ReaderOptions ro;
    ro.threads = 2;
    CollectingReporter reporter;
    auto reader = Reader::Open(base, ro, &reporter);
    REQUIRE(reader);
    Item item;
    while (reader.value()->Next(&item) && item.kind != ItemKind::kRecord) {
    }
    // Helpers get a head start (the test holds without it; with it the cut usually falls in
    // sections they have already vouched for), then the file loses its end, mid-frame.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t cut = 4096 * static_cast<uint64_t>(20 + 7 * trial);
    ShrinkSize(slab, cut);
    uint64_t records = 1;
    while (reader.value()->Next(&item)) {
      if (item.kind != ItemKind::kRecord) continue;
      REQUIRE(item.record.payload.size() == 1000);
      const std::string expected(1000, static_cast<char>('a' + records % 26));
      REQUIRE_MESSAGE(std::string(reinterpret_cast<const char*>(item.record.payload.data()), 1000) == expected,
                      "record " << records << " came back with other bytes than were written");
      ++records;
    }
    INFO(reporter.Describe());
    CHECK(records < 600);
    CHECK(reporter.Has(CorruptionKind::kIoError));
  }
}

TEST_CASE("ReadFault: a SIGBUS outside any reader's map still kills") {
  // A child touches a page past the end of a file it mapped itself: nothing guards that map.
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriteOneSlab(base, 10);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The guard's handler, with nothing (not the test framework's) installed before it.
    signal(SIGBUS, SIG_DFL);
    auto reader = Reader::Open(base, {}, nullptr);
    if (!reader) _exit(3);
    const std::string path = dir.path("plain");
    WriteFile(path, std::string(8192, 'x'));
    FILE* f = std::fopen(path.c_str(), "r");
    void* p = f == nullptr ? MAP_FAILED : mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fileno(f), 0);
    if (p == MAP_FAILED) _exit(2);
    ShrinkSize(path, 0);
    volatile uint8_t b = static_cast<const uint8_t*>(p)[4096];
    (void)b;
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGBUS);
}

// A tmpfs of `bytes` mounted for the test, or none where mounting is not permitted.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir, const std::string& size) : dir_(dir) {
    mounted_ = mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

int NoFallocate(io_faults::Op op, const char*) { return op == io_faults::Op::kFallocate ? EOPNOTSUPP : 0; }

TEST_CASE("ReadFault: a writer on a disk that fills gets an error from Append, not a SIGBUS") {
  for (const bool has_fallocate : {true, false}) {
    CAPTURE(has_fallocate);
    TempDir dir;
    SmallTmpfs fs(dir.dir(), "1m");
    if (!fs.mounted()) {
      MESSAGE("skipped: cannot mount a small tmpfs here (" << fs.error() << ")");
      return;
    }
    // Without fallocate the slab is allocated block by block (posix_fallocate's emulation).
    if (!has_fallocate) io_faults::SetHook(&NoFallocate);
    WriterOptions o = SmallOptions();
    o.slab_size = 256 << 10;
    o.background_prefault = false;
    auto w = Writer::Open(dir.path("log.slog"), o);
    REQUIRE(w);
    auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
    REQUIRE(h);
    const std::string payload(4000, 'p');
    Status failed;
    int appended = 0;
    for (; appended < 1000 && failed.ok(); ++appended) failed = w.value()->Append(h.value(), payload, appended);
    io_faults::SetHook(nullptr);
    REQUIRE_FALSE(failed.ok());
    INFO(Describe(failed.error()));
    CHECK(failed.error().code == Errc::kIo);
    CHECK(Describe(failed.error()).find("cannot allocate") != std::string::npos);
    CHECK(appended > 100);  // three slabs of 256 KiB fit in 1 MiB
    CHECK_FALSE(w.value()->Close().ok());  // the failure is sticky
  }
}

}  // namespace
}  // namespace slablog::test
