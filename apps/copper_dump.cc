// slablog dump of a Copper log: every slab, section (with its header as on disk and what was
// made of it) and entry, problems listed in place.
#include <fmt/format.h>

#include <algorithm>

#include "copper_cli.h"
#include "output.h"
#include "problems.h"

namespace slablog::cli {
namespace {

class CopperInlineProblems : public ProblemLog {
 public:
  CopperInlineProblems() : ProblemLog("dump", /*print=*/false) {}
  void OnCorruption(const Corruption& c) override {
    ProblemLog::OnCorruption(c);
    Print("    !! {}\n", Format(c));
  }
};

const char* StateName(const copper::Section& s) {
  switch (s.marker) {
    case copper::Marker::kFinal: return "final end marker (closed cleanly)";
    case copper::Marker::kTemporary: return "temporary end marker (not closed: crashed, or being written)";
    case copper::Marker::kStale: return "stale temporary end marker (the log goes on in the next slab)";
    case copper::Marker::kNone: break;
  }
  switch (s.state) {
    case copper::SectionState::kClosed: return "closed";
    case copper::SectionState::kOpen: return "OPEN at the crash (entries read until zeros)";
    case copper::SectionState::kUnused: return "unused";
  }
  return "?";
}

void PrintCopperSection(const copper::Section& s) {
  std::string what;
  if (s.marker == copper::Marker::kNone && s.type != copper::EntryType::kEmpty) {
    what = s.split ? fmt::format("  {} entr{} (#{}..)", s.entries, s.entries == 1 ? "y" : "ies", s.first_index)
                   : fmt::format("  not split{}", s.trailing_zeros_possible ? " (trailing zeros may belong to its last entry)" : "");
    what += fmt::format("  data @{} {} bytes", s.data_offset, s.data.size());
  }
  Print("  section @{}  {} ({})  size {}  used {}{}  header {} bytes  {}{}\n", s.offset, copper::EntryTypeName(s.type),
        s.type_id, s.size, s.used, s.open_flag ? "  is_open" : "", s.header_bytes, StateName(s), what);
}

void HexLines(std::span<const uint8_t> p) {
  for (size_t row = 0; row < p.size(); row += 16) {
    std::string hex;
    for (size_t i = row; i < row + 16 && i < p.size(); ++i) hex += fmt::format("{:02x}{}", p[i], i % 2 == 1 ? " " : "");
    Print("        {:08x}: {}\n", row, hex);
  }
}

}  // namespace

ExitCode CopperDump(const std::string& log, bool hex, bool sections_only, const std::vector<std::string>& streams,
                    const copper::CopperType* type, TimeFormat time_format) {
  CopperInlineProblems problems;
  copper::ReadOptions ro;
  ro.entries = !sections_only;
  ro.json = true;
  ro.copperlist_type = type;
  auto opened = copper::Reader::Open(log, ro, &problems);
  if (!opened) return Fail("dump", opened.error());
  copper::Reader& reader = *opened.value();
  bool shown = true;
  copper::Item item;
  while (reader.Next(&item) && !StdoutClosed()) {
    switch (item.kind) {
      case copper::ItemKind::kSlab:
        Print("slab {}  {}  {} bytes\n", item.slab->index, item.slab->file, item.slab->bytes);
        break;
      case copper::ItemKind::kSection: {
        const std::string name = copper::StreamName(item.section->type);
        shown = streams.empty() || name.empty() || std::find(streams.begin(), streams.end(), name) != streams.end();
        if (shown) PrintCopperSection(*item.section);
        break;
      }
      case copper::ItemKind::kEntry:
        if (!shown) break;
        Print("    entry @{}  #{}  len {}  t {}  {}{}\n", item.entry.offset, item.entry.index, item.entry.bytes.size(),
              item.entry.time ? TimeText(*item.entry.time, time_format) : "-", item.entry.json,
              item.entry.trailing_zeros_possible ? "  (ends in zeros after the section's last non-zero byte: "
                                                   "may be torn by the crash)" : "");
        if (hex) HexLines(item.entry.bytes);
        break;
      case copper::ItemKind::kSectionBytes:
        if (shown && hex) HexLines(item.entry.bytes);
        break;
    }
  }
  const copper::Summary& s = reader.summary();
  Print("end: {} slab{}, {}; {}; {} problem{}\n", s.slabs, s.slabs == 1 ? "" : "s", copper::LayoutName(s.layout), s.end,
        problems.total(), problems.total() == 1 ? "" : "s");
  if (problems.damage() > 0) {
    Complain("dump", "{} problem{} found (listed in place)", problems.damage(), problems.damage() == 1 ? "" : "s");
    return ExitCode::kDataProblem;
  }
  return ExitCode::kOk;
}

}  // namespace slablog::cli
