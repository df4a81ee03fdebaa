// Checking one power-cut image against the crash model's guarantees:
//   G1 nothing made up: every record returned (by the Reader, after truncate, by recover) is
//      exactly one record appended to its stream, each at most once, in order;
//   G2 durable means durable: every record appended before the last completed Sync() is returned;
//   G3 no silent hole: when a stream lost a record and a later one survived, Verify reports damage,
//      Truncate refuses (Errc::kCorruption) and Recover returns both sides and reports problems.
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "powercut_sim.h"
#include "slablog/reader.h"
#include "slablog/recovery.h"

namespace slablog::test::powercut {
namespace {

constexpr size_t kMaxProblems = 12;

void Add(std::vector<std::string>* problems, std::string line) {
  if (problems->size() < kMaxProblems) problems->push_back(std::move(line));
}

// The first index of 0, 1, 2, ... that `got` (increasing) lacks although a later one is there.
std::optional<uint64_t> FirstHole(const std::vector<uint64_t>& got) {
  for (size_t k = 0; k < got.size(); ++k) {
    if (got[k] != k) return k;
  }
  return std::nullopt;
}

// G2: every durable record is in `got`.
void CheckDurable(const Scenario& sc, const std::vector<std::vector<uint64_t>>& got,
                  const std::string& what, std::vector<std::string>* problems) {
  for (size_t s = 0; s < sc.durable.size(); ++s) {
    const auto& g = got[s];
    const uint64_t have = static_cast<uint64_t>(std::count_if(
        g.begin(), g.end(), [&](uint64_t i) { return i < sc.durable[s]; }));
    if (have == sc.durable[s]) continue;
    uint64_t missing = 0;
    while (missing < g.size() && g[missing] == missing) ++missing;
    Add(problems, "G2 " + what + ": stream " + StreamName(static_cast<uint32_t>(s)) + " lacks record " +
                      std::to_string(missing) + ", durable since the last sync (" +
                      std::to_string(sc.durable[s]) + " durable, " + std::to_string(have) + " of them returned)");
  }
}

std::string Ids(const std::vector<uint64_t>& v) {
  std::string out;
  for (size_t k = 0; k < v.size() && k < 8; ++k) out += (k ? "," : "") + std::to_string(v[k]);
  return v.size() > 8 ? out + ",..." : out;
}

// `sub` appears in `super` in order (both increasing).
bool Contains(const std::vector<uint64_t>& super, const std::vector<uint64_t>& sub) {
  return std::includes(super.begin(), super.end(), sub.begin(), sub.end());
}

std::string LogPath(const std::string& dir) { return dir + "/" + kBaseName; }

void CheckTruncate(const Scenario& sc, const std::string& image_dir, const std::string& copy_dir,
                   const std::vector<std::vector<uint64_t>>& before, bool opened, ImageVerdict* v) {
  std::filesystem::create_directories(copy_dir);
  CopyDir(image_dir, copy_dir);
  auto& problems = v->problems;
  auto t = Truncate(LogPath(copy_dir), {}, nullptr);
  if (!t) {
    v->truncate_refused = true;
    if (v->hole && t.error().code != Errc::kCorruption) {
      Add(&problems, "G3 truncate: refused a log with a hole with " + std::string(ErrcName(t.error().code)) +
                         " instead of corruption: " + Describe(t.error()));
    }
    if (opened && t.error().code != Errc::kCorruption) {
      Add(&problems, "truncate failed on a log the reader opens: " + Describe(t.error()));
    }
    return;
  }
  v->truncated = true;
  if (v->hole) Add(&problems, "G3 truncate: repaired a log with a hole instead of refusing");
  auto after = Verify(LogPath(copy_dir), {.threads = 1, .progress = {}}, nullptr);
  if (!after || !after->ok()) {
    Add(&problems, "truncate: verify after a successful truncate is not ok" +
                       (after ? " (damage " + std::to_string(after->damage) + ", torn " + std::to_string(after->torn) +
                                    ", clean " + std::to_string(after->clean) + ")"
                              : ": " + Describe(after.error())));
  }
  std::vector<std::vector<uint64_t>> again;
  ReadIndexes(sc, LogPath(copy_dir), "after truncate", &again, &problems);
  for (size_t s = 0; s < before.size(); ++s) {
    if (again[s] != before[s]) {
      Add(&problems, "truncate: stream " + StreamName(static_cast<uint32_t>(s)) + " read " + Ids(before[s]) +
                         " before and " + Ids(again[s]) + " after");
    }
  }
  auto twice = Truncate(LogPath(copy_dir), {}, nullptr);
  if (!twice || twice->changed) {
    Add(&problems, "truncate: a second run " +
                       (twice ? std::string("changed the log again") : "failed: " + Describe(twice.error())));
  }
}

void CheckRecover(const Scenario& sc, const std::string& image_dir, const std::string& out_dir,
                  const std::vector<std::vector<uint64_t>>& before, bool opened, ImageVerdict* v) {
  std::filesystem::create_directories(out_dir);
  WriterOptions o;
  o.slab_size = uint64_t{256} << 10;
  o.section_size = uint64_t{64} << 10;
  o.sync = SyncPolicy::kManual;
  o.background_prefault = false;
  auto& problems = v->problems;
  auto r = Recover(LogPath(image_dir), LogPath(out_dir), o, nullptr);
  if (!r) {
    if (opened) Add(&problems, "recover failed on a log the reader opens: " + Describe(r.error()));
    return;
  }
  if (v->hole && r->problems == 0) Add(&problems, "G3 recover: a log with a hole, and recover reports no problem");
  std::vector<std::vector<uint64_t>> got;
  if (!ReadIndexes(sc, LogPath(out_dir), "recovered log", &got, &problems)) {
    Add(&problems, "recover: its output cannot be read");
    return;
  }
  for (size_t s = 0; s < before.size(); ++s) {
    if (!Contains(got[s], before[s])) {
      Add(&problems, "G3 recover: stream " + StreamName(static_cast<uint32_t>(s)) + " recovered " + Ids(got[s]) +
                         " but the reader returns " + Ids(before[s]));
    }
  }
  CheckDurable(sc, got, "recover", &problems);
}

}  // namespace

bool ReadIndexes(const Scenario& sc, const std::string& path, const std::string& what,
                 std::vector<std::vector<uint64_t>>* indexes, std::vector<std::string>* problems) {
  indexes->assign(static_cast<size_t>(sc.streams), {});
  ReaderOptions o;
  o.threads = 1;
  o.background_prefault = false;
  auto reader = Reader::Open(path, o, nullptr);
  if (!reader) return false;
  std::map<uint32_t, uint64_t> stream_of_id;  // stream id -> the stream its first record names
  Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind != ItemKind::kRecord) continue;
    const RecordView& rec = item.record;
    const uint64_t ts = static_cast<uint64_t>(rec.timestamp);
    const uint64_t s = ts >> 40;
    const uint64_t i = ts & ((uint64_t{1} << 40) - 1);
    const std::string where = "G1 " + what + ": record at offset " + std::to_string(rec.offset) + " of " +
                              (rec.slab ? rec.slab->file : std::string("?")) + " (stream " +
                              std::string(rec.stream_name) + ", " + std::to_string(rec.payload.size()) + " bytes)";
    // A stream whose catalog entry was lost has no name (recover calls it stream-ID): its records
    // are still known by their timestamps, but all must be of one stream.
    const bool unnamed = rec.stream_name.empty() || rec.stream_name.starts_with("stream-");
    const auto [known, fresh] = stream_of_id.emplace(rec.stream_id, s);
    if (s >= static_cast<uint64_t>(sc.streams) || known->second != s ||
        (!unnamed && rec.stream_name != StreamName(static_cast<uint32_t>(s)))) {
      Add(problems, where + ": timestamp " + std::to_string(rec.timestamp) + " names no record of this stream");
      continue;
    }
    if (i >= sc.appended[s]) {
      Add(problems, where + ": index " + std::to_string(i) + " was never appended");
      continue;
    }
    const std::string want = ExpectedPayload(sc.seed, static_cast<uint32_t>(s), i, sc.options.section_size);
    if (want.size() != rec.payload.size() ||
        !std::equal(want.begin(), want.end(), reinterpret_cast<const char*>(rec.payload.data()))) {
      Add(problems, where + ": is not record " + std::to_string(i) + " as appended (" +
                        std::to_string(want.size()) + " bytes): spliced, cut or stale bytes");
      continue;
    }
    auto& got = (*indexes)[s];
    if (!got.empty() && got.back() >= i) {
      Add(problems, where + ": record " + std::to_string(i) + " returned after record " +
                        std::to_string(got.back()) + " (duplicate or out of order)");
      continue;
    }
    got.push_back(i);
  }
  return true;
}

ImageVerdict CheckImage(const Scenario& sc, const std::string& image_dir, const std::string& scratch_dir,
                        const CheckOptions& options) {
  ResetDir(scratch_dir);
  ImageVerdict v;
  std::vector<std::vector<uint64_t>> got;
  v.reader_opened = ReadIndexes(sc, LogPath(image_dir), "reader", &got, &v.problems);
  for (const auto& g : got) v.records += g.size();
  CheckDurable(sc, got, "reader", &v.problems);
  std::string hole_at;
  for (size_t s = 0; s < got.size() && !v.hole; ++s) {
    if (auto h = FirstHole(got[s])) {
      v.hole = true;
      hole_at = "stream " + StreamName(static_cast<uint32_t>(s)) + " lost record " + std::to_string(*h) +
                " and record " + std::to_string(got[s][*h]) + " survived";
    }
  }
  auto verified = Verify(LogPath(image_dir), {.threads = 1, .progress = {}}, nullptr);
  if (v.hole && (!verified || verified->damage == 0)) {
    Add(&v.problems, "G3 verify: " + hole_at + ", and verify reports no damage" +
                         (verified ? " (torn " + std::to_string(verified->torn) + ")" : ": " + Describe(verified.error())));
  }
  if (v.reader_opened && !verified) Add(&v.problems, "verify failed on a log the reader opens: " + Describe(verified.error()));
  CheckTruncate(sc, image_dir, scratch_dir + "/truncated", got, v.reader_opened, &v);
  if (options.recover || v.hole) CheckRecover(sc, image_dir, scratch_dir + "/recovered", got, v.reader_opened, &v);
  if (v.hole) {
    for (auto& p : v.problems) {
      if (p.starts_with("G3")) p += " [" + hole_at + "]";
    }
  }
  return v;
}

}  // namespace slablog::test::powercut
