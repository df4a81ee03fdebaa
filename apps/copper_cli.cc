#include "copper_cli.h"

#include <CLI/CLI.hpp>

#include "json_out.h"
#include "output.h"
#include "record_json.h"
#include "slablog/log_format.h"

namespace slablog::cli {

void AddCopperTypeOption(CLI::App* sub, std::string* text) {
  sub->add_option("--copperlist-type", *text,
                  "Copper logs: the copperlists' Rust type, e.g. '(u32,u32,u32)' or '{x: f64, ok: bool}' "
                  "(without it copperlists are whole sections of bytes)");
}

bool ParseCopperTypeOption(const char* command, const std::string& text, std::optional<copper::CopperType>* out) {
  if (text.empty()) return true;
  auto parsed = copper::CopperType::Parse(text);
  if (!parsed) {
    Complain(command, "{}", parsed.error().message);
    return false;
  }
  *out = std::move(parsed.value());
  return true;
}

bool IsCopperLog(const std::string& log) { return DetectLogFormat(log) == LogFormat::kCopper; }

bool RefuseCopperLog(const char* command, const std::string& log) {
  if (!IsCopperLog(log)) return false;
  Complain(command, "{} is a Copper log, which {} does not change or rewrite; `slablog convert {} OUT` "
           "writes it as a slablog log (reading commands take it as it is)", log, command, log);
  return true;
}

void AppendCopperItemJson(std::string* s, const copper::Item& item, TimeFormat time_format) {
  const copper::Entry& e = item.entry;
  using namespace std::string_view_literals;
  static const std::string kStart[] = {"{\"stream\":\"\",\"t\":", "{\"stream\":\"log\",\"t\":",
                                       "{\"stream\":\"copperlist\",\"t\":", "{\"stream\":\"keyframes\",\"t\":"};
  s->append(kStart[e.type == copper::EntryType::kLogLine ? 1 : e.type == copper::EntryType::kCopperList ? 2
                   : e.type == copper::EntryType::kFrozenTasks ? 3 : 0]);
  if (e.time) AppendTimeJson(s, *e.time, time_format); else s->append("null"sv);
  if (item.kind == copper::ItemKind::kEntry) {
    s->append(",\"seq\":"sv);
    AppendInt(s, static_cast<int64_t>(e.index));
    s->append(",\"data\":"sv);
    if (e.json.empty()) AppendBase64(s, e.bytes); else s->append(e.json);
    if (e.trailing_zeros_possible) s->append(",\"trailing_zeros_possible\":true"sv);
    if (e.zero_sector_possible) s->append(",\"zero_sector_possible\":true"sv);
  } else {
    s->append(",\"slab\":");
    AppendJsonString(s, item.slab->file);
    s->append(",\"offset\":");
    AppendInt(s, static_cast<int64_t>(e.offset));
    s->append(",\"bytes\":");
    AppendInt(s, static_cast<int64_t>(e.bytes.size()));
    if (item.section->trailing_zeros_possible) s->append(",\"trailing_zeros_possible\":true");
    s->append(",\"data\":");
    AppendBase64(s, e.bytes);
  }
  s->push_back('}');
}

}  // namespace slablog::cli
