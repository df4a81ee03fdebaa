#include "testutil.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "slablog/format.h"

namespace slablog::test {

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "slablog-test-XXXXXX").string();
  REQUIRE(mkdtemp(templ.data()) != nullptr);
  dir_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool CollectingReporter::Has(CorruptionKind kind) const {
  for (const auto& e : events) {
    if (e.kind == kind) return true;
  }
  return false;
}

uint64_t CollectingReporter::DroppedBytes() const {
  uint64_t n = 0;
  for (const auto& e : events) n += e.bytes_dropped;
  return n;
}

std::string CollectingReporter::Describe() const {
  std::ostringstream out;
  for (const auto& e : events) {
    out << e.file << " slab " << e.slab << " @" << e.offset << " " << CorruptionKindName(e.kind)
        << " dropped " << e.bytes_dropped << ": " << e.detail << "\n";
  }
  return out.str();
}

std::vector<ReadRecord> ReadResult::OfStream(const std::string& name) const {
  std::vector<ReadRecord> out;
  for (const auto& r : records) {
    if (r.stream == name) out.push_back(r);
  }
  return out;
}

ReadResult ReadAll(const std::string& path, ReaderOptions options) {
  ReadResult result;
  auto reader = Reader::Open(path, options, &result.reporter);
  if (!reader) {
    result.open_error = Describe(reader.error());
    return result;
  }
  result.opened = true;
  Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind != ItemKind::kRecord) continue;
    const auto& r = item.record;
    result.records.push_back(
        {std::string(r.stream_name), r.timestamp,
         std::string(reinterpret_cast<const char*>(r.payload.data()), r.payload.size())});
  }
  result.summary = reader.value()->summary();
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void FlipBit(const std::string& path, uint64_t offset, int bit) {
  std::string b = ReadFile(path);
  REQUIRE(offset < b.size());
  b[offset] = static_cast<char>(b[offset] ^ (1 << bit));
  WriteFile(path, b);
}

void SetByte(const std::string& path, uint64_t offset, uint8_t value) {
  std::string b = ReadFile(path);
  REQUIRE(offset < b.size());
  b[offset] = static_cast<char>(value);
  WriteFile(path, b);
}

uint8_t GetByte(const std::string& path, uint64_t offset) {
  const std::string b = ReadFile(path);
  REQUIRE(offset < b.size());
  return static_cast<uint8_t>(b[offset]);
}

void ZeroBytes(const std::string& path, uint64_t from, uint64_t to) {
  std::string bytes = ReadFile(path);
  REQUIRE(from <= to);
  REQUIRE(to <= bytes.size());
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(from), bytes.begin() + static_cast<std::ptrdiff_t>(to), '\0');
  WriteFile(path, bytes);
}

void ShrinkSize(const std::string& path, uint64_t size) {
  REQUIRE(truncate(path.c_str(), static_cast<off_t>(size)) == 0);
}

void FixChecksum(const std::string& path, const LogId& id, uint64_t section_offset,
                 uint64_t frame_offset) {
  std::string b = ReadFile(path);
  auto* p = reinterpret_cast<uint8_t*>(b.data());
  auto open = DecodeSectionOpen(id, {p + section_offset, kSectionHeaderSize});
  REQUIRE(open.has_value());
  const uint32_t seed = SectionSeed(id, open->stream_id, open->seq);
  const auto header = std::span<const uint8_t, kFrameHeaderSize>(p + frame_offset, kFrameHeaderSize);
  uint32_t length;
  std::memcpy(&length, p + frame_offset + 4, 4);
  const uint32_t crc = FrameCrc(seed, header, {p + frame_offset + kFrameHeaderSize, length});
  std::memcpy(p + frame_offset, &crc, 4);
  WriteFile(path, b);
}

std::string RandomSkewedString(std::mt19937_64& rng, int max_log2) {
  const int bits = static_cast<int>(rng() % static_cast<uint64_t>(max_log2 + 1));
  const uint64_t n = bits == 0 ? 0 : rng() % (uint64_t{1} << bits);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

uint64_t TestSeed() {
  if (const char* env = std::getenv("SLABLOG_TEST_SEED")) return std::strtoull(env, nullptr, 10);
  return 20261125;
}

bool LongMode() {
  const char* env = std::getenv("SLABLOG_LONG");
  return env != nullptr && *env != '\0' && std::string(env) != "0";
}

uint64_t TestScale() {
  const char* env = std::getenv("SLABLOG_TEST_SCALE");
  const uint64_t scale = env == nullptr ? 1 : std::strtoull(env, nullptr, 10);
  return scale == 0 ? 1 : scale;
}

std::vector<size_t> SweepPositions(size_t n, size_t sample, uint64_t seed) {
  sample *= TestScale();
  std::vector<size_t> all;
  if (LongMode() || sample >= n) {
    for (size_t i = 0; i < n; ++i) all.push_back(i);
    return all;
  }
  std::set<size_t> picked;
  if (n > 0 && sample > 0) picked = {0, n - 1};
  std::mt19937_64 rng(seed);
  while (picked.size() < sample) picked.insert(static_cast<size_t>(rng() % n));
  return {picked.begin(), picked.end()};
}

bool WaitUntil(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
               std::chrono::microseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

namespace {

// Prints how to run a failed test again with the same random choices.
struct SeedOnFailure : doctest::IReporter {
  explicit SeedOnFailure(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& data) override { name_ = data.m_name; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    if (stats.failure_flags == 0 && stats.numAssertsFailedCurrentTest == 0) return;
    std::cerr << "test case '" << name_ << "' failed with SLABLOG_TEST_SEED=" << TestSeed()
              << (LongMode() ? " SLABLOG_LONG=1" : "") << "\n";
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

 private:
  std::string name_;
};
REGISTER_LISTENER("seed-on-failure", 1, SeedOnFailure);

}  // namespace

namespace {

// Opens each stream on first use and appends `records` with timestamps 0, 1, 2, ...
void AppendAll(Writer& w, const std::vector<std::pair<std::string, std::string>>& records) {
  std::map<std::string, StreamHandle> streams;
  int64_t t = 0;
  for (const auto& [name, payload] : records) {
    auto it = streams.find(name);
    if (it == streams.end()) {
      auto h = w.OpenStream({name, Encoding::kBinary, 0});
      REQUIRE(h.has_value());
      it = streams.emplace(name, h.value()).first;
    }
    Status s = w.Append(it->second, payload, t++);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : Describe(s.error())));
  }
}

std::unique_ptr<Writer> OpenWriter(const std::string& base, const WriterOptions& options) {
  auto w = Writer::Open(base, options);
  REQUIRE_MESSAGE(w.has_value(), (w ? "" : Describe(w.error())));
  return std::move(w.value());
}

}  // namespace

void WriteLog(const std::string& base, const WriterOptions& options,
              const std::vector<std::pair<std::string, std::string>>& records) {
  auto w = OpenWriter(base, options);
  AppendAll(*w, records);
  Status s = w->Close();
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : Describe(s.error())));
}

std::string WriteCrashedLog(const std::string& base, const std::string& crash_dir, const WriterOptions& options,
                            const std::vector<std::pair<std::string, std::string>>& records) {
  auto w = OpenWriter(base, options);
  AppendAll(*w, records);
  const std::string snap = SnapshotLog(base, crash_dir);
  Status s = w->Close();
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : Describe(s.error())));
  return snap;
}

size_t WriteRetiredLog(const std::string& base, uint64_t seed) {
  auto w = OpenWriter(base, SmallOptions());
  auto h = w->OpenStream({"old", Encoding::kBinary, 7});
  REQUIRE(h);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 6000; ++i) REQUIRE(w->Append(h.value(), RandomSkewedString(rng, 12), i).ok());
  REQUIRE(w->Close().ok());
  return ListSlabFiles(base).size();
}

std::vector<FrameLoc> Frames(const std::string& path) {
  ReaderOptions o;
  o.frames = true;
  o.records = false;
  std::vector<FrameLoc> out;
  auto reader = Reader::Open(path, o, nullptr);
  REQUIRE(reader.has_value());
  Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind != ItemKind::kFrame) continue;
    const SectionInfo& s = *item.section;
    out.push_back({item.slab->file, s.offset, item.frame.offset, s.open.stream_id,
                   std::string(s.stream_name), s.open.seq, s.close.has_value(),
                   item.frame.header.kind, item.frame.header.length});
  }
  return out;
}

FrameLoc FindFrame(const std::string& path, const std::string& stream, FragmentKind kind, int nth) {
  for (const FrameLoc& f : Frames(path)) {
    if (f.stream == stream && f.kind == kind && nth-- == 0) return f;
  }
  FAIL("no such frame in ", path);
  return {};
}

LogId LogIdOf(const std::string& path) {
  const std::string b = ReadFile(path);
  auto h = DecodeSlabHeader({reinterpret_cast<const uint8_t*>(b.data()), b.size()});
  REQUIRE(h.has_value());
  return h->log_id;
}

std::string SnapshotLog(const std::string& base, const std::string& dir) {
  const std::string name = std::filesystem::path(base).filename().string();
  for (uint32_t i = 0; std::filesystem::exists(SlabPath(base, i)); ++i) {
    WriteFile(SlabPath(dir + "/" + name, i), ReadFile(SlabPath(base, i)));
  }
  return dir + "/" + name;
}

WriterOptions SmallOptions() {
  WriterOptions o;
  o.slab_size = 64 << 10;
  o.section_size = 8 << 10;
  o.sync = SyncPolicy::kManual;
  return o;
}

}  // namespace slablog::test
