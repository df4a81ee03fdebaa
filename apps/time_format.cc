#include "time_format.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>
#include <random>

#include "output.h"

namespace slablog::cli {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

struct TimeFormatName {
  std::string_view name;
  TimeFormat format;
};
constexpr TimeFormatName kTimeFormatNames[] = {{"ns", TimeFormat::kNs},
                                               {"ns-string", TimeFormat::kNsString},
                                               {"rfc3339", TimeFormat::kRfc3339},
                                               {"s", TimeFormat::kSeconds}};

// Nine digits of v < 10^9, with leading zeros.
char* PutNineDigits(char* p, uint32_t v) {
  for (int i = 8; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + 9;
}

char* PutTwoDigits(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

// The proleptic Gregorian date of a day counted from 1970-01-01 (negative before). Hand-written
// (std::chrono's year_month_day would do it, but glibc's gmtime_r takes a lock per call and
// libstdc++ 12 has no chrono formatting): eras of 400 years, then the year of the era counted
// from March, so the leap day falls last.
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  days += 719468;  // from 0000-03-01
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  *day = day_of_year - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(year_of_era) + era * 400 + (*month <= 2 ? 1 : 0);
}

// "YYYY-MM-DDTHH:MM:SS" of a second since the epoch. Every int64 nanosecond time falls in the
// years 1677 to 2262, so the year always has four digits.
char* PutDateTime(char* p, int64_t seconds) {
  // Records come in time order: most share their second with the record before.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[19];
  if (seconds != cached_second) {
    int64_t days = seconds / 86400, second_of_day = seconds % 86400;
    if (second_of_day < 0) {
      second_of_day += 86400;
      --days;
    }
    int64_t year = 0;
    unsigned month = 0, day = 0;
    CivilFromDays(days, &year, &month, &day);
    char* q = cached;
    q = PutTwoDigits(q, static_cast<unsigned>(year / 100));
    q = PutTwoDigits(q, static_cast<unsigned>(year % 100));
    *q++ = '-';
    q = PutTwoDigits(q, month);
    *q++ = '-';
    q = PutTwoDigits(q, day);
    *q++ = 'T';
    const auto sod = static_cast<unsigned>(second_of_day);
    q = PutTwoDigits(q, sod / 3600);
    *q++ = ':';
    q = PutTwoDigits(q, sod / 60 % 60);
    *q++ = ':';
    PutTwoDigits(q, sod % 60);
    cached_second = seconds;
  }
  std::memcpy(p, cached, sizeof(cached));
  return p + sizeof(cached);
}

// Whole seconds rounded down and the nanoseconds after them, for any int64 (no overflow).
void SplitSeconds(int64_t t, int64_t* seconds, uint32_t* nanos) {
  int64_t s = t / kNsPerSecond, ns = t % kNsPerSecond;
  if (ns < 0) {
    ns += kNsPerSecond;
    --s;
  }
  *seconds = s;
  *nanos = static_cast<uint32_t>(ns);
}

// Written without quotes.
char* PutRfc3339(char* p, int64_t t) {
  int64_t seconds = 0;
  uint32_t nanos = 0;
  SplitSeconds(t, &seconds, &nanos);
  p = PutDateTime(p, seconds);
  *p++ = '.';
  p = PutNineDigits(p, nanos);
  *p++ = 'Z';
  return p;
}

// Exact decimal seconds: the sign, the whole seconds, nine digits of nanoseconds.
char* PutSeconds(char* p, int64_t t) {
  uint64_t magnitude = t < 0 ? 0 - static_cast<uint64_t>(t) : static_cast<uint64_t>(t);
  if (t < 0) *p++ = '-';
  p = std::to_chars(p, p + 20, magnitude / kNsPerSecond).ptr;
  *p++ = '.';
  return PutNineDigits(p, static_cast<uint32_t>(magnitude % kNsPerSecond));
}

// nlohmann_json has no raw numbers: seconds travel to DumpJson as strings with this prefix, which
// holds a random number drawn per process so that no string read from a log can forge it.
const std::string& SecondsMark() {
  static const std::string mark = [] {
    std::random_device random;
    return fmt::format("\x01seconds-{:08x}{:08x}:", random(), random());
  }();
  return mark;
}

}  // namespace

void AddTimeFormatOption(CLI::App* sub, std::string* text) {
  sub->add_option("--time-format", *text,
                  "How times are printed: ns (integer nanoseconds, the default), ns-string (the same digits as a "
                  "JSON string, exact in jq 1.6), rfc3339 (UTC, 9 fractional digits), s (decimal seconds)");
}

bool ParseTimeFormatOption(const char* command, const std::string& text, TimeFormat* out) {
  if (text.empty()) {
    *out = TimeFormat::kNs;
    return true;
  }
  for (const TimeFormatName& n : kTimeFormatNames) {
    if (n.name == text) {
      *out = n.format;
      return true;
    }
  }
  Complain(command, "--time-format takes ns, ns-string, rfc3339 or s: not '{}'", text);
  return false;
}

char* PutTime(char* p, int64_t t, TimeFormat format) {
  switch (format) {
    case TimeFormat::kNs:
      return std::to_chars(p, p + kMaxTimeChars, t).ptr;
    case TimeFormat::kNsString:
      *p++ = '"';
      p = std::to_chars(p, p + kMaxTimeChars, t).ptr;
      *p++ = '"';
      return p;
    case TimeFormat::kRfc3339:
      *p++ = '"';
      p = PutRfc3339(p, t);
      *p++ = '"';
      return p;
    case TimeFormat::kSeconds:
      return PutSeconds(p, t);
  }
  return p;
}

void AppendTimeJson(std::string* out, int64_t t, TimeFormat format) {
  char buf[kMaxTimeChars];
  out->append(buf, static_cast<size_t>(PutTime(buf, t, format) - buf));
}

std::string TimeText(int64_t t, TimeFormat format) {
  char buf[kMaxTimeChars];
  char* end = buf;
  switch (format) {
    case TimeFormat::kNs:
    case TimeFormat::kNsString:
      end = std::to_chars(buf, buf + sizeof(buf), t).ptr;
      break;
    case TimeFormat::kRfc3339:
      end = PutRfc3339(buf, t);
      break;
    case TimeFormat::kSeconds:
      end = PutSeconds(buf, t);
      break;
  }
  return std::string(buf, static_cast<size_t>(end - buf));
}

nlohmann::ordered_json TimeJson(int64_t t, TimeFormat format) {
  switch (format) {
    case TimeFormat::kNs:
      return t;
    case TimeFormat::kNsString:
    case TimeFormat::kRfc3339:
      return TimeText(t, format);
    case TimeFormat::kSeconds:
      return SecondsMark() + TimeText(t, format);
  }
  return t;
}

std::string DumpJson(const nlohmann::ordered_json& j, int indent) {
  std::string text = j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  // The dump escapes the mark's first character. One pass, copying: replacing in place was
  // quadratic (20,000 streams took 6 s).
  const std::string quoted_mark = "\"\\u0001" + SecondsMark().substr(1);
  size_t at = text.find(quoted_mark);
  if (at == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  size_t from = 0;
  for (; at != std::string::npos; at = text.find(quoted_mark, from)) {
    const size_t digits = at + quoted_mark.size();
    const size_t close = text.find('"', digits);
    out.append(text, from, at - from).append(text, digits, close - digits);
    from = close + 1;
  }
  out.append(text, from, std::string::npos);
  text = std::move(out);
  return text;
}

}  // namespace slablog::cli
