// slablog info and verify of a Copper log: one pass of the Copper reader, entries decoded and
// counted but not returned. Copper logs carry no checksums: what is checked is the structure
// (slabs, the section chain, bounds and sizes, entries that decode, the end marker).
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "copper_cli.h"
#include "many_logs.h"
#include "output.h"
#include "problems.h"

namespace slablog::cli {
namespace {

struct CopperStreamRow {
  const char* name;
  copper::EntryType type;
  const copper::StreamSummary* totals;
};

std::vector<CopperStreamRow> StreamRows(const copper::Summary& s) {
  std::vector<CopperStreamRow> rows;
  auto add = [&](copper::EntryType t, const copper::StreamSummary& st) {
    if (st.sections > 0) rows.push_back({copper::StreamName(t), t, &st});
  };
  add(copper::EntryType::kLogLine, s.log_lines);
  add(copper::EntryType::kCopperList, s.copperlists);
  add(copper::EntryType::kFrozenTasks, s.keyframes);
  return rows;
}

// "300 log lines" or, for a stream whose sections could not be split, what is known.
std::string EntriesText(const CopperStreamRow& r) {
  if (r.totals->unsplit_sections == 0) return std::to_string(r.totals->entries);
  return fmt::format("? ({} section{} not split{})", r.totals->unsplit_sections,
                     r.totals->unsplit_sections == 1 ? "" : "s",
                     r.type == copper::EntryType::kCopperList ? ": give --copperlist-type" : "");
}

nlohmann::ordered_json OptTime(const std::optional<int64_t>& t, TimeFormat time_format) {
  return t ? TimeJson(*t, time_format) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json StreamsJson(const copper::Summary& s, TimeFormat time_format) {
  auto a = nlohmann::ordered_json::array();
  for (const CopperStreamRow& r : StreamRows(s)) {
    nlohmann::ordered_json st;
    st["name"] = r.name;
    st["entry_type"] = copper::EntryTypeName(r.type);
    st["entries"] = r.totals->unsplit_sections == 0 ? nlohmann::ordered_json(r.totals->entries) : nlohmann::ordered_json(nullptr);
    st["sections"] = r.totals->sections;
    st["open_sections"] = r.totals->open_sections;
    st["unsplit_sections"] = r.totals->unsplit_sections;
    st["bytes"] = r.totals->bytes;
    st["first_t"] = OptTime(r.totals->first_t, time_format);
    st["last_t"] = OptTime(r.totals->last_t, time_format);
    a.push_back(std::move(st));
  }
  return a;
}

// The layout in --json: "original" (to 2025-06), "keyframes" (2025-06..10), "v1" (2025-11 on).
const char* LayoutKey(copper::Layout layout) {
  switch (layout) {
    case copper::Layout::kOriginal: return "original";
    case copper::Layout::kKeyframes: return "keyframes";
    case copper::Layout::kV1: return "v1";
  }
  return "?";
}

uint64_t OpenSections(const copper::Summary& s) {
  return s.log_lines.open_sections + s.copperlists.open_sections + s.keyframes.open_sections;
}

uint64_t LogBytes(const std::vector<std::string>& files) {
  uint64_t n = 0;
  for (const std::string& f : files) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(f, ec);
    if (!ec) n += size;
  }
  return n;
}

// Reads the whole log, entries counted; nullptr (message printed) when it cannot be opened.
std::unique_ptr<copper::Reader> ReadAll(const char* command, const std::string& log, const copper::CopperType* type,
                                        Reporter* problems, ExitCode* rc) {
  copper::ReadOptions ro;
  ro.entries = false;
  ro.copperlist_type = type;
  auto reader = copper::Reader::Open(log, ro, problems);
  if (!reader) {
    *rc = Fail(command, reader.error());
    return nullptr;
  }
  copper::Item item;
  while (reader.value()->Next(&item)) {
  }
  return std::move(reader.value());
}

}  // namespace

ExitCode CopperInfo(const std::string& log, bool json, const copper::CopperType* type, TimeFormat time_format) {
  ProblemLog problems("info");
  ExitCode rc = ExitCode::kOk;
  auto reader = ReadAll("info", log, type, &problems, &rc);
  if (!reader) return rc;
  const copper::Summary& s = reader->summary();
  const auto& files = reader->files();
  if (json) {
    nlohmann::ordered_json j;
    j["format"] = "copper";
    j["layout"] = LayoutKey(s.layout);
    j["checksums"] = false;
    j["clean"] = s.clean;
    j["end"] = s.end;
    j["slabs"] = s.slabs;
    j["files"] = files;
    j["page_size"] = s.page_size;
    j["sections"] = s.sections;
    j["open_sections"] = OpenSections(s);
    j["log_line_level"] = s.log_line_level;
    j["copperlist_type"] = type != nullptr ? nlohmann::ordered_json(type->text()) : nlohmann::ordered_json(nullptr);
    j["problems"] = problems.total();
    j["streams"] = StreamsJson(s, time_format);
    PrintJsonReport(j);
  } else {
    // Wrapped: a path, and the state's account of where the writer stopped, ran to 250 columns.
    Print("{}\n", Wrapped("log:      ", fmt::format("{} ({} file{}, {} slab{}, page {})", files.front(), files.size(),
                                                  files.size() == 1 ? "" : "s", s.slabs, s.slabs == 1 ? "" : "s",
                                                  s.page_size)));
    Print("format:   {}; Copper logs carry no checksums\n", copper::LayoutName(s.layout));
    if (s.clean) {
      Print("state:    closed cleanly\n");
    } else {
      Print("{}\n", Wrapped("state:    ", fmt::format("NOT closed cleanly ({} open section{}; {}); 'slablog convert' "
                                                   "salvages it", OpenSections(s), OpenSections(s) == 1 ? "" : "s", s.end)));
    }
    if (problems.total() > 0) {
      Print("problems: {} ({} torn tail{}, {} damage)\n", problems.total(), problems.torn(),
            problems.torn() == 1 ? "" : "s", problems.damage());
    }
    Print("\n{:<12} {:>8} {:>6} {:>12} {:>12}  {}\n", "STREAM", "SECTIONS", "OPEN", "ENTRIES", "BYTES", "TIME RANGE (ns)");
    for (const CopperStreamRow& r : StreamRows(s)) {
      std::string range = "-";
      if (r.totals->first_t) range = fmt::format("{} .. {}", *r.totals->first_t, *r.totals->last_t);
      Print("{:<12} {:>8} {:>6} {:>12} {:>12}  {}\n", r.name, r.totals->sections, r.totals->open_sections,
            r.totals->unsplit_sections == 0 ? std::to_string(r.totals->entries) : "?", r.totals->bytes, range);
    }
    for (const CopperStreamRow& r : StreamRows(s)) {
      if (r.totals->unsplit_sections > 0) Print("\n{}: {}\n", r.name, EntriesText(r));
    }
  }
  return problems.damage() > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
}

ExitCode CopperVerify(const std::string& log, bool json, bool quiet, const copper::CopperType* type) {
  ProblemLog problems("verify", /*print=*/!json && !quiet);
  ExitCode rc = ExitCode::kOk;
  auto reader = ReadAll("verify", log, type, &problems, &rc);
  if (!reader) return rc;
  const copper::Summary& s = reader->summary();
  const bool ok = s.clean && problems.total() == 0;
  const uint64_t entries = s.log_lines.entries + s.copperlists.entries;
  const uint64_t bytes = s.log_lines.bytes + s.copperlists.bytes + s.keyframes.bytes;
  if (json) {
    nlohmann::ordered_json j;
    j["ok"] = ok;
    j["clean"] = s.clean;
    j["writer_active"] = false;
    j["records"] = entries;
    j["bytes"] = bytes;
    j["slabs"] = s.slabs;
    j["sections"] = s.sections;
    j["open_sections"] = OpenSections(s);
    j["log_bytes"] = LogBytes(reader->files());
    j["problem_count"] = problems.total();
    j["problems"] = nlohmann::ordered_json::array();
    for (const Corruption& c : problems.kept()) {
      nlohmann::ordered_json p;
      p["slab"] = c.file;
      p["slab_index"] = c.slab;
      p["offset"] = c.offset;
      p["stream"] = c.stream_name.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.stream_name);
      p["kind"] = CorruptionKindName(c.kind);
      p["detail"] = c.detail;
      p["bytes_dropped"] = c.bytes_dropped;
      j["problems"].push_back(std::move(p));
    }
    j["format"] = "copper";
    j["layout"] = LayoutKey(s.layout);
    j["checksums"] = false;
    j["end"] = s.end;
    j["streams"] = StreamsJson(s, TimeFormat::kNs);
    PrintJsonReport(j);
  } else if (!quiet) {
    std::string counts;
    for (const CopperStreamRow& r : StreamRows(s)) {
      const char* noun = r.type == copper::EntryType::kLogLine ? "log lines"
                         : r.type == copper::EntryType::kCopperList ? "copperlists" : "keyframes";
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", EntriesText(r), noun);
    }
    Print("{}: {}, no checksums (structure checked, not content): {} in {} slab{}, {} sections checked; "
          "{} problem{}; {}\n",
          log, copper::LayoutName(s.layout), counts.empty() ? "no entries" : counts, s.slabs, s.slabs == 1 ? "" : "s",
          s.sections, problems.total(), problems.total() == 1 ? "" : "s",
          s.clean ? "closed cleanly" : "NOT closed cleanly");
  }
  if (ok) return ExitCode::kOk;
  if (!json && !quiet) {
    if (!s.clean) {
      Complain("verify", "{} was not closed cleanly ({}); `slablog convert {} OUT` salvages every entry", log, s.end,
               log);
    } else {
      Complain("verify", "{} problem{} in the log; `slablog convert {} OUT` salvages every entry that decodes",
               problems.total(), problems.total() == 1 ? "" : "s", log);
    }
  }
  return ExitCode::kDataProblem;
}

}  // namespace slablog::cli
