#include "slablog/log_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <string>

#include "log_files.h"

namespace slablog {
namespace {

constexpr std::array<uint8_t, 4> kCopperMainMagic = {0xB4, 0xA5, 0x50, 0xFF};
constexpr std::array<uint8_t, 2> kCopperSectionMagic = {0xFA, 0x57};

// The first bytes of a file; fewer (or none) when it is short or cannot be read.
std::string FirstBytes(const std::string& path, size_t n) {
  std::string out(n, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  const ssize_t got = ::pread(fd, out.data(), n, 0);
  ::close(fd);
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

template <size_t N>
bool StartsWith(const std::string& bytes, const std::array<uint8_t, N>& magic) {
  if (bytes.size() < N) return false;
  for (size_t i = 0; i < N; ++i) {
    if (static_cast<uint8_t>(bytes[i]) != magic[i]) return false;
  }
  return true;
}

}  // namespace

const char* LogFormatName(LogFormat format) {
  switch (format) {
    case LogFormat::kSlablog: return "slablog";
    case LogFormat::kCopper: return "copper";
  }
  return "?";
}

LogFormat DetectLogFormat(std::string_view path) {
  auto files = ResolveLogFiles(path, /*single_file=*/false);
  if (!files || files->paths.empty()) return LogFormat::kSlablog;
  const std::string first = FirstBytes(files->paths.front(), 4);
  if (StartsWith(first, kCopperMainMagic)) return LogFormat::kCopper;
  // A later slab of a Copper log starts with a section (its slab 0, if there, has the main
  // header; if lost, the log is still Copper's): no slablog slab starts with these bytes.
  if (StartsWith(first, kCopperSectionMagic) && !files->base.empty()) return LogFormat::kCopper;
  return LogFormat::kSlablog;
}

}  // namespace slablog
