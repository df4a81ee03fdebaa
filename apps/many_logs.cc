#include "many_logs.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "output.h"
#include "time_format.h"
#include "slablog/format.h"

namespace slablog::cli {

std::vector<std::string> DistinctLogs(const std::vector<std::string>& args) {
  std::vector<std::string> logs;
  for (const std::string& arg : args) {
    std::string log = arg;
    std::error_code ec;
    // Only a file that is one of the base's slabs: a log may be named camera_2.slog itself. A
    // slab that is also the base name of slab files is passed on as given, for the reader to
    // refuse naming both logs, rather than read as one of them.
    // Only listings read through decide: any other is passed on as given, for the reader to
    // list again and fail, or refuse, itself.
    if (auto base = BaseOfSlabPath(arg); base && std::filesystem::is_regular_file(arg, ec)) {
      if (const auto own = ListSlabFilesOrFail(arg); own && own->empty()) {
        if (const auto larger = ListSlabFilesOrFail(*base)) {
          for (const auto& [index, path] : larger.value()) {
            if (std::filesystem::equivalent(path, arg, ec)) log = *base;
          }
        }
      }
    }
    if (std::find(logs.begin(), logs.end(), log) == logs.end()) logs.push_back(std::move(log));
  }
  return logs;
}

ExitCode WorseExitCode(ExitCode a, ExitCode b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

namespace {
const std::string*& JsonReportLog() {
  static const std::string* log = nullptr;
  return log;
}
}  // namespace

void SetJsonReportLog(const std::string* log) { JsonReportLog() = log; }

void PrintJsonReport(const nlohmann::ordered_json& report) {
  const std::string* log = JsonReportLog();
  if (log == nullptr) {
    Print("{}\n", DumpJson(report, 2));
    return;
  }
  nlohmann::ordered_json line;
  line["log"] = *log;
  for (const auto& [key, value] : report.items()) line[key] = value;
  Print("{}\n", DumpJson(line, -1));
  // Whole lines as each log is done: a CI job sees progress, and the lines of `xargs -P` calls
  // sharing one pipe interleave as lines (a write of up to PIPE_BUF bytes is atomic).
  std::fflush(stdout);
}

void PrintJsonReportError(const std::string& message) {
  if (JsonReportLog() == nullptr) return;
  PrintJsonReport(nlohmann::ordered_json{{"ok", false}, {"error", message}});
}

}  // namespace slablog::cli
