#include "progress.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "output.h"
#include "slablog/reader.h"

namespace slablog::cli {
namespace {

// Whether a bar is on the terminal now: output.cc erases it before writing anything else.
bool g_bar_shown = false;

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

// Work shorter than this shows no bar at all. SLABLOG_PROGRESS_DELAY_MS (internal, for the
// tests: a small log is done before any real delay) overrides it.
std::chrono::milliseconds FirstDrawDelay() {
  const char* env = std::getenv("SLABLOG_PROGRESS_DELAY_MS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long ms = std::strtol(env, &end, 10);
    if (*end == '\0' && ms >= 0) return std::chrono::milliseconds(ms);
  }
  return std::chrono::milliseconds(1000);
}

}  // namespace

void EraseProgressLine() {
  if (!g_bar_shown) return;
  g_bar_shown = false;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

bool StdoutIsTerminalOrPipe() {
  struct stat st {};
  if (isatty(STDOUT_FILENO) != 0) return true;
  return fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

namespace {
// A dumb terminal (TERM=dumb: Emacs' shell, say) has no ESC [ K to erase the bar with.
bool TerminalCanErase() {
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}
}  // namespace

ProgressLine::ProgressLine(std::string command, ProgressShown shown)
    : command_(std::move(command)),
      enabled_(shown == ProgressShown::kIfStderrIsTerminal && isatty(STDERR_FILENO) != 0 && TerminalCanErase()),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { EraseProgressLine(); }

void ProgressLine::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!ever_drawn_ && now - start_ < FirstDrawDelay()) return;
  if (ever_drawn_ && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  ever_drawn_ = true;
  Draw(done, total);
}

std::function<void(uint64_t, uint64_t)> ProgressLine::Callback() {
  if (!enabled_) return nullptr;
  return [this](uint64_t done, uint64_t total) { Update(done, total); };
}

void ProgressLine::Draw(uint64_t done, uint64_t total) {
  // Lines on stdout not yet written out would otherwise land after the bar on the terminal.
  std::fflush(stdout);
  const double f = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(f * kWidth);
  const std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.');
  std::string line = fmt::format("{} [{}] {:3d}% {} / {}", command_, bar, static_cast<int>(f * 100),
                                 HumanBytes(std::min(done, total)), HumanBytes(total));
  // Never as wide as the terminal: a line that wraps is only erased from its last row up.
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && line.size() >= ws.ws_col) {
    line.resize(static_cast<size_t>(ws.ws_col) - 1);
  }
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  g_bar_shown = true;
}

LogPosition::LogPosition(const std::vector<std::string>& files) {
  for (const std::string& f : files) {
    file_start_[f] = total_;
    std::error_code ec;
    const auto size = std::filesystem::file_size(f, ec);
    if (!ec) total_ += size;
  }
}

uint64_t LogPosition::At(const SectionInfo& section) const {
  auto it = section.slab != nullptr ? file_start_.find(section.slab->file) : file_start_.end();
  return (it != file_start_.end() ? it->second : 0) + section.offset;
}

}  // namespace slablog::cli
