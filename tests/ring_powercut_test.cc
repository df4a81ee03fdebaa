// A power-cut simulator for rings that knows about the writer's own syncs. Every
// fdatasync, directory fsync and syncfs the library makes is seen (io_faults hook, called just
// before the call), and makes that file's bytes (or the directory's names) durable. Cuts are taken
// after appends and inside the writer, right before any of its syncs (so in the middle of a wrap).
// An image of a cut: each file under its durable or current name (per inode), each 512-byte sector
// that differs from its durable contents new or old, the size durable or current.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "io_faults.h"
#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace ringpc {

namespace fs = std::filesystem;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

std::string Payload(uint64_t seed, uint32_t s, uint64_t i, size_t size) {
  std::string p(size, '\0');
  const uint64_t key = Mix(seed ^ Mix((uint64_t{s} << 48) ^ i));
  for (size_t k = 0; k < size; k += 8) {
    const uint64_t w = Mix(key ^ k);
    std::memcpy(p.data() + k, &w, std::min<size_t>(8, size - k));
  }
  return p;
}
int64_t Ts(uint32_t s, uint64_t i) { return static_cast<int64_t>((uint64_t{s} << 40) | i); }

struct FileNow {
  ino_t ino = 0;
  std::string bytes;
};
using Listing = std::map<std::string, FileNow>;

std::string ReadAllBytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

Listing Current(const std::string& dir) {
  Listing l;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".lock") || !e.is_regular_file()) continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) continue;
    l[name] = FileNow{st.st_ino, ReadAllBytes(e.path().string())};
  }
  return l;
}

struct Cut {
  Listing current;
  std::map<ino_t, std::string> durable;   // inode -> bytes at its last sync
  std::map<std::string, ino_t> durable_dir;
  std::vector<uint64_t> appended, durable_records;
  std::string where;
};

struct Model {
  std::string dir;
  std::map<ino_t, std::string> durable;
  std::map<std::string, ino_t> durable_dir;
  std::vector<uint64_t>* appended = nullptr;
  std::vector<uint64_t>* durable_records = nullptr;
  std::vector<Cut>* cuts = nullptr;
  std::mt19937_64 rng;
  double cut_in_hook = 0.5;
  size_t max_cuts = 12;
};
Model* g_model = nullptr;

void TakeCut(const std::string& where) {
  Model& m = *g_model;
  if (m.cuts->size() >= m.max_cuts) return;
  Cut c;
  c.current = Current(m.dir);
  c.durable = m.durable;
  c.durable_dir = m.durable_dir;
  c.appended = *m.appended;
  c.durable_records = *m.durable_records;
  c.where = where;
  m.cuts->push_back(std::move(c));
}

const char* OpName(io_faults::Op op) {
  switch (op) {
    case io_faults::Op::kFdatasync: return "fdatasync";
    case io_faults::Op::kFsyncDirectory: return "fsync-dir";
    case io_faults::Op::kFtruncate: return "ftruncate";
    case io_faults::Op::kFallocate: return "fallocate";
    case io_faults::Op::kSyncfs: return "syncfs";
    case io_faults::Op::kFlockDirectory: return "flock-dir";
    case io_faults::Op::kListDirectory: return "list-dir";
  }
  return "?";
}

int Hook(io_faults::Op op, const char* path) {
  if (g_model == nullptr) return 0;
  Model& m = *g_model;
  // (A directory's flock or listing writes nothing: no cut is taken before it.)
  if (op == io_faults::Op::kFtruncate || op == io_faults::Op::kFallocate || op == io_faults::Op::kFlockDirectory ||
      op == io_faults::Op::kListDirectory) {
    return 0;
  }
  if (std::uniform_real_distribution<double>(0, 1)(m.rng) < m.cut_in_hook) {
    TakeCut(std::string("before ") + OpName(op) + " " + fs::path(path).filename().string());
  }
  const Listing now = Current(m.dir);
  if (op == io_faults::Op::kFdatasync) {
    std::string p = path;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) p += ".new";
    if (::stat(p.c_str(), &st) == 0) m.durable[st.st_ino] = ReadAllBytes(p);
  } else {
    m.durable_dir.clear();
    for (const auto& [name, f] : now) m.durable_dir[name] = f.ino;
    if (op == io_faults::Op::kSyncfs) {
      for (const auto& [name, f] : now) m.durable[f.ino] = f.bytes;
    }
  }
  return 0;
}

constexpr size_t kSector = 512;

std::string MixBytes(const std::string& old_b, const std::string& new_b, size_t size, int mode, double p,
                     std::mt19937_64& rng) {
  std::string out(size, '\0');
  auto coin = [&] { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  bool page_new = true;
  for (size_t k = 0; k * kSector < size; ++k) {
    if (k % 8 == 0) page_new = coin();
    const bool take_new = mode == 0 ? true : mode == 1 ? false : mode == 2 ? coin() : page_new;
    const std::string& src = take_new ? new_b : old_b;
    const size_t at = k * kSector;
    if (at < src.size()) {
      const size_t n = std::min({kSector, src.size() - at, size - at});
      std::memcpy(out.data() + at, src.data() + at, n);
    }
  }
  return out;
}

// mode 0: all new (process death), 1: all old, 2: per sector, 3: per page.
void BuildImage(const Cut& c, int mode, uint64_t seed, const std::string& out_dir, std::string* how) {
  std::mt19937_64 rng(seed);
  const double shares[] = {0.1, 0.5, 0.9};
  const double p = shares[rng() % 3];
  *how = "mode " + std::to_string(mode) + " p " + std::to_string(p);
  std::set<ino_t> inodes;
  std::map<ino_t, std::string> cur_name, dur_name;
  for (const auto& [name, f] : c.current) {
    inodes.insert(f.ino);
    cur_name[f.ino] = name;
  }
  for (const auto& [name, ino] : c.durable_dir) {
    inodes.insert(ino);
    dur_name[ino] = name;
  }
  std::set<std::string> used;
  for (ino_t ino : inodes) {
    const bool has_cur = cur_name.count(ino) != 0, has_dur = dur_name.count(ino) != 0;
    std::string name;
    if (has_cur && has_dur && cur_name[ino] == dur_name[ino]) {
      name = cur_name[ino];
    } else {
      const bool take_cur = mode == 0 ? true : mode == 1 ? false : (rng() & 1) != 0;
      if (take_cur && has_cur) name = cur_name[ino];
      if (!take_cur && has_dur) name = dur_name[ino];
      if (!name.empty()) *how += "; " + name + (take_cur ? " (new name)" : " (old name)");
    }
    if (name.empty() || used.count(name) != 0) continue;
    used.insert(name);
    const std::string* new_b = nullptr;
    for (const auto& [n, f] : c.current) {
      if (f.ino == ino) new_b = &f.bytes;
    }
    auto d = c.durable.find(ino);
    const std::string old_b = d != c.durable.end() ? d->second : std::string();
    const std::string nb = new_b != nullptr ? *new_b : old_b;
    size_t size = nb.size();
    if (mode == 1) size = old_b.size();
    if (mode >= 2) {
      const uint64_t r = rng() % 3;
      size = r == 0 ? old_b.size() : r == 1 ? nb.size() : std::max(old_b.size(), nb.size());
    }
    std::ofstream o(out_dir + "/" + name, std::ios::binary);
    const std::string bytes = MixBytes(old_b, nb, size, mode, p, rng);
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
}

struct Got {
  bool opened = false;
  std::vector<std::vector<uint64_t>> idx;
  std::vector<std::string> g1;
  std::string problems;
  uint64_t damage_events = 0;
};

Got ReadImage(const std::string& base, uint64_t seed, const std::vector<uint32_t>& sizes_unused, size_t streams,
              const std::vector<uint64_t>& appended, const std::function<size_t(uint32_t, uint64_t)>& size_of) {
  (void)sizes_unused;
  Got g;
  g.idx.assign(streams, {});
  CollectingReporter rep;
  ReaderOptions o;
  o.threads = 1;
  o.background_prefault = false;
  auto r = Reader::Open(base, o, &rep);
  if (!r) {
    g.problems = "open failed: " + r.error().message;
    return g;
  }
  g.opened = true;
  Item item;
  while (r.value()->Next(&item)) {
    if (item.kind != ItemKind::kRecord) continue;
    const uint64_t ts = static_cast<uint64_t>(item.record.timestamp);
    const uint32_t s = static_cast<uint32_t>(ts >> 40);
    const uint64_t i = ts & ((uint64_t{1} << 40) - 1);
    const std::string name(item.record.stream_name);
    const bool unnamed = name.empty() || name.starts_with("stream-");
    if (s >= streams || (!unnamed && name != "s" + std::to_string(s)) || i >= appended[s]) {
      g.g1.push_back("record t=" + std::to_string(ts) + " of '" + name + "' was never appended");
      continue;
    }
    const std::string want = Payload(seed, s, i, size_of(s, i));
    const std::string have(reinterpret_cast<const char*>(item.record.payload.data()), item.record.payload.size());
    if (want != have) {
      g.g1.push_back("stream " + std::to_string(s) + " record " + std::to_string(i) + " is not as appended");
      continue;
    }
    auto& v = g.idx[s];
    if (!v.empty() && v.back() >= i) {
      g.g1.push_back("stream " + std::to_string(s) + " record " + std::to_string(i) + " after " + std::to_string(v.back()));
      continue;
    }
    v.push_back(i);
  }
  for (const auto& e : rep.events) {
    if (e.kind != CorruptionKind::kTornTail) ++g.damage_events;
  }
  g.problems = rep.Describe();
  return g;
}

}  // namespace ringpc

TEST_CASE("RingPowerCutImagesWithTheWritersOwnSyncs") {
  using namespace ringpc;
  io_faults::SetHook(&Hook);
  const uint64_t seeds = getenv("RPC_SEEDS") ? std::stoull(getenv("RPC_SEEDS")) : 60 * TestScale();
  const uint64_t first_seed = getenv("RPC_FIRST") ? std::stoull(getenv("RPC_FIRST")) : TestSeed() * 1000;
  const bool debug = getenv("RPC_DEBUG") != nullptr;
  uint64_t images = 0, cuts_total = 0, failures = 0, truncate_refused_no_hole = 0, holes = 0, g3_open = 0;
  std::map<std::string, uint64_t> kinds;
  std::vector<std::string> examples;
  for (uint64_t sd = first_seed; sd < first_seed + seeds; ++sd) {
    TempDir dir;
    std::mt19937_64 rng(Mix(sd));
    WriterOptions o;
    o.slab_size = 64 << 10;
    o.section_size = uint64_t{rng() % 2 ? 4u : 8u} << 10;
    o.background_prefault = false;
    o.sync_often = rng() % 2 == 0;
    const int pol = static_cast<int>(rng() % 3);
    o.sync = pol == 0 ? SyncPolicy::kManual : pol == 1 ? SyncPolicy::kEverySlab : SyncPolicy::kOnClose;
    const size_t streams = 1 + rng() % 3;
    o.one_appender = rng() % 2 == 0;
    o.ring_slabs = static_cast<uint32_t>(o.one_appender ? 2 + rng() % 3 : streams + 2 + rng() % 2);
    const uint32_t ring_setting = o.ring_slabs;
    if (getenv("RPC_NORING")) o.ring_slabs = 0;
    LogId id{};
    for (auto& b : id) b = static_cast<uint8_t>(rng());
    o.log_id = id;
    o.created_ns = 1764000000000000000;
    const std::string base = dir.path("r.slog");
    const uint64_t section = o.section_size;
    const uint64_t limit = (uint64_t{ring_setting} - 1) * ((64 << 10) - 4 * 4096) / 2;
    auto size_of = [&](uint32_t s, uint64_t i) -> size_t {
      const uint64_t r = Mix(sd * 31 + s * 1000003 + i);
      const uint64_t pick = r % 100;
      if (pick < 50) return (r >> 8) % 200;
      if (pick < 85) return (r >> 8) % section;
      return (r >> 8) % std::min<uint64_t>(limit, 3 * section);
    };
    std::vector<uint64_t> appended(streams, 0), durable(streams, 0);
    std::vector<Cut> cuts;
    Model m;
    m.dir = dir.dir();
    m.appended = &appended;
    m.durable_records = &durable;
    m.cuts = &cuts;
    m.rng.seed(sd + 17);
    g_model = &m;
    {
      auto w = Writer::Open(base, o);
      REQUIRE(w);
      std::vector<StreamHandle> hs;
      for (size_t s = 0; s < streams; ++s) hs.push_back(w.value()->OpenStream({"s" + std::to_string(s), Encoding::kBinary, 0}).value());
      const uint32_t target_slabs = ring_setting + 2 + static_cast<uint32_t>(rng() % 5);
      uint64_t turn = 0;
      while (w.value()->slab_count() < target_slabs) {
        // Stream 0 appends most; the others now and then (idle across wraps).
        uint32_t s = 0;
        if (streams > 1 && rng() % 10 == 0) s = 1;
        if (streams > 2 && rng() % 60 == 0) s = 2;
        const uint64_t i = appended[s];
        const Status st = w.value()->Append(hs[s], Payload(sd, s, i, size_of(s, i)), Ts(s, i));
        REQUIRE_MESSAGE(st.ok(), (st.ok() ? std::string() : Describe(st.error())));
        appended[s] = i + 1;
        if (rng() % 200 == 0) {
          REQUIRE(w.value()->Sync().ok());
          durable = appended;
        }
        if (rng() % 150 == 0) TakeCut("after append " + std::to_string(turn));
        ++turn;
      }
      if (o.sync != SyncPolicy::kManual && rng() % 2 == 0) {
        REQUIRE(w.value()->Close().ok());
        durable = appended;
        TakeCut("after close");
      } else {
        TakeCut("at the end");
      }
      g_model = nullptr;  // what the writer does from here (closing) is after every cut
    }
    cuts_total += cuts.size();
    for (size_t ci = 0; ci < cuts.size(); ++ci) {
      const Cut& c = cuts[ci];
      // The process death image first: the baseline.
      Got baseline;
      for (int k = 0; k < 7; ++k) {
        const int mode = k == 0 ? 0 : k == 1 ? 1 : 2 + static_cast<int>(rng() % 2);
        TempDir img;
        std::string how;
        BuildImage(c, mode, Mix(sd * 1000 + ci * 10 + static_cast<uint64_t>(k)), img.dir(), &how);
        const std::string ib = img.path("r.slog");
        ++images;
        Got g = ReadImage(ib, sd, {}, streams, c.appended, size_of);
        std::vector<std::string> bad;
        auto note = [&](const std::string& kind, const std::string& line) {
          ++kinds[kind];
          // A hole no reader reported (G3): counted, the first ones shown, and failed at the end
          // (below). RPC_DEBUG=1 shows each hole and G3 image.
          if (kind.starts_with("G3")) {
            ++g3_open;
            if (g3_open <= 3) MESSAGE("G3 not yet caught in a ring: seed ", sd, " cut '", c.where, "': ", line);
            if (debug) {
              std::string files;
              for (const auto& e : std::filesystem::directory_iterator(img.dir())) {
                std::ifstream in(e.path(), std::ios::binary);
                std::vector<char> h(64);
                in.read(h.data(), 64);
                auto hdr = DecodeSlabHeader({reinterpret_cast<const uint8_t*>(h.data()), static_cast<size_t>(in.gcount())});
                files += " " + e.path().filename().string() + "=" + (hdr ? std::to_string(hdr->slab_index) : "?");
              }
              MESSAGE("G3 image mode ", mode, " how ", how, " files", files);
            }
            return;
          }
          bad.push_back(kind + ": " + line);
        };
        if (k == 0) {
          baseline = g;
          bool named = false;
          for (const auto& [n, f] : c.current) named = named || !n.ends_with(".new");
          if (!g.opened && named) note("death-open", g.problems);
          if (g.damage_events != 0) note("death-damage", g.problems);
        }
        for (const auto& x : g.g1) note("G1", x);
        bool hole = false;
        for (size_t s = 0; s < streams && g.opened; ++s) {
          const auto& have = g.idx[s];
          const std::set<uint64_t> hs(have.begin(), have.end());
          for (uint64_t r : baseline.idx[s]) {
            if (r < c.durable_records[s] && hs.count(r) == 0) {
              note("G2", "stream " + std::to_string(s) + " lacks durable record " + std::to_string(r));
              break;
            }
          }
          for (uint64_t r : baseline.idx[s]) {
            if (hs.count(r) == 0 && !have.empty() && have.back() > r) {
              if (debug) {
                MESSAGE("hole: stream ", s, " lacks record ", r, "; has ", have.size(), " from ", have.front(), " to ",
                        have.back(), "; process death kept ", baseline.idx[s].size());
              }
              hole = true;
              break;
            }
          }
        }
        if (g.opened) {
          auto v = Verify(ib, {.threads = 1, .progress = {}}, nullptr);
          if (hole) {
            ++holes;
            if (!v || v->damage == 0) note("G3-verify", "a hole, verify reports no damage " + g.problems);
          }
          // truncate on a copy
          TempDir cp;
          for (const auto& e : fs::directory_iterator(img.dir())) fs::copy_file(e.path(), cp.path(e.path().filename().string()));
          auto t = Truncate(cp.path("r.slog"), {}, nullptr);
          if (t && hole) note("G3-truncate", "truncate repaired a log with a hole");
          if (!t && !hole) {
            ++truncate_refused_no_hole;
            ++kinds["truncate-refused-no-hole"];
            // The last slab file's problems only, and no data lost: classify
            {
              CollectingReporter rep2;
              auto rr = Reader::Open(ib, ReaderOptions{}, &rep2);
              if (rr) { Item it; while (rr.value()->Next(&it)) {} }
              std::string lastf;
              for (const auto& [n, f] : c.current) if (!n.ends_with(".new")) lastf = std::max(lastf, n);
              bool only_last = true, only_stale_header = true;
              for (const auto& e : rep2.events) {
                if (e.kind == CorruptionKind::kTornTail) continue;
                if (!e.file.ends_with(lastf)) only_last = false;
                if (e.detail.find("section header is damaged") == std::string::npos) only_stale_header = false;
              }
              if (only_last && only_stale_header) {
                ++kinds["refused-only-stale-header-in-last-slab"];
                if (getenv("RPC_DEBUG") || kinds["refused-only-stale-header-in-last-slab"] <= 2) MESSAGE("stale-header-only refusal: seed ", sd, " cut ", c.where, " ", how, ": ", rep2.Describe());
              }
            }
            if (examples.size() < 6) examples.push_back("seed " + std::to_string(sd) + " cut " + c.where + " " + how + ": " + Describe(t.error()) + " | reader: " + g.problems);
          }
          {
            TempDir rd;
            WriterOptions ro;
            ro.slab_size = 256 << 10;
            ro.section_size = 64 << 10;
            ro.sync = SyncPolicy::kManual;
            ro.background_prefault = false;
            auto rc = Recover(ib, rd.path("out.slog"), ro, nullptr);
            if (!rc) {
              note("recover-failed", Describe(rc.error()));
            } else {
              Got rg = ReadImage(rd.path("out.slog"), sd, {}, streams, c.appended, size_of);
              for (const auto& x : rg.g1) note("recover-G1", x);
              for (size_t s = 0; s < streams; ++s) {
                if (!std::includes(rg.idx[s].begin(), rg.idx[s].end(), g.idx[s].begin(), g.idx[s].end())) {
                  note("recover-lost", "stream " + std::to_string(s) + " recovered fewer records than the reader returns");
                }
              }
              if (hole && rc->problems == 0) note("G3-recover", "recover reports no problem");
            }
          }
          if (t) {
            auto v2 = Verify(cp.path("r.slog"), {.threads = 1, .progress = {}}, nullptr);
            if (!v2 || !v2->ok()) note("truncate-verify", "verify after truncate not ok");
            Got again = ReadImage(cp.path("r.slog"), sd, {}, streams, c.appended, size_of);
            if (again.idx != g.idx) note("truncate-changed", "records differ after truncate");
          }
        }
        if (!bad.empty() && debug) {
          std::string d = "cut " + c.where + " image " + std::to_string(k) + " " + how + "\n  current:";
          for (const auto& [n, f] : c.current) d += " " + n + "(ino " + std::to_string(f.ino) + ")";
          d += "\n  durable dir:";
          for (const auto& [n, ino] : c.durable_dir) d += " " + n + "(ino " + std::to_string(ino) + ")";
          for (size_t s = 0; s < streams; ++s) {
            auto fmt = [](const std::vector<uint64_t>& v) { std::string out; for (auto x : v) out += std::to_string(x) + ","; return out; };
            d += "\n  s" + std::to_string(s) + " baseline: " + fmt(baseline.idx[s]) + "\n  s" + std::to_string(s) + " image:    " + fmt(g.idx[s]);
          }
          d += "\n  durable records:";
          for (auto x : c.durable_records) d += " " + std::to_string(x);
          d += "\n  problems: " + g.problems;
          std::filesystem::create_directories("/tmp/rt/img");
          for (const auto& e : fs::directory_iterator(img.dir())) fs::copy_file(e.path(), "/tmp/rt/img/" + e.path().filename().string(), fs::copy_options::overwrite_existing);
          MESSAGE(d);
        }
        if (!bad.empty()) {
          ++failures;
          if (failures <= 12) {
            std::string all;
            for (const auto& b : bad) all += "\n    " + b;
            MESSAGE("seed ", sd, " (ring ", o.ring_slabs, ", streams ", streams, ", one_appender ", o.one_appender,
                    ", sync ", pol, ") cut '", c.where, "' image ", k, " [", how, "]:", all);
          }
        }
      }
    }
  }
  io_faults::SetHook(nullptr);
  std::string summary;
  for (const auto& [k, n] : kinds) summary += " " + k + "=" + std::to_string(n);
  MESSAGE(seeds, " scenarios, ", cuts_total, " cuts, ", images, " images, ", holes, " with holes; findings:", summary);
  for (const auto& e : examples) MESSAGE("truncate refused: ", e);
  CHECK(failures == 0);
  CHECK(images > 1000 * TestScale());
  // Every hole a power cut left is reported (the last kind missed, sections lost before a gap
  // after a slab the ring kept, are since the kept-slab positions: 0 of 44,779 images at 10x).
  CHECK_MESSAGE(g3_open == 0, g3_open, " of ", images, " images with a hole no reader caught");
}

}  // namespace slablog::test
