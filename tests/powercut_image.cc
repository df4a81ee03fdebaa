// Power-cut images: from the files as they were at the last completed Sync() and at the cut, what
// the disk may hold after the power went (man slablog.5, the crash model): each 512-byte sector
// written since the sync holds its old or its new contents, pages may tear, and a file created or
// renamed since the sync may be missing, short or zeros, under its old name or its new one.
#include <algorithm>
#include <optional>
#include <random>
#include <string_view>

#include "powercut_sim.h"

namespace slablog::test::powercut {
namespace {

constexpr size_t kSector = 512;
constexpr size_t kPage = 4096;
constexpr size_t kSectorsPerPage = kPage / kSector;

enum class MixMode : uint8_t { kPerSector, kPerPage, kTornPage, kAllNew, kAllOld };

const char* MixModeName(MixMode m) {
  switch (m) {
    case MixMode::kPerSector: return "sector";
    case MixMode::kPerPage: return "page";
    case MixMode::kTornPage: return "torn-page";
    case MixMode::kAllNew: return "all-new";
    case MixMode::kAllOld: return "all-old";
  }
  return "?";
}

struct ImageRng {
  std::mt19937_64 rng;
  double new_share = 0.5;  // the chance a differing sector or page keeps its new contents
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng() % n; }
};

std::string_view SectorOf(const std::string& bytes, size_t sector) {
  const size_t at = sector * kSector;
  if (at >= bytes.size()) return {};
  return std::string_view(bytes).substr(at, kSector);
}

// The file as the disk holds it: `size` bytes, each sector from `old_bytes` or `new_bytes`
// (bytes past the end of either read as zeros: a file extended reads zeros there).
std::string MixFile(const std::string& old_bytes, const std::string& new_bytes, size_t size,
                    MixMode mode, ImageRng* r) {
  std::string out(size, '\0');
  const size_t sectors = (size + kSector - 1) / kSector;
  bool page_new = false;
  size_t torn_at = kSectorsPerPage;  // sectors of the page before this one are new, the rest old
  for (size_t k = 0; k < sectors; ++k) {
    if (k % kSectorsPerPage == 0) {
      page_new = r->Chance(r->new_share);
      torn_at = r->Chance(0.5) ? 1 + r->Below(kSectorsPerPage - 1) : (page_new ? kSectorsPerPage : 0);
    }
    bool take_new = true;
    switch (mode) {
      case MixMode::kPerSector: take_new = r->Chance(r->new_share); break;
      case MixMode::kPerPage: take_new = page_new; break;
      case MixMode::kTornPage: take_new = k % kSectorsPerPage < torn_at; break;
      case MixMode::kAllNew: take_new = true; break;
      case MixMode::kAllOld: take_new = false; break;
    }
    const std::string_view src = SectorOf(take_new ? new_bytes : old_bytes, k);
    const size_t n = std::min(src.size(), size - k * kSector);
    std::copy_n(src.data(), n, out.data() + k * kSector);
  }
  return out;
}

// A size the file may have: either state's, or the larger.
size_t PickSize(size_t old_size, size_t new_size, ImageRng* r) {
  const uint64_t pick = r->Below(4);
  if (pick == 0) return old_size;
  if (pick == 1) return new_size;
  return std::max(old_size, new_size);
}

// A file the sync never saw: missing (nullopt), short, zeros, or partly written.
std::optional<std::string> CreatedFile(const std::string& new_bytes, MixMode mode, ImageRng* r,
                                       std::string* how) {
  if (mode == MixMode::kAllNew) return new_bytes;
  const uint64_t pick = r->Below(10);
  if (pick < 2 || mode == MixMode::kAllOld) {
    *how += " missing";
    return std::nullopt;
  }
  if (pick < 4) {
    const size_t sectors = (new_bytes.size() + kSector - 1) / kSector;
    const size_t keep = std::min(new_bytes.size(), r->Below(sectors + 1) * kSector);
    *how += " short(" + std::to_string(keep) + ")";
    return new_bytes.substr(0, keep);
  }
  if (pick < 5) {
    *how += " zeros";
    return std::string(new_bytes.size(), '\0');
  }
  *how += " mixed-with-zeros";
  return MixFile(std::string(), new_bytes, new_bytes.size(), mode, r);
}

constexpr std::string_view kTempSuffix = ".new";

bool IsTemp(const std::string& name) {
  return name.size() > kTempSuffix.size() && name.ends_with(kTempSuffix);
}

}  // namespace

ImageInfo BuildImage(const Scenario& sc, uint64_t index, const std::string& dir) {
  ImageRng r{std::mt19937_64(sc.seed * 0x9E3779B97F4A7C15ULL + index * 0xD1B54A32D192ED03ULL + 7)};
  // The first images of each scenario: the files exactly as at the cut (what a process death
  // leaves), and exactly as at the sync.
  MixMode mode = index == 0 ? MixMode::kAllNew
               : index == 1 ? MixMode::kAllOld
                            : static_cast<MixMode>(r.Below(5) < 3 ? r.Below(3) : 3 + r.Below(2));
  const double shares[] = {0.05, 0.3, 0.5, 0.7, 0.95};
  r.new_share = shares[r.Below(5)];
  ImageInfo info;
  info.index = index;
  info.mode = std::string(MixModeName(mode)) + " new-share " + std::to_string(r.new_share);
  DirState image;
  for (const auto& [name, new_bytes] : sc.at_cut) {
    auto old = sc.at_sync.find(name);
    std::string old_name = name;
    if (old == sc.at_sync.end()) {  // renamed since the sync from NAME.new?
      old_name = name + std::string(kTempSuffix);
      old = sc.at_sync.find(old_name);
      if (old != sc.at_sync.end() && sc.at_cut.count(old_name) != 0) old = sc.at_sync.end();
    }
    if (old == sc.at_sync.end()) {
      info.mode += "; " + name + ":";
      if (auto bytes = CreatedFile(new_bytes, mode, &r, &info.mode)) image[name] = *bytes;
      continue;
    }
    const size_t size = mode == MixMode::kAllNew   ? new_bytes.size()
                        : mode == MixMode::kAllOld ? old->second.size()
                                                   : PickSize(old->second.size(), new_bytes.size(), &r);
    std::string bytes = MixFile(old->second, new_bytes, size, mode, &r);
    // A rename since the sync may not have reached the disk.
    const bool old_name_kept = old_name != name && (mode == MixMode::kAllOld || (mode != MixMode::kAllNew && r.Chance(0.5)));
    if (old_name_kept) info.mode += "; " + name + " under its old name " + old_name;
    image[old_name_kept ? old_name : name] = std::move(bytes);
  }
  // Files that were there at the sync and are gone at the cut (renamed ones are handled above):
  // their removal may not have reached the disk.
  for (const auto& [name, old_bytes] : sc.at_sync) {
    if (sc.at_cut.count(name) != 0 || image.count(name) != 0) continue;
    const bool renamed = IsTemp(name) && sc.at_cut.count(name.substr(0, name.size() - kTempSuffix.size())) != 0;
    if (!renamed && (mode == MixMode::kAllOld || (mode != MixMode::kAllNew && r.Chance(0.5)))) {
      image[name] = old_bytes;
    }
  }
  WriteDir(image, dir);
  return info;
}

}  // namespace slablog::test::powercut
