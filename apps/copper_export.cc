// slablog export and follow of a Copper log: entries as the NDJSON objects of AppendCopperItemJson,
// with the filters of slablog logs (streams by glob, --since/--until on entry times, --limit).
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "copper_cli.h"
#include "emitter.h"
#include "output.h"
#include "problems.h"
#include "record_json.h"
#include "stop_signal.h"

namespace slablog::cli {
namespace {

bool CopperStreamWanted(const std::vector<std::string>& globs, copper::EntryType t) {
  return MatchesAnyGlob(globs, copper::StreamName(t));
}

// The entry types of the streams --stream names (Copper ReadOptions::entry_types).
uint32_t WantedTypes(const std::vector<std::string>& globs) {
  uint32_t mask = 0;
  for (auto t : {copper::EntryType::kLogLine, copper::EntryType::kCopperList, copper::EntryType::kFrozenTasks}) {
    if (CopperStreamWanted(globs, t)) mask |= 1u << static_cast<unsigned>(t);
  }
  return mask;
}

// A section with --sections: its fields and what its entries add.
struct CopperSectionOut {
  copper::Section info;
  std::string file;
  uint32_t slab = 0;
  uint64_t entries = 0;
  std::optional<int64_t> first_t, last_t;
  std::string entries_json;  // with --records
};

void AppendCopperSection(std::string* s, const CopperSectionOut& sec, bool with_records, TimeFormat time_format) {
  const copper::Section& c = sec.info;
  s->append("{\"slab\":");
  AppendJsonString(s, sec.file);
  s->append(",\"slab_index\":");
  AppendInt(s, sec.slab);
  s->append(",\"offset\":");
  AppendInt(s, static_cast<int64_t>(c.offset));
  s->append(",\"stream\":\"").append(copper::StreamName(c.type)).append("\",\"entry_type\":\"");
  s->append(copper::EntryTypeName(c.type)).append("\",\"state\":\"");
  s->append(c.state == copper::SectionState::kOpen ? "open" : c.state == copper::SectionState::kUnused ? "unused" : "closed");
  s->append("\",\"size\":");
  AppendInt(s, static_cast<int64_t>(c.size));
  s->append(",\"used\":");
  AppendInt(s, static_cast<int64_t>(c.used));
  s->append(",\"data_offset\":");
  AppendInt(s, static_cast<int64_t>(c.data_offset));
  s->append(",\"data_bytes\":");
  AppendInt(s, static_cast<int64_t>(c.data.size()));
  s->append(",\"entries\":");
  if (c.split) AppendInt(s, static_cast<int64_t>(sec.entries)); else s->append("null");
  s->append(",\"first_index\":");
  if (c.split) AppendInt(s, static_cast<int64_t>(c.first_index)); else s->append("null");
  s->append(",\"first_t\":");
  if (sec.first_t) AppendTimeJson(s, *sec.first_t, time_format); else s->append("null");
  s->append(",\"last_t\":");
  if (sec.last_t) AppendTimeJson(s, *sec.last_t, time_format); else s->append("null");
  if (c.trailing_zeros_possible) s->append(",\"trailing_zeros_possible\":true");
  if (with_records) s->append(",\"records\":[").append(sec.entries_json).append("]");
  s->push_back('}');
}

// Whether some other process has one of `files` mapped: Copper's writer maps its slab files and
// takes no lock, so this is how follow tells a writer that died from one that is quiet. Read from
// /proc/PID/maps, matched by device and inode. Processes whose maps this user may not read
// (another user's, without privileges) are not seen (man slablog.1 says so).
bool SomeProcessMaps(const std::vector<std::string>& files) {
  std::set<std::pair<uint64_t, uint64_t>> inodes;  // (device, inode)
  for (const std::string& f : files) {
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) inodes.emplace(st.st_dev, st.st_ino);
  }
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return true;
  const std::string self = std::to_string(::getpid());
  bool found = false;
  while (dirent* d = ::readdir(proc)) {
    if (d->d_name[0] < '0' || d->d_name[0] > '9' || self == d->d_name) continue;
    std::FILE* maps = std::fopen((std::string("/proc/") + d->d_name + "/maps").c_str(), "r");
    if (maps == nullptr) continue;
    char line[4096];
    while (!found && std::fgets(line, sizeof(line), maps) != nullptr) {
      unsigned major = 0, minor = 0;
      unsigned long long inode = 0;
      if (std::sscanf(line, "%*s %*s %*s %x:%x %llu", &major, &minor, &inode) == 3 && inode != 0) {
        found = inodes.count({makedev(major, minor), inode}) > 0;
      }
    }
    std::fclose(maps);
    if (found) break;
  }
  ::closedir(proc);
  return found;
}

// A section's header as polls saw it. Follow trusts a header once polls have seen it unchanged
// for kSettled, and a closed one only if its used size keeps every entry printed while the
// section was open but the last (which the writer may have moved on with, unfinished).
struct SeenHeader {
  uint64_t used = 0, size = 0;
  bool open_flag = false;
  bool operator==(const SeenHeader&) const = default;
};
struct SectionTrack {
  SeenHeader header;
  std::chrono::steady_clock::time_point since;  // when polls first saw `header`
  uint64_t last_entry_at = 0;  // while open: where its last entry began, from its data's start
};
constexpr std::chrono::milliseconds kSettled{50};
using SectionKey = std::pair<std::string, uint64_t>;  // file, offset

// Holds a poll's problem reports until the poll ends, then passes on those not inside a section
// whose header was not yet confirmed (a header read while its writer rewrote it can claim a used
// size that makes a spurious bad entry).
class PollReports : public Reporter {
 public:
  explicit PollReports(Reporter* next) : next_(next) {}
  void OnCorruption(const Corruption& c) override { held_.push_back(c); }
  void Unconfirmed(const std::string& file, uint64_t from, uint64_t to) { spans_.push_back({file, from, to}); }
  void EndPoll() {
    for (const Corruption& c : held_) {
      const bool inside = std::any_of(spans_.begin(), spans_.end(), [&](const Span& s) {
        return s.file == c.file && c.offset >= s.from && c.offset < s.to;
      });
      if (!inside) next_->OnCorruption(c);
    }
    held_.clear();
    spans_.clear();
  }

 private:
  struct Span {
    std::string file;
    uint64_t from, to;
  };
  Reporter* next_;
  std::vector<Corruption> held_;
  std::vector<Span> spans_;
};

void SleepMillis(int64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);
}

}  // namespace

ExitCode CopperExport(const std::string& log, const CopperExportOptions& opt, const copper::CopperType* type) {
  const char* cmd = "export";
  ProblemLog problems(cmd);
  copper::ReadOptions ro;
  ro.json = true;
  ro.copperlist_type = type;
  ro.entry_types = WantedTypes(opt.streams);
  auto opened = copper::Reader::Open(log, ro, &problems);
  if (!opened) return Fail(cmd, opened.error());
  copper::Reader& reader = *opened.value();
  StdoutBuffer out;
  Emitter emit(&out, opt.array, opt.limit);
  std::optional<CopperSectionOut> pending;
  bool more = true;
  auto flush_section = [&] {
    if (pending && more) {
      AppendCopperSection(&emit.Begin(), *pending, opt.records, opt.time_format);
      more = emit.End();
    }
    pending.reset();
  };
  bool wanted = true;
  copper::Item item;
  while (more && reader.Next(&item)) {
    if (item.kind == copper::ItemKind::kSlab) continue;
    if (item.kind == copper::ItemKind::kSection) {
      if (opt.sections) flush_section();
      const copper::Section& s = *item.section;
      wanted = s.marker == copper::Marker::kNone && s.type != copper::EntryType::kEmpty &&
               CopperStreamWanted(opt.streams, s.type);
      if (wanted && opt.sections) pending = CopperSectionOut{s, s.slab->file, s.slab->index, 0, std::nullopt, std::nullopt, {}};
      continue;
    }
    if (!wanted) continue;
    const copper::Entry& e = item.entry;
    if (opt.time_filter && (!e.time || *e.time < opt.since || *e.time > opt.until)) continue;
    if (opt.sections) {
      if (!pending) continue;
      if (item.kind == copper::ItemKind::kEntry) ++pending->entries;
      if (e.time) {
        if (!pending->first_t) pending->first_t = e.time;
        pending->last_t = e.time;
      }
      if (opt.records) {
        if (!pending->entries_json.empty()) pending->entries_json.push_back(',');
        AppendCopperItemJson(&pending->entries_json, item, opt.time_format);
      }
      continue;
    }
    AppendCopperItemJson(&emit.Begin(), item, opt.time_format);
    more = emit.End();
  }
  if (opt.sections) flush_section();
  return FinishExport(cmd, &emit, out, problems);
}

// Each poll reads the log again (Copper's writer gives no sign of where it writes). Entries of a
// section still open are printed once another entry follows them in it, or the section or the
// log is closed, or its writer is gone: the last one may still be being written, and Copper has
// no checksum to tell.
// Sections not split are printed once closed. Within a stream, entries are printed in order,
// each once (by its number in the stream).
ExitCode CopperFollow(const std::string& log, bool from_start, const std::vector<std::string>& streams,
                      int64_t interval_ms, const copper::CopperType* type, TimeFormat time_format) {
  const char* cmd = "follow";
  ProblemLog problems(cmd);
  problems.OncePerPlace();
  StdoutBuffer out;
  uint64_t next_index[5] = {0, 0, 0, 0, 0};
  std::set<std::pair<uint32_t, uint64_t>> sections_printed;
  CatchStopSignals();
  bool print = from_start;
  int64_t wait = std::min<int64_t>(2, interval_ms);
  // Whether the log is read with nothing held back: it was found closed, or its writer gone.
  bool closed_pass = false;
  bool writer_gone = false;
  std::chrono::steady_clock::time_point last_writer_check{};
  // Copper's writer rewrites a section's header in place when it closes it (used, then is_open),
  // byte by byte: a poll in between reads a used size that is neither. So a header is held as an
  // open section's until it has settled (SectionTrack), and problems found in it are not told.
  std::map<SectionKey, SectionTrack> tracks;
  PollReports reports(&problems);
  // Whether log lines carry the level byte, once a poll has read some: later polls, which see
  // more of the log, keep that reading rather than decode what was printed otherwise.
  std::optional<bool> level;
  while (!StopRequested().load()) {
    // A log closed since the last poll is read with nothing held back (its end marker comes after
    // every entry): a walk of the headers alone says whether it is.
    if (!closed_pass) {
      copper::ReadOptions headers_only;
      headers_only.entries = false;
      headers_only.entry_types = 0;
      auto pre = copper::Reader::Open(log, headers_only, nullptr);
      if (pre) {
        copper::Item skipped;
        while (pre.value()->Next(&skipped)) {
        }
        closed_pass = pre.value()->summary().clean;
      }
    }
    copper::ReadOptions ro;
    ro.json = print;
    ro.copperlist_type = type;
    ro.entry_types = WantedTypes(streams);
    ro.log_line_level = level;
    auto opened = copper::Reader::Open(log, ro, &reports);
    if (!opened) return Fail(cmd, opened.error());
    copper::Reader& reader = *opened.value();
    uint64_t printed = 0;
    bool wanted = true;
    copper::Item item;
    bool final_seen = false;
    bool confirmed = true;  // the current section's header has settled
    SectionTrack* track = nullptr;
    // Streams with an entry held back this poll: their later entries wait too, so that each
    // stream's entries are printed in order and none is passed over for good.
    bool blocked[5] = {false, false, false, false, false};
    while (reader.Next(&item)) {
      if (item.kind == copper::ItemKind::kSlab) continue;
      if (item.kind == copper::ItemKind::kSection) {
        const copper::Section& s = *item.section;
        if (s.marker == copper::Marker::kFinal) final_seen = true;
        wanted = s.marker == copper::Marker::kNone && CopperStreamWanted(streams, s.type);
        const SeenHeader header{s.used, s.size, s.open_flag};
        const auto now = std::chrono::steady_clock::now();
        auto [it, fresh] = tracks.try_emplace(SectionKey{s.slab->file, s.offset}, SectionTrack{header, now, 0});
        track = &it->second;
        if (!fresh && !(track->header == header)) {
          track->header = header;
          track->since = now;
        }
        confirmed = !fresh && now - track->since >= kSettled &&
                    (s.state == copper::SectionState::kOpen || s.used >= track->last_entry_at);
        if (!confirmed && !closed_pass) reports.Unconfirmed(s.slab->file, s.offset, s.offset + s.size);
        continue;
      }
      if (!wanted) continue;
      const copper::Section& s = *item.section;
      const bool open = (s.state == copper::SectionState::kOpen || !confirmed) && !closed_pass;
      bool& stream_blocked = blocked[static_cast<int>(s.type)];
      if (item.kind == copper::ItemKind::kEntry) {
        if (s.state == copper::SectionState::kOpen && track != nullptr &&
            item.entry.index + 1 == s.first_index + s.entries) {
          track->last_entry_at = std::max(track->last_entry_at, item.entry.offset - s.data_offset);
        }
        uint64_t& next = next_index[static_cast<int>(s.type)];
        if (item.entry.index < next) continue;
        if (stream_blocked || (open && item.entry.index + 1 == s.first_index + s.entries)) {
          stream_blocked = true;  // may be half written, or after one that may be
          continue;
        }
        next = item.entry.index + 1;
      } else {
        if (sections_printed.count({s.slab->index, s.offset}) > 0) continue;
        if (stream_blocked || open) {
          stream_blocked = true;
          continue;
        }
        sections_printed.emplace(s.slab->index, s.offset);
      }
      if (!print) continue;
      AppendCopperItemJson(&out.text(), item, time_format);
      out.text().push_back('\n');
      ++printed;
      if (!out.MaybeFlush()) break;
    }
    out.Flush();
    reports.EndPoll();
    if (!level && reader.summary().log_line_level_decided) level = reader.summary().log_line_level;
    if (out.closed()) return out.failed() ? ExitCode::kIo : ExitCode::kOk;
    print = true;
    if (final_seen && !closed_pass) {
      closed_pass = true;  // closed between the two walks: once more, to print what was held back
      continue;
    }
    if (final_seen) return problems.damage() > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
    if (writer_gone) {
      Complain(cmd, "{}: no process has the log open and it was not closed cleanly (the writer died?); "
               "'slablog convert' salvages it", log);
      return ExitCode::kDataProblem;
    }
    // A quiet log, not closed: is anyone still writing it? (At most once a second.) If not, one
    // more pass prints what was held back, as export would.
    const auto now = std::chrono::steady_clock::now();
    if (printed == 0 && now - last_writer_check >= std::chrono::seconds(1)) {
      last_writer_check = now;
      if (!SomeProcessMaps(reader.files())) {
        writer_gone = closed_pass = true;
        continue;
      }
    }
    SleepMillis(wait);
    wait = printed > 0 ? std::min<int64_t>(2, interval_ms) : std::min(wait * 2, interval_ms);
  }
  return ExitCode::kOk;
}

}  // namespace slablog::cli
