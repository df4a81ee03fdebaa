// slablog split: cut a log into new, independent logs (per stream, per slab, by size or by time
// span) for shipping in pieces. The input is only read; the pieces appear all at once, when every
// one of them is complete (new_logs.h).
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>

#include "commands.h"
#include "copper_cli.h"
#include "log_copy.h"
#include "log_sizes.h"
#include "new_logs.h"
#include "output.h"
#include "problems.h"
#include "progress.h"
#include "stop_signal.h"
#include "time_window.h"

namespace slablog::cli {
namespace {

constexpr const char* kSplitCmd = "split";

struct SplitOptions {
  std::string log;
  std::string dir;
  std::vector<std::string> by;
  bool force = false;
  LogSizeOptions sizes;
  std::string since, until;
  TimeWindow window;  // parsed from since and until
  bool compress = false;
  int level = 1;
};

// Stops the command with an exit code (after the message was printed).
struct Stop {
  ExitCode code;
};

// A stream name as part of a file name: letters, digits, '.', '-' and '_' stay, the rest become
// '_', and a leading '.' would hide the file.
std::string FileSafe(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
    out.push_back(keep ? c : '_');
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

std::string Numbered(const char* what, uint64_t n) { return fmt::format("{}{:04}", what, n); }

// One split in progress: the input, the options every piece is written with, and the pieces.
class Splitter {
 public:
  Splitter(const SplitOptions& opt, const WriterOptions& piece_options, LogSurvey survey)
      : opt_(opt), piece_options_(piece_options), survey_(std::move(survey)), logs_(opt.force),
        problems_(kSplitCmd), progress_(kSplitCmd), position_(survey_.files) {
    problems_.OncePerPlace();
    logs_.Protect(survey_.files);
    stem_ = (std::filesystem::path(opt.dir) / LogStem(opt.log)).string();
  }

  void ByStream();
  void BySlab();
  void BySize(uint64_t size);
  void BySizeBeforeCompression(uint64_t size);
  void ByTime(int64_t span);

  // Publishes the pieces and prints their names.
  ExitCode Finish() {
    Check(logs_.Publish());
    for (const std::string& name : logs_.names()) Print("{}\n", name);
    if (problems_.damage() > 0) {
      Complain(kSplitCmd, "{} problem{} in {}: the pieces hold every record that could be read",
               problems_.damage(), problems_.damage() == 1 ? "" : "s", opt_.log);
      return ExitCode::kDataProblem;
    }
    return ExitCode::kOk;
  }

 private:
  void Check(const Status& st) {
    if (!st) throw Stop{Fail(kSplitCmd, st.error())};
  }
  void CheckStop() {
    if (StopRequested().load()) {
      Complain(kSplitCmd, "interrupted: no piece was written");
      throw Stop{ExitCode::kInterrupted};
    }
  }
  std::unique_ptr<Reader> OpenReader(std::vector<std::string> only_streams = {}) {
    ReaderOptions options;
    options.only_streams = std::move(only_streams);
    auto r = Reader::Open(opt_.log, options, &problems_);
    if (!r) throw Stop{Fail(kSplitCmd, r.error())};
    return std::move(r.value());
  }
  // Ends the current piece and begins the next, named `suffix`, with no stream yet.
  void NewPiece(const std::string& suffix, const WriterOptions& options) {
    EndPiece();
    auto temp = logs_.Add(stem_ + "." + suffix + ".slog");
    if (!temp) throw Stop{Fail(kSplitCmd, temp.error())};
    auto out = OutputLog::Create(temp.value(), options, opt_.compress ? opt_.level : 0);
    if (!out) throw Stop{Fail(kSplitCmd, out.error())};
    piece_ = std::move(out.value());
  }
  // Begins the next piece with every stream of the log in its catalog.
  void StartPiece(const std::string& suffix, const WriterOptions& options) {
    NewPiece(suffix, options);
    for (const CatalogEntry& e : survey_.streams) {
      Status st = piece_->OpenStream(e);
      if (!st && st.error().code == Errc::kFull) {
        Complain(kSplitCmd, "a piece of {} bytes cannot even hold the catalog of {} streams; use a larger size",
                 options.slab_size, survey_.streams.size());
        throw Stop{ExitCode::kUsage};
      }
      Check(st);
    }
  }
  void EndPiece() {
    if (piece_ != nullptr) Check(piece_->Close());
    piece_.reset();
  }
  // The catalog entry of a record's stream (a stream the catalog lost is kept as binary).
  const CatalogEntry& EntryOf(const Reader& reader, uint32_t id) {
    if (const CatalogEntry* e = reader.stream(id)) return *e;
    auto it = unknown_.try_emplace(id, CatalogEntry{id, Encoding::kBinary, 0, "#" + std::to_string(id)}).first;
    return it->second;
  }
  // Reads `reader` to its end, handing each slab and record item to `take`; sections for which
  // `skip` returns true are hopped over unread.
  // Only records in --since/--until are handed over; closed sections outside them are hopped
  // over by the time range in their headers.
  void ForEachRecord(Reader& reader, const std::function<void(const Item&)>& take,
                     const std::function<bool(const SectionInfo&)>& skip = nullptr) {
    const TimeWindow& w = opt_.window;
    Item item;
    uint64_t n = 0;
    while (reader.Next(&item)) {
      if ((++n & 0xFFF) == 0) CheckStop();
      if (item.kind == ItemKind::kSection) {
        // Some ways of splitting read the log once per piece or per stream: the bar covers them all.
        progress_.Update(pass_ * position_.total() + position_.At(*item.section), passes_ * position_.total());
        const auto& c = item.section->close;
        const bool outside = w.any && c && c->frame_count > 0 && item.section->open.stream_id != kCatalogStream &&
                             (c->last_t < w.since || c->first_t > w.until);
        if (outside || (skip && skip(*item.section))) reader.SkipSection();
      }
      if (item.kind == ItemKind::kRecord && !w.Contains(item.record.timestamp)) continue;
      if (item.kind == ItemKind::kRecord || item.kind == ItemKind::kSlab) take(item);
    }
    CheckStop();
    ++pass_;
  }

  const SplitOptions& opt_;
  WriterOptions piece_options_;
  LogSurvey survey_;
  NewLogs logs_;
  ProblemLog problems_;
  std::string stem_;
  std::unique_ptr<OutputLog> piece_;
  std::map<uint32_t, CatalogEntry> unknown_;
  ProgressLine progress_;
  LogPosition position_;
  uint64_t pass_ = 0;    // passes over the log done
  uint64_t passes_ = 1;  // passes over the log this way of splitting makes
};

void Splitter::ByStream() {
  // One pass per stream: one output open at a time, whatever the number of streams; the other
  // streams' sections are hopped over by their headers.
  std::map<std::string, int> used;
  passes_ = std::max<uint64_t>(1, survey_.streams.size());
  for (const CatalogEntry& e : survey_.streams) {
    std::string safe = FileSafe(e.name);
    if (used[safe]++ > 0) safe += "~" + std::to_string(e.stream_id);
    NewPiece(safe, piece_options_);
    Check(piece_->OpenStream(e));
    auto reader = OpenReader({e.name});
    ForEachRecord(*reader, [&](const Item& item) {
      if (item.kind != ItemKind::kRecord) return;
      Check(piece_->Append(e, item.record.payload, item.record.timestamp));
    });
  }
  EndPiece();
}

void Splitter::BySlab() {
  // A record whose fragments span slabs goes with the slab where it ends (where it is complete).
  auto reader = OpenReader();
  ForEachRecord(*reader, [&](const Item& item) {
    if (item.kind == ItemKind::kSlab) {
      StartPiece(Numbered("slab", item.slab->header.slab_index), piece_options_);
      return;
    }
    const RecordView& r = item.record;
    Check(piece_->Append(EntryOf(*reader, r.stream_id), r.payload, r.timestamp));
  });
  EndPiece();
}

void Splitter::BySize(uint64_t size) {
  if (opt_.compress) {
    BySizeBeforeCompression(size);
    return;
  }
  WriterOptions options = piece_options_;
  // A piece is one slab that never grows past `size`; sections small enough that a piece with
  // several streams still fills up.
  const uint64_t page = SystemPageSize();
  options.slab_size = size / page * page;
  options.max_slabs = 1;
  options.section_size = std::min(options.section_size, std::max(page, options.slab_size / 8 / page * page));
  uint64_t pieces = 0;
  StartPiece(Numbered("part", pieces++), options);
  auto reader = OpenReader();
  ForEachRecord(*reader, [&](const Item& item) {
    if (item.kind != ItemKind::kRecord) return;
    const RecordView& r = item.record;
    const CatalogEntry& e = EntryOf(*reader, r.stream_id);
    Status st = piece_->Append(e, r.payload, r.timestamp);
    if (!st && st.error().code == Errc::kFull && piece_->records() > 0) {
      StartPiece(Numbered("part", pieces++), options);
      st = piece_->Append(e, r.payload, r.timestamp);
    }
    if (!st && st.error().code == Errc::kFull) {
      Complain(kSplitCmd, "{}: offset {}: record {} of stream '{}' has {} bytes, more than a piece of {} bytes holds; use a larger size",
               r.slab->file, r.offset, r.index, e.name, r.payload.size(), options.slab_size);
      throw Stop{ExitCode::kDataProblem};
    }
    Check(st);
  });
  EndPiece();
}

// Compressed pieces: how small a piece's records compress is known only once it is written, so
// pieces are cut by their frames' bytes before compression, and are smaller than `size` on disk.
// A record larger than that gets a piece of its own.
void Splitter::BySizeBeforeCompression(uint64_t size) {
  uint64_t pieces = 0;
  StartPiece(Numbered("part", pieces++), piece_options_);
  auto reader = OpenReader();
  ForEachRecord(*reader, [&](const Item& item) {
    if (item.kind != ItemKind::kRecord) return;
    const RecordView& r = item.record;
    if (piece_->records() > 0 && piece_->frame_bytes() + kFrameHeaderSize + r.payload.size() > size) {
      StartPiece(Numbered("part", pieces++), piece_options_);
    }
    Check(piece_->Append(EntryOf(*reader, r.stream_id), r.payload, r.timestamp));
  });
  EndPiece();
}

void Splitter::ByTime(int64_t span) {
  if (!survey_.first_t) {
    StartPiece(Numbered("part", 0), piece_options_);  // no records: one piece keeps the streams
    EndPiece();
    return;
  }
  // Pieces cover [origin + k*span, origin + (k+1)*span), with the origin a multiple of the span
  // (an hour's pieces start on the hour). Records of one window can be anywhere in the log (each
  // stream has its own sections), so each window is one pass that skips the closed sections
  // outside it by the time range in their headers.
  const int64_t first = *survey_.first_t, last = *survey_.last_t;
  int64_t r = first % span;
  if (r < 0) r += span;
  const int64_t origin = first < INT64_MIN + r ? first : first - r;  // unaligned only at the very bottom
  const auto window_of = [&](int64_t t) {
    return (static_cast<uint64_t>(t) - static_cast<uint64_t>(origin)) / static_cast<uint64_t>(span);
  };
  const uint64_t windows = window_of(last) + 1;
  if (windows > 1000000) {
    Complain(kSplitCmd, "{} ns of records in pieces of {} ns would make over a million pieces; use a longer duration",
             static_cast<uint64_t>(last) - static_cast<uint64_t>(first), span);
    throw Stop{ExitCode::kUsage};
  }
  uint64_t pieces = 0;
  passes_ = windows;
  for (uint64_t k = 0; k < windows; ++k) {
    auto reader = OpenReader();
    bool started = false;
    ForEachRecord(
        *reader,
        [&](const Item& item) {
          if (item.kind != ItemKind::kRecord) return;
          const RecordView& rec = item.record;
          if (rec.timestamp < origin || window_of(rec.timestamp) != k) return;
          if (!started) StartPiece(Numbered("part", pieces++), piece_options_);
          started = true;
          Check(piece_->Append(EntryOf(*reader, rec.stream_id), rec.payload, rec.timestamp));
        },
        [&](const SectionInfo& s) {
          if (!s.close || s.close->frame_count == 0) return false;
          return s.close->last_t < origin || window_of(s.close->last_t) < k ||
                 (s.close->first_t >= origin && window_of(s.close->first_t) > k);
        });
    EndPiece();
  }
}

ExitCode RunSplit(SplitOptions opt) {
  const std::string mode = opt.by.empty() ? "stream" : opt.by[0];
  const bool needs_value = mode == "size" || mode == "time";
  // --by takes one or two words, so the parser hands it the log too when the log comes right
  // after it ("split --by slab run.slog -o out"): that word is the log.
  const size_t words = needs_value ? 2 : 1;
  if (opt.by.size() == words + 1 && opt.log.empty()) {
    opt.log = opt.by.back();
    opt.by.pop_back();
  }
  if ((mode != "stream" && mode != "slab" && !needs_value) || (!opt.by.empty() && opt.by.size() != words)) {
    Complain(kSplitCmd, "--by takes 'stream', 'slab', 'size SIZE' or 'time DURATION'");
    return ExitCode::kUsage;
  }
  if (opt.log.empty()) {
    Complain(kSplitCmd, "which log? (slablog split LOG -o DIR)");
    return ExitCode::kUsage;
  }
  uint64_t size = 0;
  int64_t span = 0;
  if (mode == "size" && (!ParseSize(opt.by[1], &size) || size < (uint64_t{64} << 10))) {
    Complain(kSplitCmd, "--by size takes a size of at least 64K, such as 100M or 2G");
    return ExitCode::kUsage;
  }
  if (mode == "time" && !ParseDurationNs(opt.by[1], &span)) {
    Complain(kSplitCmd, "--by time takes a duration such as 90s, 10m, 1h30m or 500ms");
    return ExitCode::kUsage;
  }
  WriterOptions piece;
  if (!ParseLogSizes(kSplitCmd, opt.sizes, &piece)) return ExitCode::kUsage;
  if (RefuseCopperLog("split", opt.log)) return ExitCode::kUsage;
  if (!ParseTimeWindow(kSplitCmd, opt.since, opt.until, [&] { return NewestRecordTime(opt.log, nullptr); },
                       &opt.window)) {
    return ExitCode::kUsage;
  }
  auto survey = SurveyLog(opt.log, mode == "time");
  if (!survey) return Fail(kSplitCmd, survey.error());
  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  if (ec) {
    Complain(kSplitCmd, "{}: cannot create the directory: {}", opt.dir, ec.message());
    return ExitCode::kIo;
  }
  CatchStopSignals();
  try {
    Splitter split(opt, piece, std::move(survey.value()));
    if (mode == "stream") split.ByStream();
    if (mode == "slab") split.BySlab();
    if (mode == "size") split.BySize(size);
    if (mode == "time") split.ByTime(span);
    return split.Finish();
  } catch (const Stop& stop) {
    return stop.code;
  }
}

}  // namespace

void RegisterSplit(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<SplitOptions>();
  CLI::App* sub = app.add_subcommand("split", "Cut a log into new, independent logs (by stream, slab, size or time)");
  // Not ->required(): a log given right after --by arrives among --by's words (RunSplit).
  sub->add_option("log", opt->log, "Log base name, one of its slab files, or a file of joined slabs (only read)");
  sub->add_option("-o,--out", opt->dir, "Directory for the pieces (created if missing)")->required();
  sub->add_option("--by", opt->by, "stream (default), slab, 'size SIZE' or 'time DURATION'")->expected(1, 3);
  sub->add_flag("-f,--force", opt->force, "Replace pieces that already exist");
  sub->add_option("--since", opt->since,
                  "Only records at or after this time (nanoseconds, RFC 3339, or -DURATION back from the newest record)");
  sub->add_option("--until", opt->until, "Only records at or before this time (as --since)");
  AddLogSizeOptions(sub, &opt->sizes, "of each piece", "not with --by size");
  sub->add_flag("-z,--compress", opt->compress, "Write compressed pieces (zstd; see slablog compress)");
  sub->add_option("-l,--level", opt->level, "With --compress: zstd level, 1 (fastest) to 19 (smallest)")
      ->check(CLI::Range(1, 19))
      ->capture_default_str();
  sub->final_callback([opt, rc] { *rc = RunSplit(*opt); });
}

}  // namespace slablog::cli
