// Truncate's changes reach the disk in an order that leaves a log readable at every point: stopped
// after any of its writes, or by a power cut between any two of its syncs, the log reads as before
// or after the repair, or as a torn tail that a second run repairs, keeping the records the
// uninterrupted repair keeps. The log here is the hard case: a writer on reused slab files, killed
// in the middle of a record of three sections.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "io_faults.h"
#include "powercut_sim.h"
#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// What a writer taking over a retired log's files leaves when killed just before storing the kind
// byte (its last store) of the LAST fragment of a record of three sections (the FIRST and MIDDLE in
// sections it has closed) and of a frame of another stream. Its last slab file is a reused one,
// with the retired log's bytes past its last section.
std::string CrashedRecycledLog(const TempDir& dir, const TempDir& crash) {
  const std::string old_base = dir.path("old.slog");
  WriteRetiredLog(old_base, TestSeed() + 5);
  WriterOptions o = SmallOptions();
  o.recycle = old_base;
  o.background_prefault = false;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 40; ++i) records.emplace_back("a", "a:" + std::to_string(i) + std::string(300, 'a'));
  for (int i = 0; i < 5; ++i) records.emplace_back("big", "b:" + std::to_string(i) + std::string(100, 'b'));
  records.emplace_back("big", std::string(20000, 'B'));
  records.emplace_back("a", "a:last" + std::string(300, 'z'));
  const std::string base = WriteCrashedLog(dir.path("new.slog"), crash.dir(), o, records);
  for (const std::string stream : {"a", "big"}) {
    const auto frames = Frames(base);
    const auto last = std::find_if(frames.rbegin(), frames.rend(),
                                   [&](const FrameLoc& f) { return f.stream == stream; });
    REQUIRE(last != frames.rend());
    SetByte(last->file, last->offset + 16, 0);
  }
  REQUIRE(FindFrame(base, "big", FragmentKind::kFirst).section_closed);
  REQUIRE(FindFrame(base, "big", FragmentKind::kMiddle).section_closed);
  return base;
}

std::string Message(const Result<TruncateResult>& r) { return r ? "ok" : Describe(r.error()); }

// The log verifies clean and holds `want`.
void CheckRepaired(const std::string& base, const std::vector<ReadRecord>& want) {
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->ok(), problems.Describe());
  CHECK(ReadAll(base).records == want);
}

// The records of the log at `base` once repaired (a copy of it is).
std::vector<ReadRecord> RepairedRecords(const std::string& base) {
  TempDir full;
  const std::string copy = SnapshotLog(base, full.dir());
  auto t = Truncate(copy, {}, nullptr);
  REQUIRE_MESSAGE(t, Message(t));
  return ReadAll(copy).records;
}

// The files of the directory truncate repairs, as they are each time it calls fdatasync (all it
// wrote since its last sync), without repeats: each is on disk once the next is being written.
std::string g_sync_dir;
std::vector<powercut::DirState> g_sync_states;

void NoteState() {
  powercut::DirState now = powercut::Snapshot(g_sync_dir);
  if (g_sync_states.empty() || now != g_sync_states.back()) g_sync_states.push_back(std::move(now));
}

int NoteSyncPoint(io_faults::Op op, const char* /*path*/) {
  if (op == io_faults::Op::kFdatasync) NoteState();
  return 0;
}

// Repairs the log at `base`, the only one in its directory, and returns its files before, at
// every sync point and after.
std::vector<powercut::DirState> TruncateSyncPoints(const std::string& base) {
  g_sync_dir = std::filesystem::path(base).parent_path().string();
  g_sync_states.clear();
  NoteState();
  io_faults::SetHook(&NoteSyncPoint);
  auto t = Truncate(base, {}, nullptr);
  io_faults::SetHook(nullptr);
  REQUIRE_MESSAGE(t, Message(t));
  NoteState();
  return std::move(g_sync_states);
}

}  // namespace

TEST_CASE("TruncateOfARecycledLastSlabThatCannotBeTrimmedEndsInZeros") {
  // As at the writer's close: a reader holding the crashed log's last slab keeps truncate from
  // trimming it, and the retired log's bytes after the end marker must not stay there.
  TempDir dir, crash;
  const std::string base = CrashedRecycledLog(dir, crash);
  TruncateResult t;
  {
    auto live = Reader::Open(base, {}, nullptr);  // holds the last slab's trim lock
    REQUIRE(live);
    auto truncated = Truncate(base, {}, nullptr);
    REQUIRE_MESSAGE(truncated, Message(truncated));
    t = truncated.value();
  }
  REQUIRE(t.trim_deferred);
  REQUIRE(t.end_marker_file == ListSlabFiles(base).back().second);
  const std::string bytes = ReadFile(t.end_marker_file);
  REQUIRE(bytes.size() == SmallOptions().slab_size);  // untrimmed
  const size_t after_marker = t.end_marker_offset + kSectionHeaderSize;
  CHECK(bytes.find_first_not_of('\0', after_marker) == std::string::npos);
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->ok(), problems.Describe());
  // The trim a later run makes.
  auto again = Truncate(base, {}, nullptr);
  REQUIRE_MESSAGE(again, Message(again));
  CHECK(std::filesystem::file_size(t.end_marker_file) == t.end_marker_offset + kSectionHeaderSize);
}

TEST_CASE("TruncateOfARecycledLogStoppedAfterAnyWrite") {
  // Stopped after the end marker is written and before the trim, the retired log's bytes after
  // the marker would read as damage; between the two writes of a closed section's new close block,
  // the section would read as open, a hole in its stream. The second run refuses either.
  TempDir dir, crash;
  const std::string crashed = CrashedRecycledLog(dir, crash);
  const std::vector<ReadRecord> want = RepairedRecords(crashed);
  bool finished = false;
  for (uint64_t stop = 1; !finished; ++stop) {
    CAPTURE(stop);
    REQUIRE(stop < 1000);
    TempDir attempt;
    const std::string copy = SnapshotLog(crashed, attempt.dir());
    TruncateOptions partial;
    partial.stop_after_writes = stop;
    finished = Truncate(copy, partial, nullptr).has_value();
    auto second = Truncate(copy, {}, nullptr);
    REQUIRE_MESSAGE(second, Message(second));
    CheckRepaired(copy, want);
  }
}

TEST_CASE("TruncateSyncsAShrunkCloseBlockBeforeZeroingWhatItNoLongerClaims") {
  // Zeros on disk under the old close block, which still claims the frames they replaced, would
  // read as damage: the new close block must be on disk first. Seen from the sync points: one
  // has the new close block and the cut frame still there.
  TempDir dir, crash;
  const std::string crashed = CrashedRecycledLog(dir, crash);
  const LogId id = LogIdOf(SlabPath(crashed, 0));
  const std::vector<FrameLoc> shrunk = {FindFrame(crashed, "big", FragmentKind::kFirst),
                                        FindFrame(crashed, "big", FragmentKind::kMiddle)};
  const auto states = TruncateSyncPoints(crashed);
  for (const FrameLoc& cut : shrunk) {
    CAPTURE(cut.offset);
    const std::string name = std::filesystem::path(cut.file).filename().string();
    const auto close_of = [&](const powercut::DirState& state) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(state.at(name).data());
      return DecodeSectionClose(id, {bytes + cut.section_offset, kSectionHeaderSize});
    };
    const auto before = close_of(states.front());
    const auto after = close_of(states.back());
    REQUIRE(before.has_value());
    REQUIRE(after.has_value());
    REQUIRE(after->filled < before->filled);
    const auto frame_there = [&](const powercut::DirState& state) {
      return state.at(name).substr(cut.offset, kFrameHeaderSize) ==
             states.front().at(name).substr(cut.offset, kFrameHeaderSize);
    };
    REQUIRE_FALSE(frame_there(states.back()));
    bool ordered = false;
    for (const powercut::DirState& state : states) {
      const auto close = close_of(state);
      ordered = ordered || (close && close->filled == after->filled && frame_there(state));
    }
    CHECK_MESSAGE(ordered, "no sync between the new close block and the zeros after it");
  }
}

TEST_CASE("TruncateCutByAPowerCutAnywhere") {
  // Between two of truncate's syncs, a power cut keeps any of the sectors written since the first
  // (powercut_image.cc). Every such image is repaired by a second run, to the same records.
  TempDir dir, crash;
  const std::string crashed = CrashedRecycledLog(dir, crash);
  const std::vector<ReadRecord> want = RepairedRecords(crashed);
  const std::string name = std::filesystem::path(crashed).filename().string();
  const auto states = TruncateSyncPoints(crashed);
  REQUIRE(states.size() >= 3);
  const uint64_t images = 24 * TestScale();
  MESSAGE(states.size(), " states (before, at each sync, after); ", images,
          " power-cut images between each two");
  // In memory where there is some: the second runs sync many times.
  const std::string image = powercut::MakeWorkDir("slablog-truncate-powercut", true);
  const std::string base = image + "/" + name;
  for (size_t i = 0; i + 1 < states.size(); ++i) {
    powercut::Scenario cut;
    cut.seed = TestSeed() + i;
    cut.at_sync = states[i];
    cut.at_cut = states[i + 1];
    for (uint64_t index = 0; index < images; ++index) {
      powercut::ResetDir(image);
      const powercut::ImageInfo info = powercut::BuildImage(cut, index, image);
      CAPTURE(i);
      CAPTURE(info.mode);
      auto again = Truncate(base, {}, nullptr);
      REQUIRE_MESSAGE(again, Message(again));
      CheckRepaired(base, want);
    }
  }
  std::filesystem::remove_all(image);
}

}  // namespace slablog::test
