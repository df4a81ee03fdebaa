#include "copper_log_gen.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "slablog/format.h"

namespace slablog::bench {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBlock = 512;

uint64_t Align(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

void Var(std::vector<uint8_t>* out, uint64_t v) {
  auto put = [&](uint8_t tag, uint64_t value, int bytes) {
    out->push_back(tag);
    for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
  };
  if (v < 251) out->push_back(static_cast<uint8_t>(v));
  else if (v <= 0xFFFF) put(251, v, 2);
  else if (v <= 0xFFFFFFFF) put(252, v, 4);
  else put(253, v, 8);
}

void LogLine(std::vector<uint8_t>* out, uint64_t i) {
  Var(out, 1000000000ull + i * 1000000ull);
  out->push_back(static_cast<uint8_t>(i % 5));
  Var(out, 1 + i % 4);
  switch (i % 4) {
    case 0: Var(out, 0); Var(out, 0); break;
    case 1: Var(out, 1); Var(out, 10); Var(out, 1); out->push_back(3); Var(out, i & 0xFFFFFFFF); break;
    case 2: {
      Var(out, 2); Var(out, 11); Var(out, 12); Var(out, 2);
      const std::string s = "item" + std::to_string(i);
      out->push_back(12); Var(out, s.size()); out->insert(out->end(), s.begin(), s.end());
      out->push_back(10);
      const double d = static_cast<double>(i) * 0.5;
      uint8_t b[8];
      std::memcpy(b, &d, 8);
      out->insert(out->end(), b, b + 8);
      break;
    }
    case 3: Var(out, 1); Var(out, 13); Var(out, 1); out->push_back(8); Var(out, (i << 1) - 1); break;  // zigzag(-i)
  }
}

void CopperList(std::vector<uint8_t>* out, uint64_t j) {
  Var(out, j & 0xFFFFFFFF);
  Var(out, (j * 1000) & 0xFFFFFFFF);
  Var(out, 0xDEAD0000u | (j & 0xFFFF));
}

std::vector<uint8_t> Header(uint8_t type, uint64_t next, uint64_t used, bool open) {
  std::vector<uint8_t> h = {0xFA, 0x57};
  Var(&h, kBlock);
  Var(&h, type);
  Var(&h, next);
  Var(&h, used);
  h.push_back(open ? 1 : 0);
  return h;
}

struct Writer {
  uint64_t slab_size;
  std::vector<std::vector<uint8_t>> slabs;
  std::vector<uint64_t> ends;  // where each slab file is trimmed
  uint64_t pos = 0;

  struct Open {
    uint8_t type = 0;
    uint64_t requested = 0;
    size_t slab = 0;
    uint64_t start = 0, used = 0;
    bool live = false;
  };

  void NewSlab() {
    slabs.emplace_back(slab_size, 0);
    ends.push_back(0);
    pos = 0;
  }
  void Put(size_t slab, uint64_t at, const std::vector<uint8_t>& bytes) {
    std::memcpy(slabs[slab].data() + at, bytes.data(), bytes.size());
  }
  void Close(Open* s) {
    if (!s->live) return;
    Put(s->slab, s->start, Header(s->type, Align(s->requested), s->used, false));
    s->live = false;
  }
  void Allocate(Open* s) {
    pos = Align(pos);
    if (pos + Align(s->requested) > slab_size) NewSlab();
    s->slab = slabs.size() - 1;
    s->start = pos;
    s->used = 0;
    s->live = true;
    Put(s->slab, s->start, Header(s->type, Align(s->requested), 0, true));
    pos += s->requested;
    ends.back() = pos;
  }
  void Log(Open* s, const std::vector<uint8_t>& entry) {
    if (!s->live || kBlock + s->used + entry.size() > s->requested) {
      Close(s);
      Allocate(s);
    }
    Put(s->slab, s->start + kBlock + s->used, entry);
    s->used += entry.size();
  }
};

}  // namespace

uint64_t WriteCopperLog(const std::string& base, uint64_t total_bytes, uint64_t slab_size, uint64_t* copperlists) {
  Writer w{slab_size, {}, {}, 0};
  w.NewSlab();
  const std::vector<uint8_t> main = {0xB4, 0xA5, 0x50, 0xFF, 0xFB, 0x00, 0x10, 0xFB, 0x00, 0x10};
  w.Put(0, 0, main);
  w.pos = kPage;
  Writer::Open lines{1, 4096}, lists{2, 6000};
  std::vector<uint8_t> entry;
  uint64_t k = 0;
  for (; (w.slabs.size() - 1) * slab_size + w.pos < total_bytes; ++k) {
    if (k % 4 == 0) {
      entry.clear();
      LogLine(&entry, k / 4);
      w.Log(&lines, entry);
    }
    entry.clear();
    CopperList(&entry, k);
    w.Log(&lists, entry);
  }
  w.Close(&lines);
  w.Close(&lists);
  w.pos = Align(w.pos);
  if (w.pos + kBlock > slab_size) w.NewSlab();
  w.Put(w.slabs.size() - 1, w.pos, Header(4, kBlock, 0, false));
  w.ends.back() = w.pos + kBlock;
  for (size_t i = 0; i < w.slabs.size(); ++i) {
    std::FILE* f = std::fopen(SlabPath(base, static_cast<uint32_t>(i)).c_str(), "wb");
    if (f == nullptr) return 0;
    std::fwrite(w.slabs[i].data(), 1, w.ends[i], f);
    std::fclose(f);
  }
  *copperlists = k;
  return (k + 3) / 4;
}

}  // namespace slablog::bench
