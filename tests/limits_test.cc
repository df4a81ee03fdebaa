// Sizes the format cannot hold are refused, not written wrong: a frame's length is a u32, so a
// record is at most kMaxRecordBytes and a section at most kMaxSectionBytes (which keeps every
// frame that fits in a section, the append fast path's case, within a u32 length).
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <span>
#include <string>

#include "cli/process.h"
#include "testutil.h"

namespace slablog::test {
namespace {

std::string Message(const Status& s) { return s.ok() ? "ok" : Describe(s.error()); }

// `bytes` of address space reading as zeros, with no memory or swap reserved for them: the writer
// refuses a record this large before reading any of it.
class Reserved {
 public:
  explicit Reserved(size_t bytes) : size_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<const uint8_t*>(p);
  }
  ~Reserved() {
    if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
  }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  bool ok() const { return data_ != nullptr; }

 private:
  size_t size_;
  const uint8_t* data_;
};

TEST_CASE("Limits: the constants follow from the frame's u32 length") {
  CHECK(kMaxRecordBytes == 0xFFFFFFFFu);
  CHECK(kMaxSectionBytes == uint64_t{1} << 32);
  // The largest frame a largest section holds has a payload a u32 states.
  CHECK(kMaxSectionBytes - kSectionHeaderSize - kFrameHeaderSize <= kMaxRecordBytes);
}

TEST_CASE("Limits: Append refuses a record of 2^32 bytes and writes nothing") {
  Reserved big(size_t{1} << 32);
  REQUIRE(big.ok());
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriterOptions o = SmallOptions();
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
  REQUIRE(h);
  REQUIRE(w.value()->Append(h.value(), std::string("before"), 1).ok());
  for (const size_t size : {size_t{1} << 32, (size_t{1} << 32) + 1}) {
    CAPTURE(size);
    const Status s = w.value()->Append(h.value(), big.span().first(size), 2);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::kInvalidArgument);
    CHECK(Message(s).find("record of " + std::to_string(size) + " bytes exceeds the format's limit of 4294967295") !=
          std::string::npos);
  }
  REQUIRE(w.value()->Append(h.value(), std::string("after"), 3).ok());
  REQUIRE(w.value()->Close().ok());
  ReadResult r = ReadAll(base);
  REQUIRE(r.opened);
  CHECK(r.reporter.events.empty());
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[0].payload == "before");
  CHECK(r.records[1].payload == "after");
}

TEST_CASE("Limits: Writer::Open refuses a section size above 4 GiB, accepts 4 GiB") {
  TempDir dir;
  WriterOptions o = SmallOptions();
  o.section_size = kMaxSectionBytes + 1;
  auto refused = Writer::Open(dir.path("a.slog"), o);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::kInvalidArgument);
  CHECK(Describe(refused.error()).find("section size 4294967297 exceeds the format's limit of 4294967296") !=
        std::string::npos);
  // At the limit the section size is fine; only the (small) slab cannot hold it.
  o.section_size = kMaxSectionBytes;
  auto at_limit = Writer::Open(dir.path("b.slog"), o);
  REQUIRE_FALSE(at_limit);
  CHECK(Describe(at_limit.error()).find("is too small for section size 4294967296") != std::string::npos);
  // The same for a writer appending to a log.
  WriteLog(dir.path("c.slog"), SmallOptions(), {{"s", "x"}});
  o.append = true;
  o.section_size = kMaxSectionBytes + 1;
  auto append = Writer::Open(dir.path("c.slog"), o);
  REQUIRE_FALSE(append);
  CHECK(Describe(append.error()).find("exceeds the format's limit") != std::string::npos);
}

TEST_CASE("Limits: Writer::Open refuses a slab size no file can have") {
  TempDir dir;
  WriterOptions o = SmallOptions();
  o.slab_size = UINT64_MAX;
  auto w = Writer::Open(dir.path("a.slog"), o);
  REQUIRE_FALSE(w);
  CHECK(w.error().code == Errc::kInvalidArgument);
  CHECK(Describe(w.error()).find("slab size 18446744073709551615 exceeds the limit") != std::string::npos);
}

TEST_CASE("Limits: slablog write refuses --section-size above 4G") {
  TempDir dir;
  RunResult r = RunSlablog({"write", "--section-size", "4294967297", "run.slog"}, "{}\n", dir.dir());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("slablog write: --section-size 4294967297 exceeds the format's limit of 4G") != std::string::npos);
  // 4G itself is not refused for its size, only for not fitting in the slabs.
  RunResult at = RunSlablog({"write", "--section-size", "4G", "run.slog"}, "{}\n", dir.dir());
  CHECK(at.exit_code == 2);
  CHECK(at.err.find("exceeds the format's limit") == std::string::npos);
  CHECK(at.err.find("too small for section size 4294967296") != std::string::npos);
  RunResult slab = RunSlablog({"write", "--slab-size", "16777215T", "run.slog"}, "{}\n", dir.dir());
  CHECK(slab.exit_code == 2);
  CHECK(slab.err.find("exceeds the limit") != std::string::npos);
}

}  // namespace
}  // namespace slablog::test
