#include "output.h"

#include <fnmatch.h>

#include <algorithm>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <ctime>

#include <unistd.h>

#include "progress.h"

namespace slablog::cli {

bool ColourOn(int fd) {
  // https://no-color.org: NO_COLOR set and not empty turns colour off, whatever else is true.
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return isatty(fd) != 0;
}

std::string Coloured(int fd, Colour colour, std::string_view text) {
  if (!ColourOn(fd)) return std::string(text);
  const char* code = colour == Colour::kRed ? "\033[31m" : "\033[32m";
  return fmt::format("{}{}\033[0m", code, text);
}

void PrintError(std::string_view command, std::string_view message) {
  EraseProgressLine();
  std::fflush(stdout);  // keep stderr after the stdout lines it refers to
  std::fprintf(stderr, "slablog %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               Coloured(STDERR_FILENO, Colour::kRed, message).c_str());
}

ExitCode ExitCodeFor(Errc code) {
  switch (code) {
    case Errc::kCorruption:
    case Errc::kUnsupported:
    case Errc::kFull: return ExitCode::kDataProblem;
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
  EraseProgressLine();
  if (!StdoutClosed()) std::fwrite(text.data(), 1, text.size(), stdout);
}

ExitCode FinishStdout(ExitCode rc) {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (errno == EPIPE || errno == 0) return rc;  // the reader went away: not our failure
    EraseProgressLine();
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

namespace {
// last - first in seconds; last >= first, and the difference can exceed INT64_MAX (it fits uint64).
double SpanSeconds(int64_t first_t, int64_t last_t) {
  return static_cast<double>(static_cast<uint64_t>(last_t) - static_cast<uint64_t>(first_t)) / 1e9;
}
}  // namespace

std::string TimeRangeText(int64_t first_t, int64_t last_t) {
  const std::string a = WallTime(first_t), b = WallTime(last_t);
  const std::string span = fmt::format("({:.3f} s)", SpanSeconds(first_t, last_t));
  if (a.empty() || b.empty()) return fmt::format("{} .. {} {}", first_t, last_t, span);
  return fmt::format("{} .. {} {}", a, b, span);
}

std::string RingLine(uint64_t slabs_reused, uint64_t partial_records, std::optional<int64_t> first_t,
                     std::optional<int64_t> last_t) {
  std::string line = fmt::format("ring:     a flight recorder: {} older slab{} reused", slabs_reused,
                                 slabs_reused == 1 ? "" : "s");
  if (partial_records > 0) {
    line += fmt::format(", {} record{} cut at its start", partial_records, partial_records == 1 ? "" : "s");
  }
  // The times on lines of their own, under the first: together they ran to 180 columns.
  if (first_t && last_t) {
    line += fmt::format("\n          it holds {} .. {} ({:.3f} s)", *first_t, *last_t,
                        SpanSeconds(*first_t, *last_t));
    const std::string a = WallTime(*first_t), b = WallTime(*last_t);
    if (!a.empty() && !b.empty()) line += fmt::format("\n          {} .. {}", a, b);
  }
  return line;
}

std::string FitColumn(std::string_view text, size_t width) {
  // Columns are counted as UTF-8 code points (a continuation byte is 10xxxxxx).
  auto starts_point = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; };
  const auto points = static_cast<size_t>(std::count_if(text.begin(), text.end(), starts_point));
  if (points <= width) return std::string(text) + std::string(width - points, ' ');
  std::string out;
  size_t kept = 0;
  for (char c : text) {
    if (starts_point(c) && ++kept > width - 1) break;
    out.push_back(c);
  }
  return out + "\u2026";  // an ellipsis
}

std::string Wrapped(std::string_view label, std::string_view text) {
  constexpr size_t kColumns = 100;
  auto columns = [](std::string_view t) {
    return static_cast<size_t>(std::count_if(t.begin(), t.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  };
  const std::string indent(columns(label), ' ');
  std::string out(label);
  size_t used = columns(label);
  bool line_empty = true;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    const size_t need = columns(word) + (line_empty ? 0 : 1);
    if (!line_empty && used + need > kColumns) {  // a word longer than a line gets one of its own
      out += "\n" + indent;
      used = indent.size();
      line_empty = true;
    }
    if (!line_empty) out += ' ';
    out += word;
    used += columns(word) + (line_empty ? 0 : 1);
    line_empty = false;
  }
  return out;
}

std::string CompressedLine(uint64_t sections, uint64_t stored, uint64_t raw) {
  return fmt::format("compressed: {} section{} (zstd), {} for {} of frames ({:.2f}x smaller)", sections,
                     sections == 1 ? "" : "s", HumanBytes(stored), HumanBytes(raw),
                     stored > 0 ? static_cast<double>(raw) / static_cast<double>(stored) : 0.0);
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

bool ParseDurationNs(std::string_view text, int64_t* out) {
  struct Unit {
    std::string_view name;
    int64_t ns;
  };
  // The longest unit name that matches wins, so "ms" is not read as "m" followed by garbage.
  static constexpr Unit kUnits[] = {{"ns", 1},           {"us", 1000},
                                    {"ms", 1000000},     {"s", 1000000000},
                                    {"m", 60000000000},  {"h", 3600000000000},
                                    {"d", 86400000000000}};
  if (text.empty()) return false;
  int64_t total = 0;
  while (!text.empty()) {
    int64_t value = 0;
    size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (value > (INT64_MAX - 9) / 10) return false;
      value = value * 10 + (text[i] - '0');
    }
    if (i == 0) return false;
    text.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(0, u.name.size()) == u.name &&
          (unit == nullptr || u.name.size() > unit->name.size())) {
        unit = &u;
      }
    }
    if (unit == nullptr) return false;
    text.remove_prefix(unit->name.size());
    if (value > (INT64_MAX - total) / unit->ns) return false;
    total += value * unit->ns;
  }
  if (total <= 0) return false;
  *out = total;
  return true;
}

bool MatchesAnyGlob(const std::vector<std::string>& globs, const std::string& name) {
  if (globs.empty()) return true;
  for (const auto& g : globs) {
    if (fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace slablog::cli
