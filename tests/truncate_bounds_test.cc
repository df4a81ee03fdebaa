// Truncate against headers whose sizes the file does not back: a last slab file cut short inside a
// section, and slab capacities and section sizes crafted (with valid CRCs) to reach far past the
// file. Truncate must refuse, naming the file and the section, and leave every byte as it was:
// it never reads past a file's bytes, never grows a file and never writes past its end.
#include <doctest/doctest.h>

#include <filesystem>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// A log as a writer killed now would leave it: several slabs, two streams whose sections in the
// last slab are closed (moved on from) and open.
std::string CrashedCopy(const TempDir& dir, const TempDir& copy) {
  WriterOptions o = SmallOptions();
  o.background_prefault = false;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 120; ++i) {
    records.emplace_back("a", std::string(700, static_cast<char>('a' + i % 26)));
    records.emplace_back("b", std::string(300, static_cast<char>('A' + i % 26)));
  }
  return WriteCrashedLog(dir.path("c.slog"), copy.dir(), o, records);
}

std::string LastSlabFile(const std::string& base) {
  const auto files = ListSlabFiles(base);
  REQUIRE(files.size() >= 2);
  return files.back().second;
}

struct SectionAt {
  uint64_t offset = 0;
  SectionOpen open;
  bool closed = false;
};

// The section headers of the (one) slab in `bytes`, in file order.
std::vector<SectionAt> Sections(const std::string& bytes, const LogId& id, uint32_t page) {
  std::vector<SectionAt> out;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  for (uint64_t at = page; at + kSectionHeaderSize <= bytes.size(); at += page) {
    auto open = DecodeSectionOpen(id, {p + at, kSectionHeaderSize});
    if (!open || open->stream_id == kEndStream) continue;
    out.push_back({at, *open, DecodeSectionClose(id, {p + at, kSectionHeaderSize}).has_value()});
  }
  return out;
}

// Gives the slab in `path` the capacity `capacity` and its last section (an open one) the size
// that makes it end at `section_end`, both with valid CRCs.
void CraftSizes(const std::string& path, uint64_t capacity, uint64_t section_end) {
  std::string b = ReadFile(path);
  auto* p = reinterpret_cast<uint8_t*>(b.data());
  auto slab = DecodeSlabHeader({p, kSlabHeaderSize});
  REQUIRE(slab.has_value());
  slab->capacity = capacity;
  EncodeSlabHeader(*slab, std::span<uint8_t, kSlabHeaderSize>(p, kSlabHeaderSize));
  const auto sections = Sections(b, slab->log_id, slab->page_size);
  REQUIRE_FALSE(sections.empty());
  const SectionAt& last = sections.back();
  REQUIRE_FALSE(last.closed);  // an open section: no close CRC covers its size
  SectionOpen open = last.open;
  open.size = section_end - last.offset;
  EncodeSectionOpen(slab->log_id, open, std::span<uint8_t, 32>(p + last.offset, 32));
  WriteFile(path, b);
}

// Truncate, dry run and real, refuses with a corruption error at `offset` of `file`, and no byte
// of any slab file changes (nor its size).
void RequireRefused(const std::string& base, const std::string& file, uint64_t offset) {
  std::vector<std::string> before;
  for (const auto& [index, path] : ListSlabFiles(base)) before.push_back(ReadFile(path));
  for (bool dry_run : {true, false}) {
    CAPTURE(dry_run);
    TruncateOptions o;
    o.dry_run = dry_run;
    auto t = Truncate(base, o, nullptr);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().code == Errc::kCorruption);
    CHECK(t.error().file == file);
    CHECK(t.error().offset == offset);
    CHECK_MESSAGE(t.error().message.find("slablog recover") != std::string::npos, Describe(t.error()));
  }
  std::vector<std::string> after;
  for (const auto& [index, path] : ListSlabFiles(base)) after.push_back(ReadFile(path));
  CHECK(after == before);
}

}  // namespace

TEST_CASE("TruncateLastSlabFileEndsInAClosedSectionsFrames") {
  // Reported as SIGSEGV: the filled area a close block claims was scanned for written bytes past
  // the end of the file. The end marker would have to go past the end of the file too.
  TempDir dir, copy;
  const std::string base = CrashedCopy(dir, copy);
  const std::string last = LastSlabFile(base);
  const std::string bytes = ReadFile(last);
  const auto sections = Sections(bytes, LogIdOf(last), 4096);
  const SectionAt* closed = nullptr;
  for (const SectionAt& s : sections) {
    if (s.closed) closed = &s;
  }
  REQUIRE(closed != nullptr);
  // Cut between two of its frames, inside the area its close block says is filled: the frames
  // before the cut are whole, the slab and the section are cut short.
  std::vector<FrameLoc> frames;
  for (const FrameLoc& f : Frames(base)) {
    if (f.file == last && f.section_offset == closed->offset) frames.push_back(f);
  }
  REQUIRE(frames.size() >= 2);
  const uint64_t cut = frames[frames.size() / 2].offset;
  ShrinkSize(last, cut);
  RequireRefused(base, last, closed->offset);
}

TEST_CASE("TruncateSectionSizeCraftedToGrowTheFile") {
  // Reported as a 64 KiB slab file grown to 512 MiB, exit 0: the end marker went where a crafted
  // section size said the section ended.
  TempDir dir, copy;
  const std::string base = CrashedCopy(dir, copy);
  const std::string last = LastSlabFile(base);
  const uint64_t size = std::filesystem::file_size(last);
  const uint64_t capacity = uint64_t{512} << 20;
  CraftSizes(last, capacity, capacity - 4096);
  const auto sections = Sections(ReadFile(last), LogIdOf(last), 4096);
  RequireRefused(base, last, sections.back().offset);
  CHECK(std::filesystem::file_size(last) == size);
}

TEST_CASE("TruncateSectionSizeCraftedPastAnyFile") {
  // Reported as exit 3: the end marker written at offset 3,602,879,701,896,404,996.
  TempDir dir, copy;
  const std::string base = CrashedCopy(dir, copy);
  const std::string last = LastSlabFile(base);
  const uint64_t capacity = uint64_t{0x32} << 56;
  CraftSizes(last, capacity, capacity - 4096);
  const auto sections = Sections(ReadFile(last), LogIdOf(last), 4096);
  RequireRefused(base, last, sections.back().offset);
  SUBCASE("and the largest capacity a slab header can hold") {
    CraftSizes(last, ~uint64_t{0} / 4096 * 4096, 0x32ULL << 56);
    RequireRefused(base, last, sections.back().offset);
  }
}

}  // namespace slablog::test
