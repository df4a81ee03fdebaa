#include "fuzz_input.h"

#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "coding.h"
#include "crc32c.h"
#include "slablog/format.h"

namespace slablog::fuzz {
namespace {

using coding::Load;
using coding::Store;

void RemoveDir() {
  std::error_code ec;
  std::filesystem::remove_all(FuzzDir(), ec);
}

// The directories of fuzzing processes that died without removing theirs (a crash found, a
// timeout, a kill): named after their process id, removed when that process is gone.
void RemoveStaleDirs(const std::string& root) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("slablog-fuzz-", 0) != 0) continue;
    const std::string pid = name.substr(13);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!std::filesystem::exists("/proc/" + pid)) std::filesystem::remove_all(e.path(), ec);
  }
}

void WriteWhole(const std::string& path, const char* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) std::abort();  // the harness itself is broken: say so loudly
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) std::abort();
    data += n;
    size -= static_cast<size_t>(n);
  }
  ::close(fd);
}

// The frames of the section whose frame area is [from, end) of `p`: each CRC made right, as far
// as kinds and lengths say frames go.
void FixFrames(uint8_t* p, uint64_t from, uint64_t end, uint32_t seed) {
  while (from + kFrameHeaderSize <= end) {
    const uint8_t kind = p[from + 16];
    const uint32_t length = Load<uint32_t>(p + from + 4);
    if (kind == 0 || kind > static_cast<uint8_t>(FragmentKind::kLast) || length > end - from - kFrameHeaderSize) {
      return;
    }
    const auto header = std::span<const uint8_t, kFrameHeaderSize>(p + from, kFrameHeaderSize);
    Store<uint32_t>(p + from, FrameCrc(seed, header, {p + from + kFrameHeaderSize, length}));
    from += kFrameHeaderSize + length;
  }
}

// The sections of the slab at `start` with `page` and `capacity` (already checked for range).
void FixSections(uint8_t* p, uint64_t size, uint64_t start, uint32_t page, uint64_t capacity, const LogId& id) {
  const uint32_t log_seed = crc32c::Value(id.data(), id.size());
  const uint64_t end = capacity > size - start ? size : start + capacity;
  for (uint64_t at = start + page; at + kSectionHeaderSize <= end;) {
    uint8_t* h = p + at;
    if (std::memcmp(h, kSectionMagic.data(), kSectionMagic.size()) != 0) {
      at += page;
      continue;
    }
    Store<uint32_t>(h + 4, crc32c::Extend(log_seed, h + 8, 24));
    const uint64_t claimed = Load<uint64_t>(h + 24);
    const bool sane = claimed >= page && claimed % page == 0 && claimed <= end - at;
    const uint64_t section_end = sane ? at + claimed : std::min<uint64_t>(end, at + page);
    const uint32_t seed = SectionSeed(id, Load<uint32_t>(h + 8), Load<uint64_t>(h + 16));
    // A compressed section: its stored bytes get their CRC (then the close block its own), so
    // that mutations reach the decoder rather than stop at the CRC.
    const bool compressed = (Load<uint32_t>(h + 12) & kSectionFlagZstd) != 0;
    if (compressed && Load<uint32_t>(h + 36) == 1) {
      const uint64_t stored = std::min<uint64_t>(Load<uint64_t>(h + 40), section_end - at - kSectionHeaderSize);
      Store<uint32_t>(h + 88, crc32c::Extend(seed, h + kSectionHeaderSize, stored));
    }
    if (Load<uint32_t>(h + 36) == 1) {
      uint32_t crc = crc32c::Extend(log_seed, h, 32);
      Store<uint32_t>(h + 32, crc32c::Extend(crc, h + 36, kSectionHeaderSize - 36));
    }
    if (!compressed) FixFrames(p, at + kSectionHeaderSize, section_end, seed);
    at = sane ? section_end : at + page;
  }
}

}  // namespace

const std::string& FuzzDir() {
  static const std::string dir = [] {
    const std::string root = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    RemoveStaleDirs(root);
    std::string path = root + "/slablog-fuzz-" + std::to_string(getpid());
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (!std::filesystem::create_directory(path, ec)) std::abort();
    return path;
  }();
  static const bool registered = [] {
    __sanitizer_set_death_callback(RemoveDir);  // a sanitizer's report ends the process
    return std::atexit(RemoveDir) == 0;
  }();
  (void)registered;
  return dir;
}

void RemoveFuzzDir() { RemoveDir(); }

std::string ReadWhole(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[1 << 16];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

void FixCrcs(std::string& log) {
  auto* p = reinterpret_cast<uint8_t*>(log.data());
  const uint64_t size = log.size();
  for (uint64_t at = 0; at + kSlabHeaderSize <= size; at += 8) {
    if (std::memcmp(p + at, kSlabMagic.data(), kSlabMagic.size()) != 0) continue;
    Store<uint32_t>(p + at + 60, crc32c::Value(p + at, 60));
    const auto h = DecodeSlabHeader({p + at, kSlabHeaderSize});
    if (h) FixSections(p, size, at, h->page_size, h->capacity, h->log_id);
  }
}

FuzzLog::FuzzLog(const uint8_t* data, size_t size) {
  if (size < kPrefixSize) return;
  const uint8_t flags = data[0];
  const uint32_t split_at = data[1] | uint32_t{data[2]} << 8 | uint32_t{data[3]} << 16;
  std::string log(reinterpret_cast<const char*>(data) + kPrefixSize, size - kPrefixSize);
  if (flags & kFixCrcs) FixCrcs(log);
  threads_ = flags & kTwoThreads ? 2 : 1;
  const std::string& dir = FuzzDir();
  if (flags & kTwoFiles) {
    const size_t first = log.empty() ? 0 : split_at % (log.size() + 1);
    path_ = dir + "/in.slog";
    files_ = {SlabPath(path_, 0), SlabPath(path_, 1)};
    WriteWhole(files_[0], log.data(), first);
    WriteWhole(files_[1], log.data() + first, log.size() - first);
  } else {
    path_ = dir + "/in.slog";
    files_ = {path_};
    WriteWhole(path_, log.data(), log.size());
  }
  ok_ = true;
}

FuzzLog::~FuzzLog() {
  // Everything in the directory: the input files, an output log, files a command made.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(FuzzDir(), ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
}

std::string FuzzLog::OutputBase() const { return FuzzDir() + "/out.slog"; }

}  // namespace slablog::fuzz
