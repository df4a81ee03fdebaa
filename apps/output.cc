#include "output.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <ctime>

namespace slablog::cli {

void PrintError(std::string_view command, std::string_view message) {
  std::fflush(stdout);  // keep stderr after the stdout lines it refers to
  std::fprintf(stderr, "slablog %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
}

ExitCode ExitCodeFor(Errc code) {
  switch (code) {
    case Errc::kCorruption:
    case Errc::kUnsupported: return ExitCode::kDataProblem;
    case Errc::kInvalidArgument: return ExitCode::kUsage;
    case Errc::kIo:
    case Errc::kNotFound: return ExitCode::kIo;
  }
  return ExitCode::kInternal;
}

ExitCode Fail(std::string_view command, const Error& error) {
  PrintError(command, Describe(error));
  return ExitCodeFor(error.code);
}

bool StdoutClosed() { return std::ferror(stdout) != 0; }

void WriteStdout(std::string_view text) {
  if (!StdoutClosed()) std::fwrite(text.data(), 1, text.size(), stdout);
}

ExitCode FinishStdout(ExitCode rc) {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (errno == EPIPE || errno == 0) return rc;  // the reader went away: not our failure
    std::fprintf(stderr, "slablog: cannot write output: %s\n", std::strerror(errno));
    return rc == ExitCode::kOk ? ExitCode::kIo : rc;
  }
  return rc;
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string WallTime(int64_t ns) {
  constexpr int64_t kSecond = 1'000'000'000;
  constexpr int64_t k1990 = 631152000LL * kSecond;
  constexpr int64_t k2200 = 7258118400LL * kSecond;
  if (ns < k1990 || ns >= k2200) return "";
  const std::time_t secs = static_cast<std::time_t>(ns / kSecond);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, ns % kSecond);
}

bool ParseSize(std::string_view text, uint64_t* out) {
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (UINT64_MAX - 9) / 10) return false;
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0) return false;
  std::string suffix(text.substr(i));
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = 0;
  if (suffix.empty() || suffix == "B") shift = 0;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") shift = 10;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") shift = 20;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") shift = 30;
  else if (suffix == "T" || suffix == "TB" || suffix == "TIB") shift = 40;
  else return false;
  if (shift > 0 && value > (UINT64_MAX >> shift)) return false;
  *out = value << shift;
  return true;
}

}  // namespace slablog::cli
