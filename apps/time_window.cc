#include "time_window.h"

#include "copper_cli.h"
#include "log_copy.h"
#include "output.h"
#include "time_input.h"

namespace slablog::cli {
namespace {

// "-DURATION": how far back from the newest record.
std::optional<int64_t> RelativeBack(const std::string& text) {
  int64_t back = 0;
  if (text.size() < 2 || text[0] != '-' || !ParseDurationNs(std::string_view(text).substr(1), &back)) return std::nullopt;
  return back;
}

}  // namespace

bool ParseTimeWindow(const char* cmd, const std::string& since, const std::string& until,
                     const std::function<std::optional<int64_t>()>& newest, TimeWindow* out) {
  std::optional<std::optional<int64_t>> latest;  // asked once
  auto parse = [&](const char* option, const std::string& text, int64_t* t) {
    if (text.empty()) return true;
    out->any = true;
    if (const auto back = RelativeBack(text)) {
      if (!latest) latest = newest();
      if (!*latest) {
        Complain(cmd, "{} {}: the log has no record to count back from", option, text);
        return false;
      }
      *t = **latest < std::numeric_limits<int64_t>::min() + *back ? std::numeric_limits<int64_t>::min()
                                                                    : **latest - *back;
      return true;
    }
    if (ParseTimeNs(text, t)) return true;
    Complain(cmd, "{} takes nanoseconds, an RFC 3339 time such as 2025-11-24T16:00:00Z, or a duration back from the "
             "log's newest record such as -60s: not '{}'", option, text);
    return false;
  };
  return parse("--since", since, &out->since) && parse("--until", until, &out->until);
}

std::optional<int64_t> NewestRecordTime(const std::string& log, const copper::CopperType* copperlist_type) {
  if (IsCopperLog(log)) {
    copper::ReadOptions ro;
    ro.entries = false;
    ro.copperlist_type = copperlist_type;
    auto reader = copper::Reader::Open(log, ro, nullptr);
    if (!reader) return std::nullopt;
    copper::Item item;
    while (reader.value()->Next(&item)) {
    }
    const copper::Summary& s = reader.value()->summary();
    std::optional<int64_t> t;
    for (const copper::StreamSummary* stream : {&s.log_lines, &s.copperlists, &s.keyframes}) {
      if (stream->last_t) t = std::max(t.value_or(*stream->last_t), *stream->last_t);
    }
    return t;
  }
  auto survey = SurveyLog(log, /*times=*/true);
  return survey ? survey.value().last_t : std::nullopt;
}

}  // namespace slablog::cli
