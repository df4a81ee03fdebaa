// The power-cut simulator's scenarios: a real Writer, appending from several threads, synced at
// random points by a control thread that snapshots the log's files after each completed Sync()
// and at the cut.
#include "powercut_sim.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "slablog/format.h"

namespace slablog::test::powercut {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

uint64_t RecordKey(uint64_t seed, uint32_t stream, uint64_t index) {
  return Mix(Mix(seed) ^ Mix((uint64_t{stream} << 48) ^ index));
}

// Sizes skewed towards small records, with the sizes that fill a section's first frame exactly
// (and one byte either side), and records of up to three sections.
uint64_t RecordSize(uint64_t key, uint64_t section_size) {
  const uint64_t frame_room = section_size - kSectionHeaderSize - kFrameHeaderSize;
  const uint64_t r = Mix(key + 1);
  const uint64_t pick = r % 100;
  const uint64_t v = r >> 8;
  if (pick < 8) return 0;
  if (pick < 40) return v % 65;
  if (pick < 65) return v % 1025;
  if (pick < 80) return v % (frame_room + 1);
  if (pick < 92) {
    const uint64_t edges[] = {frame_room - 1,
                              frame_room,
                              frame_room + 1,
                              frame_room - kFrameHeaderSize,
                              frame_room + kFrameHeaderSize,
                              2 * frame_room,
                              2 * frame_room - kFrameHeaderSize,
                              2 * frame_room + 1,
                              section_size,
                              section_size - kFrameHeaderSize};
    return edges[v % std::size(edges)];
  }
  return v % (3 * section_size + 1);
}

struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bytes{0};
  std::atomic<int> running{0};
  std::vector<std::atomic<uint64_t>> done;     // Append returned OK
  std::vector<std::atomic<uint64_t>> started;  // Append called
  std::mutex error_mu;
  std::string error;
  explicit Shared(size_t streams) : done(streams), started(streams) {}
};

// One writer thread: appends to its streams in turn until its budget is spent or told to stop.
void AppendLoop(Writer* w, const Scenario& sc, std::vector<uint32_t> streams,
                std::vector<StreamHandle> handles, uint64_t budget, Shared* shared) {
  uint64_t spent = 0;
  const uint64_t section = sc.options.section_size;
  for (size_t turn = 0; !shared->stop.load(std::memory_order_relaxed) && spent < budget; ++turn) {
    const size_t k = turn % streams.size();
    const uint32_t s = streams[k];
    const uint64_t i = shared->started[s].load(std::memory_order_relaxed);
    const std::string payload = ExpectedPayload(sc.seed, s, i, section);
    shared->started[s].store(i + 1, std::memory_order_release);
    if (Status st = w->Append(handles[k], payload, ExpectedTimestamp(s, i)); !st.ok()) {
      std::lock_guard lock(shared->error_mu);
      shared->error = "append to stream " + std::to_string(s) + " failed: " + Describe(st.error());
      break;
    }
    shared->done[s].store(i + 1, std::memory_order_release);
    spent += payload.size() + 32;
    shared->bytes.fetch_add(payload.size() + 32, std::memory_order_relaxed);
  }
  shared->running.fetch_sub(1);
}

// Waits until the writers have appended `bytes` or all stopped.
void WaitForBytes(const Shared& shared, uint64_t bytes) {
  while (shared.bytes.load() < bytes && shared.running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

std::vector<uint64_t> Counts(const std::vector<std::atomic<uint64_t>>& counts) {
  std::vector<uint64_t> out;
  for (const auto& c : counts) out.push_back(c.load(std::memory_order_acquire));
  return out;
}

struct Plan {
  uint64_t total = 0;             // bytes to append in all (records plus 32 each)
  uint64_t cut_at = 0;            // the cut, once this many are appended (unless `closes`)
  std::vector<uint64_t> sync_at;  // Sync() once this many are appended
  bool closes = false;            // the cut comes after Close()
};

// Sync() (then a snapshot, and the records counted before it become durable).
void SyncAndSnapshot(Writer& w, const std::vector<uint64_t>& before, const std::string& dir, Scenario* sc) {
  if (Status st = w.Sync(); !st.ok()) {
    sc->error = "sync failed: " + Describe(st.error());
    return;
  }
  sc->at_sync = Snapshot(dir);
  sc->durable = before;
  ++sc->syncs;
}

// Several writer threads appending while this one syncs and cuts: the interleaving differs from
// run to run.
void RunThreads(Writer& w, const Plan& plan, const std::vector<std::vector<uint32_t>>& owned,
                const std::vector<StreamHandle>& handles, const std::string& dir, Scenario* sc,
                Shared* shared) {
  shared->running = sc->threads;
  std::vector<std::thread> threads;
  for (const auto& streams : owned) {
    std::vector<StreamHandle> mine;
    for (uint32_t s : streams) mine.push_back(handles[s]);
    threads.emplace_back(AppendLoop, &w, std::cref(*sc), streams, mine,
                         plan.total / static_cast<uint64_t>(sc->threads), shared);
  }
  for (uint64_t at : plan.sync_at) {
    WaitForBytes(*shared, at);
    SyncAndSnapshot(w, Counts(shared->done), dir, sc);
  }
  if (!plan.closes) {
    WaitForBytes(*shared, plan.cut_at);
    sc->at_cut = Snapshot(dir);
  }
  shared->stop = true;
  for (auto& t : threads) t.join();
}

// One writer, driven from this thread between syncs and the cut: the same seed gives the same
// files, so a failing image is rebuilt exactly from its seed.
void RunInline(Writer& w, const Plan& plan, const std::vector<StreamHandle>& handles, const std::string& dir,
               Scenario* sc, Shared* shared) {
  uint64_t bytes = 0;
  size_t next_sync = 0;
  for (size_t turn = 0;; ++turn) {
    while (next_sync < plan.sync_at.size() && (bytes >= plan.sync_at[next_sync] || bytes >= plan.total)) {
      SyncAndSnapshot(w, Counts(shared->done), dir, sc);
      ++next_sync;
    }
    if (!plan.closes && (bytes >= plan.cut_at || bytes >= plan.total)) {
      sc->at_cut = Snapshot(dir);
      return;
    }
    if (bytes >= plan.total) return;
    const uint32_t s = static_cast<uint32_t>(turn % handles.size());
    const uint64_t i = shared->started[s].load();
    const std::string payload = ExpectedPayload(sc->seed, s, i, sc->options.section_size);
    shared->started[s] = i + 1;
    if (Status st = w.Append(handles[s], payload, ExpectedTimestamp(s, i)); !st.ok()) {
      shared->error = "append to stream " + std::to_string(s) + " failed: " + Describe(st.error());
      return;
    }
    shared->done[s] = i + 1;
    bytes += payload.size() + 32;
  }
}

void Configure(Scenario* sc, std::mt19937_64& rng) {
  const uint64_t kib = 1024;
  sc->options.slab_size = (uint64_t{64} << (rng() % 3)) * kib;       // 64, 128, 256 KiB
  sc->options.section_size = (uint64_t{4} << (rng() % 3)) * kib;     // 4, 8, 16 KiB
  if (sc->options.section_size * 4 > sc->options.slab_size) sc->options.section_size = 4 * kib;
  sc->options.background_prefault = rng() % 2 == 0;
  sc->options.sync_often = rng() % 2 == 0;  // small pages, prefaulted for reading only
  // A fixed log id and creation time, so that a scenario with one writer thread lays down the
  // same bytes each time its seed is run.
  LogId id{};
  for (size_t k = 0; k < id.size(); ++k) id[k] = static_cast<uint8_t>(rng());
  sc->options.log_id = id;
  sc->options.created_ns = 1764000000000000000 + static_cast<int64_t>(rng() % 1000000000);
  const uint64_t c = rng() % 20;
  sc->cut = c < 13 ? CutKind::kWhileWriting
          : c < 15 ? CutKind::kNoSyncYet
          : c < 18 ? CutKind::kAfterCloseSynced
                   : CutKind::kAfterCloseUnsynced;
  sc->options.sync = SyncPolicy::kManual;
  if (sc->cut == CutKind::kAfterCloseSynced) sc->options.sync = SyncPolicy::kOnClose;
  if (sc->cut == CutKind::kWhileWriting && rng() % 4 == 0) sc->options.sync = SyncPolicy::kEverySlab;
  sc->threads = rng() % 4 == 0 ? 1 : 2 + static_cast<int>(rng() % 2);
}

}  // namespace

const char* CutKindName(CutKind kind) {
  switch (kind) {
    case CutKind::kWhileWriting: return "while-writing";
    case CutKind::kNoSyncYet: return "no-sync-yet";
    case CutKind::kAfterCloseSynced: return "after-close-synced";
    case CutKind::kAfterCloseUnsynced: return "after-close-unsynced";
  }
  return "?";
}

std::string Scenario::Describe() const {
  std::string d = "scenario seed " + std::to_string(seed) + " (cut " + CutKindName(cut) + ", " +
                  std::to_string(threads) + " threads, " + std::to_string(streams) + " streams, slab " +
                  std::to_string(options.slab_size >> 10) + " KiB, section " +
                  std::to_string(options.section_size >> 10) + " KiB, " +
                  (options.sync_often ? "sync_often, " : "") + std::to_string(syncs) +
                  " syncs; durable/appended per stream:";
  for (size_t s = 0; s < durable.size(); ++s) {
    d += " " + std::to_string(durable[s]) + "/" + std::to_string(appended[s]);
  }
  return d + ")";
}

std::string StreamName(uint32_t stream) { return "s" + std::to_string(stream); }

int64_t ExpectedTimestamp(uint32_t stream, uint64_t index) {
  return static_cast<int64_t>((uint64_t{stream} << 40) | index);
}

std::string ExpectedPayload(uint64_t seed, uint32_t stream, uint64_t index, uint64_t section_size) {
  const uint64_t key = RecordKey(seed, stream, index);
  std::string p(RecordSize(key, section_size), '\0');
  for (size_t i = 0; i < p.size(); i += 8) {
    const uint64_t word = Mix(key ^ i);
    std::memcpy(p.data() + i, &word, std::min<size_t>(8, p.size() - i));
  }
  return p;
}

Scenario RunScenario(uint64_t seed, const std::string& work_dir) {
  Scenario sc;
  sc.seed = seed;
  std::mt19937_64 rng(Mix(seed));
  Configure(&sc, rng);
  auto opened = Writer::Open(work_dir + "/" + kBaseName, sc.options);
  if (!opened) {
    sc.error = "cannot open the writer: " + Describe(opened.error());
    return sc;
  }
  Writer& w = *opened.value();
  // Each thread owns one or two streams.
  std::vector<std::vector<uint32_t>> owned(static_cast<size_t>(sc.threads));
  uint32_t next = 0;
  for (auto& streams : owned) {
    const uint64_t n = 1 + rng() % 2;
    for (uint64_t k = 0; k < n; ++k) streams.push_back(next++);
  }
  sc.streams = static_cast<int>(next);
  std::vector<StreamHandle> handles;
  for (uint32_t s = 0; s < next; ++s) {
    auto h = w.OpenStream({StreamName(s), Encoding::kBinary, s});
    if (!h) {
      sc.error = "cannot open stream " + std::to_string(s) + ": " + Describe(h.error());
      return sc;
    }
    handles.push_back(h.value());
  }
  // Several slabs' worth in all, each thread a share; sync points and the cut as byte counts.
  Plan plan;
  plan.total = sc.options.slab_size * (2 + rng() % 4);
  plan.closes = sc.cut == CutKind::kAfterCloseSynced || sc.cut == CutKind::kAfterCloseUnsynced;
  plan.cut_at = plan.closes ? plan.total : plan.total / 8 + rng() % (plan.total - plan.total / 8);
  const uint64_t sync_count = sc.cut == CutKind::kNoSyncYet ? 0 : rng() % 5;
  for (uint64_t k = 0; k < sync_count; ++k) plan.sync_at.push_back(rng() % plan.cut_at);
  std::sort(plan.sync_at.begin(), plan.sync_at.end());
  sc.durable.assign(next, 0);
  Shared shared(next);
  if (sc.threads == 1) {
    RunInline(w, plan, handles, work_dir, &sc, &shared);
  } else {
    RunThreads(w, plan, owned, handles, work_dir, &sc, &shared);
  }
  sc.appended = Counts(shared.started);
  if (!shared.error.empty()) sc.error = shared.error;
  if (plan.closes) {
    const std::vector<uint64_t> before = Counts(shared.done);
    if (Status st = w.Close(); !st.ok()) sc.error = "close failed: " + Describe(st.error());
    sc.at_cut = Snapshot(work_dir);
    if (sc.cut == CutKind::kAfterCloseSynced) {
      sc.at_sync = sc.at_cut;
      sc.durable = before;
      ++sc.syncs;
    }
  }
  // What the writer does from here on (closing on destruction) is after the cut.
  return sc;
}

DirState Snapshot(const std::string& dir) {
  for (;;) {
    DirState state;
    bool vanished = false;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      if (!in) {
        vanished = true;
        break;
      }
      std::ostringstream bytes;
      bytes << in.rdbuf();
      state[entry.path().filename().string()] = bytes.str();
    }
    if (!vanished) return state;
  }
}

void WriteDir(const DirState& state, const std::string& dir) {
  for (const auto& [name, bytes] : state) {
    std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE_MESSAGE(out.good(), "cannot write ", dir, "/", name);
  }
}

void CopyDir(const std::string& from, const std::string& to) {
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    std::filesystem::copy_file(entry.path(), to + "/" + entry.path().filename().string(),
                               std::filesystem::copy_options::overwrite_existing);
  }
}

void ResetDir(const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
}

std::string MakeWorkDir(const std::string& prefix, bool in_memory) {
  const std::string root =
      in_memory && std::filesystem::is_directory("/dev/shm") ? "/dev/shm"
                                                              : std::filesystem::temp_directory_path().string();
  std::string templ = root + "/" + prefix + "-XXXXXX";
  REQUIRE(mkdtemp(templ.data()) != nullptr);
  return templ;
}

}  // namespace slablog::test::powercut
