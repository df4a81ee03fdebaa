// slablog dump: every slab, section and frame of a log with offsets, sizes, timestamps, CRC status
// and a payload preview; problems are listed in place, where they were found.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "commands.h"
#include "copper_cli.h"
#include "output.h"
#include "problems.h"
#include "slablog/reader.h"
#include "time_format.h"

namespace slablog::cli {
namespace {

struct DumpOptions {
  std::string log;
  bool hex = false;
  bool sections_only = false;
  bool no_verify = false;
  std::vector<std::string> streams;
  std::string copperlist_type;
  std::string time_format;
};

// Problems go to stdout between the lines they concern, and are counted as usual.
class InlineProblems : public ProblemLog {
 public:
  InlineProblems() : ProblemLog("dump", /*print=*/false) {}
  void OnCorruption(const Corruption& c) override {
    ProblemLog::OnCorruption(c);
    Print("    !! {}\n", Format(c));
  }
};

std::string Preview(std::span<const uint8_t> p, size_t max_chars = 72) {
  const bool printable = std::all_of(p.begin(), p.end(), [](uint8_t c) {
    return c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
  });
  std::string out;
  if (printable) {
    out.push_back('"');
    for (size_t i = 0; i < p.size() && out.size() < max_chars; ++i) {
      const char c = static_cast<char>(p[i]);
      if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c == '"' || c == '\\') { out.push_back('\\'); out.push_back(c); }
      else out.push_back(c);
    }
    out += out.size() >= max_chars ? "\"..." : "\"";
    return out;
  }
  for (size_t i = 0; i < p.size() && i < 24; ++i) out += fmt::format("{:02x}", p[i]);
  if (p.size() > 24) out += "...";
  return out;
}

void HexDump(std::span<const uint8_t> p) {
  for (size_t row = 0; row < p.size(); row += 16) {
    std::string hex, text;
    for (size_t i = row; i < row + 16; ++i) {
      if (i < p.size()) {
        hex += fmt::format("{:02x}{}", p[i], i % 2 == 1 ? " " : "");
        text.push_back(p[i] >= 0x20 && p[i] < 0x7f ? static_cast<char>(p[i]) : '.');
      } else {
        hex += i % 2 == 1 ? "   " : "  ";
      }
    }
    Print("        {:08x}: {} {}\n", row, hex, text);
  }
}

std::string StreamLabel(const Reader& reader, uint32_t id) {
  if (id == kCatalogStream) return "catalog";
  const CatalogEntry* e = reader.stream(id);
  return e != nullptr ? fmt::format("{} '{}'", id, e->name) : fmt::format("{} (not in catalog)", id);
}

void PrintSlab(const SlabInfo& s) {
  Print("slab {}  {} @{}  log {}  page {}  capacity {}  present {}{}{}{}{}\n", s.header.slab_index,
             s.file, s.file_offset, LogIdHex(s.header.log_id), s.header.page_size, s.header.capacity,
             s.bytes, WallTime(s.header.created_ns).empty() ? "" : "  created ",
             WallTime(s.header.created_ns), (s.header.flags & kSlabFlagRing) != 0 ? "  ring" : "",
             (s.header.flags & kSlabFlagCompressed) != 0 ? "  compressed" : "");
}

void PrintSection(const Reader& reader, const SectionInfo& s, TimeFormat time_format) {
  std::string state = "OPEN";
  if (s.close) {
    state = fmt::format("closed  filled {}  frames {}  records {}  bytes {}", s.close->filled,
                        s.close->frame_count, s.close->record_count, s.close->payload_bytes);
    if (s.close->frame_count > 0) {
      state += fmt::format("  t {}..{}", TimeText(s.close->first_t, time_format), TimeText(s.close->last_t, time_format));
    }
    // Its frames follow at offsets counted in the frames once decompressed (slablog.5).
    if (s.open.compressed()) {
      state += fmt::format("  zstd: {} bytes stored for {} of frames", s.close->filled,
                           s.close->frame_count * kFrameHeaderSize + s.close->payload_bytes);
    }
  } else if (s.open.compressed()) {
    state = "compressed, NO VALID CLOSE BLOCK";
  }
  Print("  section @{}  stream {}  seq {}  size {}  {}\n", s.offset,
             StreamLabel(reader, s.open.stream_id), s.open.seq, s.open.size, state);
}

void PrintFrame(const SectionInfo& s, const FrameView& f, bool hex, TimeFormat time_format) {
  std::string what;
  if (s.open.stream_id == kCatalogStream && f.crc_ok && f.header.kind == FragmentKind::kFull) {
    if (auto e = DecodeCatalogEntry(f.payload)) {
      what = fmt::format("defines stream {} '{}' encoding {} type {}", e->stream_id, e->name,
                         EncodingName(e->encoding), e->type);
    } else if (auto p = DecodeStreamPosition(f.payload)) {
      what = p->slab_index ? fmt::format("stream {} numbered its next section {} when slab {} began (ring, kept slab)",
                                         p->stream_id, p->next_seq, *p->slab_index)
                           : fmt::format("stream {} numbers its next section {} (ring)", p->stream_id, p->next_seq);
    }
  }
  if (what.empty()) what = Preview(f.payload);
  // A fragment of a larger record says which one it is, and the FIRST how long the record is.
  std::string fragment;
  if (f.header.kind == FragmentKind::kFirst) {
    fragment = fmt::format("  of {}", f.record_length());
  } else if (f.header.kind != FragmentKind::kFull) {
    fragment = fmt::format("  #{}", f.header.index);
  }
  Print("    frame @{}  {:<6}{}  len {}  t {}  crc {}  {}\n", f.offset,
             FragmentKindName(f.header.kind), fragment, f.header.length, TimeText(f.header.timestamp, time_format),
             f.crc_ok ? "ok" : "BAD", what);
  if (hex) HexDump(f.payload);
}

ExitCode RunDump(const DumpOptions& opt) {
  TimeFormat time_format = TimeFormat::kNs;
  if (!ParseTimeFormatOption("dump", opt.time_format, &time_format)) return ExitCode::kUsage;
  if (IsCopperLog(opt.log)) {
    std::optional<copper::CopperType> type;
    if (!ParseCopperTypeOption("dump", opt.copperlist_type, &type)) return ExitCode::kUsage;
    return CopperDump(opt.log, opt.hex, opt.sections_only, opt.streams, type ? &*type : nullptr, time_format);
  }
  InlineProblems problems;
  ReaderOptions ro;
  ro.records = false;
  ro.frames = !opt.sections_only;
  ro.verify_checksums = !opt.no_verify;
  auto opened = Reader::Open(opt.log, ro, &problems);
  if (!opened) return Fail("dump", opened.error());
  Reader& reader = *opened.value();
  bool shown = true;  // whether the current section passes --stream
  Item item;
  while (reader.Next(&item) && !StdoutClosed()) {
    switch (item.kind) {
      case ItemKind::kSlab:
        PrintSlab(*item.slab);
        break;
      case ItemKind::kSection: {
        const CatalogEntry* e = reader.stream(item.section->open.stream_id);
        shown = opt.streams.empty() ||
                (e != nullptr && std::find(opt.streams.begin(), opt.streams.end(), e->name) != opt.streams.end());
        if (!shown) {
          reader.SkipSection();
          break;
        }
        PrintSection(reader, *item.section, time_format);
        if (opt.sections_only) reader.SkipSection();
        break;
      }
      case ItemKind::kFrame:
        if (shown) PrintFrame(*item.section, item.frame, opt.hex, time_format);
        break;
      case ItemKind::kRecord:
        break;
    }
  }
  const LogSummary& s = reader.summary();
  Print("end: {} slab{}, {}, {} problem{}\n", s.slabs, s.slabs == 1 ? "" : "s",
             s.clean ? "closed cleanly" : "NOT closed cleanly", problems.total(),
             problems.total() == 1 ? "" : "s");
  if (problems.damage() > 0) {
    Complain("dump", "{} problem{} found (listed in place)", problems.damage(),
             problems.damage() == 1 ? "" : "s");
    return ExitCode::kDataProblem;
  }
  return ExitCode::kOk;
}

}  // namespace

void RegisterDump(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<DumpOptions>();
  CLI::App* sub = app.add_subcommand("dump", "List every slab, section and frame of a log");
  sub->add_option("log", opt->log, "Log base name, one of its slab files, or a file of joined slabs")->required();
  sub->add_flag("-x,--hex", opt->hex, "Add a hexdump of each payload");
  sub->add_flag("--sections", opt->sections_only, "List slabs and sections only, not frames");
  sub->add_option("-s,--stream", opt->streams, "Only sections of this stream (repeatable)");
  sub->add_flag("--no-verify", opt->no_verify, "Do not check frame CRCs");
  AddCopperTypeOption(sub, &opt->copperlist_type);
  AddTimeFormatOption(sub, &opt->time_format);
  sub->final_callback([opt, rc] { *rc = RunDump(*opt); });
}

}  // namespace slablog::cli
