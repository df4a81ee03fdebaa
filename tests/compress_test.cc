// Compressed logs (CompressedWriter, Compress): every record comes back byte for byte, and damage
// to a compressed section (a flipped bit anywhere in it, a file cut anywhere, a hostile header
// whose CRCs are right) is found, costs that section's records and nothing else, and never makes
// a record up.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include "coding.h"
#include "compressed_section.h"
#include "slablog/compressed_writer.h"
#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// Records of three streams (binary, text, json), sizes skewed up to 2^max_log2 bytes: with 8 KiB
// sections, records of several sections are split into fragments.
std::vector<std::pair<std::string, std::string>> MixedRecords(uint64_t seed, size_t n, int max_log2) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, std::string>> out;
  const char* names[] = {"bin", "text", "json"};
  for (size_t i = 0; i < n; ++i) {
    const std::string name = names[rng() % 3];
    std::string p = std::to_string(i) + ":" + RandomSkewedString(rng, max_log2);
    // Binary records stay random (sections that do not shrink are stored as they are); text
    // records take 16 letters, as compressible as much real data.
    if (name == "text") {
      for (char& c : p) c = static_cast<char>('a' + (static_cast<uint8_t>(c) & 15));
    }
    if (name == "json") p = "{\"i\":" + std::to_string(i) + ",\"s\":" + std::to_string(p.size()) + "}";
    out.emplace_back(name, p);
  }
  return out;
}

CompressedWriterOptions SmallCompressed() {
  CompressedWriterOptions o;
  o.section_bytes = 8 << 10;
  o.slab_bytes = 64 << 10;
  o.sync = false;
  return o;
}

// Writes `records` as a log at `plain`, then compresses it to `packed`.
void WritePlainAndCompressed(const std::string& plain, const std::string& packed,
                             const std::vector<std::pair<std::string, std::string>>& records,
                             const CompressedWriterOptions& options = SmallCompressed()) {
  WriteLog(plain, SmallOptions(), records);
  auto done = Compress(plain, packed, options, nullptr);
  REQUIRE_MESSAGE(done, (done ? "" : Describe(done.error())));
}

std::map<std::string, std::vector<ReadRecord>> ByStream(const std::vector<ReadRecord>& records) {
  std::map<std::string, std::vector<ReadRecord>> out;
  for (const ReadRecord& r : records) out[r.stream].push_back(r);
  return out;
}

// Whether `got` is `want` with some records left out (none made up, none out of order).
bool IsSubsequence(const std::vector<ReadRecord>& got, const std::vector<ReadRecord>& want) {
  size_t j = 0;
  for (const ReadRecord& r : got) {
    while (j < want.size() && !(want[j] == r)) ++j;
    if (j == want.size()) return false;
    ++j;
  }
  return true;
}

struct SectionSpan {
  std::string file;
  uint64_t offset = 0;
  uint64_t end = 0;  // of its header and stored bytes
  std::string stream;
  uint64_t records = 0;
  bool compressed = false;
};

std::vector<SectionSpan> Sections(const std::string& path) {
  std::vector<SectionSpan> out;
  auto reader = Reader::Open(path, ReaderOptions{}, nullptr);
  REQUIRE(reader);
  Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind != ItemKind::kSection) continue;
    const SectionInfo& s = *item.section;
    REQUIRE(s.close);
    out.push_back({item.slab->file, s.offset, s.offset + kSectionHeaderSize + s.close->filled,
                   std::string(s.stream_name), s.close->record_count, s.open.compressed()});
    reader.value()->SkipSection();
  }
  return out;
}

uint64_t Missing(const std::map<std::string, std::vector<ReadRecord>>& got,
                 const std::map<std::string, std::vector<ReadRecord>>& want) {
  uint64_t missing = 0;
  for (const auto& [name, records] : want) {
    auto it = got.find(name);
    const size_t have = it == got.end() ? 0 : it->second.size();
    missing += records.size() - std::min(have, records.size());
  }
  return missing;
}

}  // namespace

TEST_CASE("ACompressedLogGivesBackEveryRecordOfEveryStreamByteForByte") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 3000, 16);
  // Sections of 32 KiB: of 8 KiB, text half their size would still take both of its pages.
  CompressedWriterOptions options = SmallCompressed();
  options.section_bytes = 32 << 10;
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records, options);
  const ReadResult plain = ReadAll(dir.path("plain.slog"));
  REQUIRE(plain.records.size() == records.size());
  for (unsigned threads : {1u, 2u, 3u}) {
    ReaderOptions o;
    o.threads = threads;
    o.decode_ahead = threads > 1;  // 2 and 3: helper threads decode sections ahead
    const ReadResult packed = ReadAll(dir.path("packed.slog"), o);
    CHECK_MESSAGE(packed.reporter.events.empty(), packed.reporter.Describe());
    CHECK(ByStream(packed.records) == ByStream(plain.records));
    CHECK(packed.summary.clean);
    CHECK(packed.summary.compressed_sections > 10);
    CHECK(packed.summary.compressed_stored_bytes * 3 < packed.summary.compressed_raw_bytes * 2);
    CHECK(packed.summary.slabs > 1);  // 64 KiB slabs
  }
  // Smaller on disk, the same catalog.
  uint64_t plain_bytes = 0, packed_bytes = 0;
  for (const auto& [i, p] : ListSlabFiles(dir.path("plain.slog"))) plain_bytes += std::filesystem::file_size(p);
  for (const auto& [i, p] : ListSlabFiles(dir.path("packed.slog"))) packed_bytes += std::filesystem::file_size(p);
  CHECK(packed_bytes < plain_bytes);
  auto verified = Verify(dir.path("packed.slog"), {}, nullptr);
  REQUIRE(verified);
  CHECK(verified->ok());
  CHECK(verified->records == records.size());
  CHECK(verified->compressed_sections > 10);
  auto reader = Reader::Open(dir.path("packed.slog"), {}, nullptr);
  REQUIRE(reader);
  Item item;
  while (reader.value()->Next(&item)) {
  }
  REQUIRE(reader.value()->stream(3) != nullptr);
  std::map<std::string, Encoding> encodings;
  for (const CatalogEntry* e : reader.value()->streams()) encodings[e->name] = e->encoding;
  CHECK(encodings.size() == 3);
}

TEST_CASE("RecordsLargerThanASectionAreSplitAcrossCompressedSectionsAndJoinedBack") {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> records;
  std::mt19937_64 rng(TestSeed());
  // Around the section size: one byte short of fitting, exactly fitting, one byte over, and many
  // sections long.
  const size_t section = 8 << 10;
  for (size_t size : {section - kFrameHeaderSize - 1, section - kFrameHeaderSize, section - kFrameHeaderSize + 1,
                      section * 5 + 3, size_t{1} << 20, size_t{0}, size_t{1}}) {
    std::string p(size, '\0');
    for (char& c : p) c = static_cast<char>(rng() % 7);  // compressible, not trivially
    records.emplace_back("big", p);
    records.emplace_back("small", std::to_string(size));
  }
  // Compressed on the appending thread here (threads 1), by the writer's own thread elsewhere.
  CompressedWriterOptions options = SmallCompressed();
  options.threads = 1;
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records, options);
  const ReadResult packed = ReadAll(dir.path("packed.slog"));
  CHECK_MESSAGE(packed.reporter.events.empty(), packed.reporter.Describe());
  CHECK(ByStream(packed.records) == ByStream(ReadAll(dir.path("plain.slog")).records));
}

TEST_CASE("AnEmptyLogAndStreamsWithoutRecordsCompress") {
  TempDir dir;
  {
    auto w = Writer::Open(dir.path("plain.slog"), SmallOptions());
    REQUIRE(w);
    REQUIRE(w.value()->OpenStream({"quiet", Encoding::kText, 7}));
    REQUIRE(w.value()->Close().ok());
  }
  auto done = Compress(dir.path("plain.slog"), dir.path("packed.slog"), SmallCompressed(), nullptr);
  REQUIRE(done);
  CHECK(done->stats.records == 0);
  const ReadResult packed = ReadAll(dir.path("packed.slog"));
  CHECK(packed.reporter.events.empty());
  CHECK(packed.summary.clean);
  auto reader = Reader::Open(dir.path("packed.slog"), {}, nullptr);
  REQUIRE(reader);
  Item item;
  while (reader.value()->Next(&item)) {
  }
  REQUIRE(reader.value()->streams().size() == 1);
  CHECK(reader.value()->streams()[0]->name == "quiet");
  CHECK(reader.value()->streams()[0]->type == 7);
}

TEST_CASE("ACompressedWriterLeavesNothingBehindUnlessClosedAndRefusesWhatItCannotDo") {
  TempDir dir;
  const std::string base = dir.path("c.slog");
  {
    auto w = CompressedWriter::Create(base, SmallCompressed());
    REQUIRE(w);
    auto id = w.value()->AddStream("a", Encoding::kBinary, 0);
    REQUIRE(id);
    CHECK_FALSE(w.value()->AddStream("a", Encoding::kBinary, 0));
    CHECK_FALSE(w.value()->Append(*id + 1, {}, 0).ok());
    const std::string x(100, 'x');
    for (int i = 0; i < 2000; ++i) {
      REQUIRE(w.value()->Append(*id, {reinterpret_cast<const uint8_t*>(x.data()), x.size()}, i).ok());
    }
    // Not closed: as if the process stopped here.
  }
  CHECK(std::filesystem::is_empty(dir.dir()));
  {
    auto w = CompressedWriter::Create(base, SmallCompressed());
    REQUIRE(w);
    auto id = w.value()->AddStream("a", Encoding::kBinary, 0);
    REQUIRE(id);
    const uint8_t y[10] = {};
    REQUIRE(w.value()->Append(*id, y, 1).ok());
    REQUIRE(w.value()->Close().ok());
    CHECK(w.value()->Close().ok());
  }
  CHECK_FALSE(CompressedWriter::Create(base, SmallCompressed()));  // exists
  CompressedWriterOptions bad = SmallCompressed();
  bad.level = 0;
  CHECK_FALSE(CompressedWriter::Create(dir.path("d.slog"), bad));
  bad = SmallCompressed();
  bad.section_bytes = kMaxCompressedSectionRaw;
  CHECK_FALSE(CompressedWriter::Create(dir.path("d.slog"), bad));
}

TEST_CASE("CompressRefusesADamagedLogAndALogBeingWritten") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 500, 10);
  WriteLog(dir.path("plain.slog"), SmallOptions(), records);
  const FrameLoc f = FindFrame(dir.path("plain.slog"), "bin", FragmentKind::kFull, 3);
  FlipBit(f.file, f.offset + kFrameHeaderSize, 0);
  CollectingReporter problems;
  auto done = Compress(dir.path("plain.slog"), dir.path("packed.slog"), SmallCompressed(), &problems);
  REQUIRE_FALSE(done);
  CHECK(done.error().code == Errc::kCorruption);
  CHECK_FALSE(problems.events.empty());
  CHECK(ListSlabFiles(dir.path("packed.slog")).empty());
  CHECK(std::filesystem::directory_iterator(dir.dir()) != std::filesystem::directory_iterator());
  for (const auto& e : std::filesystem::directory_iterator(dir.dir())) {
    CHECK_MESSAGE(e.path().filename().string().rfind("packed", 0) != 0, e.path());
  }
  auto w = Writer::Open(dir.path("live.slog"), SmallOptions());
  REQUIRE(w);
  auto h = w.value()->OpenStream({"a", Encoding::kBinary, 0});
  REQUIRE(h);
  REQUIRE(w.value()->Append(h.value(), std::string("x"), 1).ok());
  auto live = Compress(dir.path("live.slog"), dir.path("live-packed.slog"), SmallCompressed(), nullptr);
  REQUIRE_FALSE(live);
  CHECK(live.error().code == Errc::kInvalidArgument);
  REQUIRE(w.value()->Close().ok());
}

// Every byte of a small compressed log's sections, a bit flipped (a sample unless SLABLOG_LONG):
// whatever is read is the original records with some left out, what was lost is at most one
// section's records (and the record it began), and a loss is always reported.
TEST_CASE("AFlippedBitInACompressedSectionCostsThatSectionAndIsAlwaysReported") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 600, 12);
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records);
  const auto want = ByStream(ReadAll(dir.path("plain.slog")).records);
  const auto sections = Sections(dir.path("packed.slog"));
  std::vector<std::pair<const SectionSpan*, uint64_t>> places;  // section, file offset
  for (const SectionSpan& s : sections) {
    if (!s.compressed) continue;
    for (uint64_t at = s.offset; at < s.end; ++at) places.emplace_back(&s, at);
  }
  REQUIRE(places.size() > 10000);
  uint64_t flips = 0, lossy = 0;
  for (size_t i : SweepPositions(places.size(), 1500, TestSeed())) {
    const auto [section, at] = places[i];
    const int bit = static_cast<int>(i % 8);
    FlipBit(section->file, at, bit);
    ReaderOptions o;
    o.decode_ahead = i % 2 == 0;  // half of them with helpers decoding ahead
    const ReadResult got = ReadAll(dir.path("packed.slog"), o);
    FlipBit(section->file, at, bit);
    ++flips;
    REQUIRE(got.opened);
    const auto by = ByStream(got.records);
    for (const auto& [name, rs] : by) {
      REQUIRE_MESSAGE(IsSubsequence(rs, want.at(name)), "flip at ", at, " bit ", bit);
    }
    const uint64_t missing = Missing(by, want);
    CHECK_MESSAGE(missing <= section->records + 1, "flip at ", at, ": ", missing, " lost, section holds ",
                  section->records);
    if (missing > 0) {
      ++lossy;
      CHECK_MESSAGE(!got.reporter.events.empty(), "flip at ", at, " lost ", missing, " records silently");
      const bool named = got.reporter.Has(CorruptionKind::kMissingData) || got.reporter.Has(CorruptionKind::kBadSection);
    CHECK(named);
    }
  }
  MESSAGE(flips << " flips in " << places.size() << " bytes of compressed sections, " << lossy << " lost records");
  CHECK(lossy > flips / 2);
}

// The file cut at any length: each stream keeps a prefix of its records, and the loss is reported.
TEST_CASE("ACompressedLogCutAnywhereKeepsAPrefixOfEachStreamAndSaysSo") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 400, 12);
  CompressedWriterOptions one_slab = SmallCompressed();
  one_slab.slab_bytes = 64 << 20;
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records, one_slab);
  const auto want = ByStream(ReadAll(dir.path("plain.slog")).records);
  const std::string file = SlabPath(dir.path("packed.slog"), 0);
  REQUIRE(ListSlabFiles(dir.path("packed.slog")).size() == 1);
  const std::string whole = ReadFile(file);
  uint64_t cuts = 0;
  for (size_t length : SweepPositions(whole.size(), 800, TestSeed())) {
    if (length == 0) continue;
    WriteFile(file, whole.substr(0, length));
    const ReadResult got = ReadAll(dir.path("packed.slog"));
    ++cuts;
    if (!got.opened) continue;  // too short for a slab header: refused
    const auto by = ByStream(got.records);
    for (const auto& [name, rs] : by) {
      const auto& all = want.at(name);
      REQUIRE(rs.size() <= all.size());
      CHECK_MESSAGE(std::equal(rs.begin(), rs.end(), all.begin()), "cut at ", length);
    }
    CHECK_MESSAGE(!got.reporter.events.empty(), "cut at ", length, " not reported");
  }
  WriteFile(file, whole);
  MESSAGE(cuts << " cut lengths of " << whole.size());
}

// A header whose CRCs are right but whose numbers lie: refused before anything is allocated by
// them, and costs only its section.
TEST_CASE("AHostileCompressedHeaderWithValidCrcsIsDamageNotAnAllocation") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 300, 10);
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records);
  const auto want = ByStream(ReadAll(dir.path("plain.slog")).records);
  const auto sections = Sections(dir.path("packed.slog"));
  const SectionSpan* target = nullptr;
  for (const SectionSpan& s : sections) {
    if (s.compressed && s.records > 2) target = &s;
  }
  REQUIRE(target != nullptr);
  const std::string original = ReadFile(target->file);
  const LogId id = LogIdOf(target->file);
  auto rewrite = [&](const std::function<void(SectionClose&)>& lie) {
    std::string bytes = original;
    auto* header = reinterpret_cast<uint8_t*>(bytes.data() + target->offset);
    auto close = DecodeSectionClose(id, std::span<const uint8_t>(header, kSectionHeaderSize));
    REQUIRE(close);
    lie(*close);
    EncodeSectionClose(id, *close, std::span<uint8_t, kSectionHeaderSize>(header, kSectionHeaderSize));
    WriteFile(target->file, bytes);
  };
  const std::vector<std::pair<const char*, std::function<void(SectionClose&)>>> lies = {
      {"raw size 4 GiB", [](SectionClose& c) { c.raw_size = 0xFFFFFFFF; }},
      {"raw size 64 MiB + 1", [](SectionClose& c) { c.raw_size = static_cast<uint32_t>(kMaxCompressedSectionRaw + 1); }},
      {"frame count huge", [](SectionClose& c) { c.frame_count = uint64_t{1} << 62; }},
      {"frame count + 1", [](SectionClose& c) { c.frame_count += 1; }},
      {"frame count - 1", [](SectionClose& c) { c.frame_count -= 1; }},
      {"payload bytes + 16", [](SectionClose& c) { c.payload_bytes += 16; }},
      {"payload bytes huge", [](SectionClose& c) { c.payload_bytes = ~uint64_t{0}; }},
      {"filled - 1", [](SectionClose& c) { c.filled -= 1; }},
      {"data crc", [](SectionClose& c) { c.data_crc ^= 1; }},
  };
  for (const auto& [what, lie] : lies) {
    rewrite(lie);
    const ReadResult got = ReadAll(dir.path("packed.slog"));
    REQUIRE(got.opened);
    const auto by = ByStream(got.records);
    for (const auto& [name, rs] : by) REQUIRE_MESSAGE(IsSubsequence(rs, want.at(name)), what);
    CHECK_MESSAGE(Missing(by, want) <= target->records + 1, what);
    CHECK_MESSAGE(Missing(by, want) > 0, what);
    CHECK_MESSAGE(!got.reporter.events.empty(), what);
  }
  WriteFile(target->file, original);
  CHECK(ReadAll(dir.path("packed.slog")).reporter.events.empty());
}

TEST_CASE("RecoverOfADamagedCompressedLogLosesOnlyTheDamagedSection") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 800, 11);
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records);
  const auto sections = Sections(dir.path("packed.slog"));
  const SectionSpan* target = nullptr;
  for (const SectionSpan& s : sections) {
    if (s.compressed && s.records > 2 && target == nullptr && s.stream == "text") target = &s;
  }
  REQUIRE(target != nullptr);
  FlipBit(target->file, target->end - 5, 3);  // in its zstd frame
  CollectingReporter problems;
  auto r = Recover(dir.path("packed.slog"), dir.path("saved.slog"), SmallOptions(), &problems);
  REQUIRE(r);
  CHECK(r->problems >= 1);
  uint64_t lost = 0;
  for (const RecoverStream& s : r->streams) lost += s.records_lost;
  CHECK(lost >= target->records);
  CHECK(r->records + target->records + 1 >= records.size());
  const ReadResult saved = ReadAll(dir.path("saved.slog"));
  CHECK(saved.reporter.events.empty());
  CHECK(saved.records.size() == r->records);
  auto verified = Verify(dir.path("packed.slog"), {}, nullptr);
  REQUIRE(verified);
  CHECK(verified->damage >= 1);
  CHECK_FALSE(verified->ok());
}

TEST_CASE("TheSectionCodecRebuildsFramesExactlyAndRefusesContentThatDisagrees") {
  // Frames of all kinds and timestamps that go backwards and wrap.
  std::string frames;
  const int64_t times[] = {5, -3, INT64_MAX, INT64_MIN, 0};
  const uint8_t kinds[] = {1, 2, 3, 4, 1};
  uint64_t payload = 0;
  for (int i = 0; i < 5; ++i) {
    std::string p = std::string(static_cast<size_t>(i * 7 + 9), static_cast<char>('a' + i));
    uint8_t h[kFrameHeaderSize] = {};
    coding::Store<uint32_t>(h, 0xA0B0C0D0u + static_cast<uint32_t>(i));
    coding::Store<uint32_t>(h + 4, static_cast<uint32_t>(p.size()));
    coding::Store<int64_t>(h + 8, times[i]);
    coding::Store<uint32_t>(h + 16, kinds[i] | (static_cast<uint32_t>(i) << 8));
    frames.append(reinterpret_cast<const char*>(h), sizeof h);
    frames += p;
    payload += p.size();
  }
  const std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(frames.data()), frames.size());
  SectionCodec codec;
  std::vector<uint8_t> stored;
  uint32_t raw = 0;
  REQUIRE(codec.Encode(in, 5, 3, &stored, &raw));
  CHECK(raw == 5 * 16 + payload);
  SectionClose close;
  close.filled = stored.size();
  close.frame_count = 5;
  close.payload_bytes = payload;
  close.raw_size = raw;
  close.data_crc = StoredDataCrc(77, stored);
  close.first_t = 5;
  close.last_t = 0;
  close.record_count = 3;  // the FULL frames 0 and 4, and the LAST 3
  std::vector<uint8_t> out;
  const auto problem = codec.Decode(stored, close, 77, &out);
  REQUIRE_MESSAGE(!problem, problem.value_or(""));
  CHECK(std::string(out.begin() + kSectionHeaderSize, out.end()) == frames);
  CHECK(codec.Decode(stored, close, 78, &out));  // another section's seed
  SectionClose wrong = close;
  wrong.payload_bytes += 1;
  CHECK(codec.Decode(stored, wrong, 77, &out));
  CHECK(codec.Decode(std::span<const uint8_t>(stored).first(stored.size() - 1), close, 77, &out));
  // The header's counts and times must be the frames': export --since and info trust them.
  for (auto lie : std::vector<std::function<void(SectionClose&)>>{[](SectionClose& c) { c.record_count = 7; },
                                                                  [](SectionClose& c) { c.first_t = 4; },
                                                                  [](SectionClose& c) { c.last_t = 1; }}) {
    SectionClose forged = close;
    lie(forged);
    CHECK(codec.Decode(stored, forged, 77, &out));
  }
}

// helper-23's findings. A compressed log is written whole: one cut short (a slab file gone, or
// cut) is damage, never a crash's harmless torn tail, so export exits 1 and compress refuses it.
TEST_CASE("ACompressedLogCutShortIsDamageNotATornTail") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 3000, 12);
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records);
  auto slabs = ListSlabFiles(dir.path("packed.slog"));
  REQUIRE(slabs.size() > 2);
  std::filesystem::remove(slabs.back().second);  // the last slab gone
  CollectingReporter problems;
  auto v = Verify(dir.path("packed.slog"), {}, &problems);
  REQUIRE(v);
  CHECK(v->damage >= 1);
  CHECK(problems.Has(CorruptionKind::kMissingData));
  auto again = Compress(dir.path("packed.slog"), dir.path("again.slog"), SmallCompressed(), nullptr);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Errc::kCorruption);
  // A file cut in its last slab: the same.
  const std::string last = slabs[slabs.size() - 2].second;
  ShrinkSize(last, std::filesystem::file_size(last) / 2);
  CHECK(Verify(dir.path("packed.slog"), {}, nullptr)->damage >= 1);
  // truncate does not repair it (it points to recover), and write --append does not take it.
  CHECK_FALSE(Truncate(dir.path("packed.slog"), {}, nullptr));
  WritePlainAndCompressed(dir.path("plain2.slog"), dir.path("packed2.slog"), records);
  WriterOptions append = SmallOptions();
  append.append = true;
  auto w = Writer::Open(dir.path("packed2.slog"), append);
  REQUIRE_FALSE(w);
  CHECK(w.error().message.find("compressed") != std::string::npos);
}

// A damaged compressed section whose close block verifies costs its records, and the stream's
// later records keep their numbers (export's seq), also when a record crossed the section.
TEST_CASE("RecordsAfterADamagedCompressedSectionKeepTheirNumbers") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 900, 14);  // many records in fragments
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records);
  // Each record's number in its stream, from the plain log.
  std::map<std::string, uint64_t> index_of;  // stream + payload -> index
  {
    auto reader = Reader::Open(dir.path("plain.slog"), {}, nullptr);
    REQUIRE(reader);
    Item item;
    while (reader.value()->Next(&item)) {
      if (item.kind != ItemKind::kRecord) continue;
      index_of[std::string(item.record.stream_name) + "/" +
               std::string(reinterpret_cast<const char*>(item.record.payload.data()), item.record.payload.size())] =
          item.record.index;
    }
  }
  uint64_t damaged = 0;
  for (const SectionSpan& s : Sections(dir.path("packed.slog"))) {
    if (!s.compressed || s.stream == "json") continue;
    FlipBit(s.file, s.end - 3, 1);  // in its zstd frame
    auto reader = Reader::Open(dir.path("packed.slog"), {}, nullptr);
    REQUIRE(reader);
    Item item;
    uint64_t checked = 0;
    while (reader.value()->Next(&item)) {
      if (item.kind != ItemKind::kRecord) continue;
      const std::string key = std::string(item.record.stream_name) + "/" +
                              std::string(reinterpret_cast<const char*>(item.record.payload.data()), item.record.payload.size());
      REQUIRE(index_of.count(key) == 1);
      CHECK_MESSAGE(item.record.index == index_of[key], "damage at ", s.offset, " in ", s.file);
      ++checked;
    }
    CHECK(reader.value()->summary().compressed_sections_damaged == 1);
    CHECK(checked + s.records + 1 >= records.size());
    FlipBit(s.file, s.end - 3, 1);
    if (++damaged == 12) break;
  }
  CHECK(damaged == 12);
}

}  // namespace slablog::test

namespace slablog::test {

// Helpers decode compressed sections ahead into kDecodeAhead buffers, reused section by section:
// a section the reader does not read (another stream's, or one skipped as a repeat) must still
// be passed in order, or a helper decoding it late overwrites the buffer of the section four on,
// which the reader then takes as that section's frames (three helpers: i and i + 4 differ).
TEST_CASE("DecodeAheadGivesEveryRecordWhenTheReaderSkipsSections") {
  TempDir dir;
  const auto records = MixedRecords(TestSeed(), 6000, 12);
  CompressedWriterOptions o = SmallCompressed();
  o.section_bytes = 4096;
  o.slab_bytes = 1 << 20;
  WritePlainAndCompressed(dir.path("plain.slog"), dir.path("packed.slog"), records, o);
  ReaderOptions one;
  one.threads = 1;
  one.only_streams = {"text"};
  const ReadResult want = ReadAll(dir.path("packed.slog"), one);
  REQUIRE(want.summary.corruptions == 0);
  for (int round = 0; round < 20; ++round) {
    ReaderOptions ahead = one;
    ahead.threads = 4;
    ahead.decode_ahead = true;
    const ReadResult got = ReadAll(dir.path("packed.slog"), ahead);
    CHECK(got.summary.corruptions == 0);
    REQUIRE(got.records == want.records);
  }
}

}  // namespace slablog::test
