// slablog follow: print records as NDJSON while a writer appends them, like tail -f.
//
// Writes through a memory map raise no inotify event, so the log is polled. A poll opens the log at
// the oldest slab that can still hold something new (the slab of the oldest section that was
// open at the last poll, of a stream not yet named then, or of the first fragment of a record
// still unfinished then; else the last slab seen), hops over the closed sections whose records
// were all printed, and reads only the sections still being written: its cost follows what is
// being written, not the log's length. Within a stream, records lie at increasing (slab, offset):
// that position says whether a record was printed before; its number in the stream continues
// from the last one printed. It ends when the log is closed cleanly, when the writer is gone
// without closing it, or on Ctrl-C.
#include <CLI/CLI.hpp>
#include <time.h>

#include <algorithm>
#include <compare>
#include <optional>
#include <unordered_map>

#include "commands.h"
#include "copper_cli.h"
#include "json_out.h"
#include "output.h"
#include "problems.h"
#include "record_json.h"
#include "stop_signal.h"
#include "time_format.h"

namespace slablog::cli {
namespace {

constexpr const char* kFollowCmd = "follow";

struct FollowOptions {
  std::string log;
  bool from_start = false;
  std::vector<std::string> streams;
  int64_t interval_ms = 100;
  std::string copperlist_type;
  std::string time_format;
};

// A record's place in the log; a stream's records lie at increasing places.
struct Place {
  uint32_t slab = 0;
  uint64_t section = 0;  // first, as records of a compressed section have offsets past its end
  uint64_t offset = 0;
  auto operator<=>(const Place&) const = default;
};

// Where one stream stands: its last record printed (or passed over at the start), its number in
// the stream, and the section it is in; the stream's closed sections before that one are skipped.
struct StreamMark {
  bool any = false;  // a record was printed or passed over
  Place last;
  uint64_t index = 0;
  uint64_t section_seq = 0;
  // This poll: what to add to the reader's record numbers (which count from the first section
  // the poll read), once known.
  std::optional<int64_t> delta;
};

void SleepMs(int64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);  // a signal cuts it short; the caller checks StopRequested
}

class Follower {
 public:
  Follower(const FollowOptions& opt, TimeFormat time_format)
      : opt_(opt), time_format_(time_format), problems_(kFollowCmd) {
    problems_.OncePerPlace();  // each poll reads the open sections again
  }

  // One pass over the log. `print` false: only marks what is there as seen.
  ExitCode Poll(bool print, bool* ended, uint64_t* printed) {
    ReaderOptions options;
    options.threads = 1;  // a poll reads little: a helper thread would cost more than it saves
    options.background_prefault = false;
    options.first_slab = start_slab_;
    // On a live log the reader reports no record the writer is still writing as damage.
    auto opened = Reader::Open(opt_.log, options, &problems_);
    if (!opened) return Fail(kFollowCmd, opened.error());
    Reader& reader = *opened.value();
    for (auto& [id, mark] : marks_) mark.delta.reset();
    // Where the next poll starts: no section before the oldest one open now can change.
    std::optional<uint32_t> oldest_open;
    bool passed_unnamed = false;  // sections of streams not yet named were passed over
    uint32_t last_slab = start_slab_;
    Item item;
    while (reader.Next(&item)) {
      if (item.slab != nullptr) last_slab = std::max(last_slab, item.slab->header.slab_index);
      if (item.kind == ItemKind::kSection) {
        const SectionInfo& s = *item.section;
        if (s.open.stream_id == kCatalogStream) continue;
        auto it = marks_.find(s.open.stream_id);
        const bool wanted = Wanted(reader, s.open.stream_id);
        // On a live log, a stream not yet named when its section is met (the writer added the
        // catalog entry after this poll read the catalog) is passed over, open or closed, and
        // the next poll, which starts no later, reads it with its name (printed now, it would be
        // "#3" and its records base64). A log no writer has any more keeps such a stream unnamed
        // for good (its entry lost): it is printed as export prints it.
        const bool unnamed = reader.stream(s.open.stream_id) == nullptr && reader.summary().writer_active;
        if ((wanted && !s.close) || unnamed) {
          oldest_open = std::min(oldest_open.value_or(s.slab->header.slab_index), s.slab->header.slab_index);
        }
        // A closed section before the one the last printed record ended in has nothing new.
        passed_unnamed = passed_unnamed || unnamed;
        if (!wanted || unnamed ||
            (s.close && it != marks_.end() && it->second.any && s.open.seq < it->second.section_seq)) {
          reader.SkipSection();
        }
        continue;
      }
      if (item.kind != ItemKind::kRecord) continue;
      RecordView r = item.record;
      StreamMark& mark = marks_[r.stream_id];
      const Place place{r.slab->header.slab_index, r.fragments == 1 ? item.section->offset : r.section_offset, r.offset};
      if (mark.any && place <= mark.last) {
        if (place == mark.last) mark.delta = static_cast<int64_t>(mark.index) - static_cast<int64_t>(r.index);
        continue;
      }
      // The first new record of the poll: the one after the last printed, unless the poll read
      // that one too (then the delta is already known).
      if (!mark.delta) mark.delta = mark.any ? static_cast<int64_t>(mark.index + 1) - static_cast<int64_t>(r.index) : 0;
      r.index = static_cast<uint64_t>(static_cast<int64_t>(r.index) + *mark.delta);
      mark.any = true;
      mark.last = place;
      mark.index = r.index;
      mark.section_seq = item.section->open.seq;
      if (!print) continue;
      AppendRecordJson(&out_.text(), labels_.Get(reader, r.stream_id), r, time_format_);
      out_.text().push_back('\n');
      ++*printed;
      if (!out_.MaybeFlush()) break;
    }
    out_.Flush();
    const LogSummary& summary = reader.summary();
    // And no later than where a record still being written began (its FIRST may be in a section
    // closed since, in an older slab).
    start_slab_ = std::min({oldest_open.value_or(last_slab), last_slab,
                            summary.unfinished_from_slab.value_or(last_slab)});
    if (out_.closed()) {
      *ended = true;
      return ExitCode::kOk;
    }
    if (out_.failed()) {
      Complain(kFollowCmd, "cannot write to standard output");
      return ExitCode::kIo;
    }
    // The sections passed over are read by one more poll, whatever this one found at the end.
    if (passed_unnamed) return ExitCode::kOk;
    if (summary.clean) {
      *ended = true;
      return problems_.damage() > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
    }
    if (!summary.writer_active) {
      *ended = true;
      Complain(kFollowCmd, "{}: no writer has the log open and it was not closed cleanly (the writer died?); "
                     "'slablog truncate' repairs it", opt_.log);
      return ExitCode::kDataProblem;
    }
    return ExitCode::kOk;
  }

 private:
  bool Wanted(const Reader& reader, uint32_t id) {
    auto it = wanted_.find(id);
    if (it != wanted_.end()) return it->second;
    const CatalogEntry* e = reader.stream(id);
    if (e == nullptr) return opt_.streams.empty();  // not named yet: decided once it is
    return wanted_.emplace(id, MatchesAnyGlob(opt_.streams, e->name)).first->second;
  }

  const FollowOptions& opt_;
  const TimeFormat time_format_;
  ProblemLog problems_;
  StdoutBuffer out_;
  JsonStreamLabels labels_;
  std::unordered_map<uint32_t, StreamMark> marks_;
  uint32_t start_slab_ = 0;  // the first slab the next poll reads
  std::unordered_map<uint32_t, bool> wanted_;
};

ExitCode RunFollow(const FollowOptions& opt) {
  if (opt.interval_ms < 1 || opt.interval_ms > 60000) {
    Complain(kFollowCmd, "--interval takes 1 to 60000 milliseconds");
    return ExitCode::kUsage;
  }
  TimeFormat time_format = TimeFormat::kNs;
  if (!ParseTimeFormatOption(kFollowCmd, opt.time_format, &time_format)) return ExitCode::kUsage;
  if (IsCopperLog(opt.log)) {
    std::optional<copper::CopperType> type;
    if (!ParseCopperTypeOption(kFollowCmd, opt.copperlist_type, &type)) return ExitCode::kUsage;
    return CopperFollow(opt.log, opt.from_start, opt.streams, opt.interval_ms, type ? &*type : nullptr, time_format);
  }
  CatchStopSignals();
  Follower follower(opt, time_format);
  bool ended = false;
  uint64_t printed = 0;
  ExitCode rc = follower.Poll(opt.from_start, &ended, &printed);
  // Soon after records came, poll again soon; when the log is quiet, back off to --interval.
  constexpr int64_t kSoon = 2;  // ms; a look at a log costs ~0.1 ms, ~3 ms at 300 MB live
  const int64_t soon = std::min<int64_t>(kSoon, opt.interval_ms);
  int64_t wait = soon;
  while (rc == ExitCode::kOk && !ended && !StopRequested().load()) {
    SleepMs(wait);
    if (StopRequested().load()) break;
    const uint64_t before = printed;
    rc = follower.Poll(true, &ended, &printed);
    wait = printed != before ? soon : std::min(wait * 2, opt.interval_ms);
  }
  return rc;
}

}  // namespace

void RegisterFollow(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<FollowOptions>();
  CLI::App* sub = app.add_subcommand("follow", "Print records as NDJSON while a writer appends them (like tail -f)");
  sub->add_option("log", opt->log, "Log base name or one of its slab files")->required();
  sub->add_flag("--from-start", opt->from_start, "Print the records already in the log first");
  sub->add_option("-s,--stream", opt->streams, "Only streams whose name matches this shell glob (repeatable)");
  sub->add_option("--interval", opt->interval_ms, "Longest wait between two looks at a quiet log, in milliseconds")
      ->capture_default_str();
  AddCopperTypeOption(sub, &opt->copperlist_type);
  AddTimeFormatOption(sub, &opt->time_format);
  sub->final_callback([opt, rc] { *rc = RunFollow(*opt); });
}

}  // namespace slablog::cli
