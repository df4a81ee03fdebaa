// Truncate: plan from one pass over the section headers plus the frames of each stream's last
// sections, then apply with pwrite in an order that leaves a readable log after every step, with
// fdatasync between the steps whose order must survive a power cut.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "frame_scanner.h"
#include "io_faults.h"
#include "log_files.h"
#include "slablog/log_lock.h"
#include "mapped_file.h"
#include "slab_walker.h"
#include "slablog/reader.h"
#include "slablog/recovery.h"

namespace slablog {
namespace {

struct Section {
  size_t file = 0;
  uint64_t offset = 0;  // file offset of the header
  SectionInfo info;     // slab pointer not kept
  std::span<const uint8_t> bytes;
  LogId key{};          // its slab's SectionKey
};

// What becomes of one section.
struct SectionFix {
  Section section;
  SectionClose close;       // the close block to write
  uint64_t cut_from = 0;    // file offsets of bytes to zero (cut_from == cut_to: none)
  uint64_t cut_to = 0;
  bool was_open = false;
};

class Collect : public Reporter {
 public:
  explicit Collect(Reporter* next) : next_(next) {}
  void OnCorruption(const Corruption& c) override {
    events.push_back(c);
    if (next_ != nullptr) next_->OnCorruption(c);
  }
  std::vector<Corruption> events;

 private:
  Reporter* next_;
};

// The end of the last non-zero byte in [from, to) of `bytes` (from, if all zero); `to` is a size
// read from a header, so only the bytes present are looked at.
uint64_t WrittenEnd(std::span<const uint8_t> bytes, uint64_t from, uint64_t to) {
  to = std::min<uint64_t>(to, bytes.size());
  while (to > from && bytes[to - 1] == 0) --to;
  return to;
}

class Planner {
 public:
  Planner(const std::vector<MappedFile>& files, Reporter* reporter)
      : files_(files), collect_(reporter), sink_(&collect_) {}

  Status Walk(std::optional<uint32_t> first_index);
  Status PlanStream(const std::vector<Section>& tail);
  Status PlanStray(const Section& s);
  // Truncate repairs only what a crash leaves at the end of each stream. Whether the log holds
  // anything else (damage, or a hole: a gap in a stream's sections, a fragment chain broken, an
  // open section its stream goes on from, a stream the catalog lost) is the reader's call, as it is
  // verify's: one pass at verify's speed, and any problem but a torn tail stops truncate (G3).
  Status RefuseDamage(std::string_view path) const;
  static constexpr const char* kRecoverHint =
      "; this is damage in the middle of the log, which truncate does not cut (it would drop valid "
      "data after it): slablog recover salvages every intact record";
  std::vector<SectionFix> fixes;
  std::vector<TruncateCut> cuts;
  std::map<uint32_t, std::vector<Section>> tails;  // per stream: from its last record end on
  std::map<uint32_t, std::vector<Section>> earlier_tails;  // the tail before that
  std::map<uint32_t, std::string> names;
  std::vector<Section> stray_open;  // open sections that are not at the end of their stream
  std::string abandoned_file;       // an empty or all-zero last slab file, to remove
  std::optional<Section> overrun;   // the first section that claims more bytes than its file has
  // The last slab has kSlabFlagCompressed: a compressed log's (slablog compress), written whole;
  // where it begins in its file.
  std::optional<std::pair<size_t, uint64_t>> compressed_last_slab;
  LogSummary summary;
  size_t last_file = 0;
  uint64_t last_slab_start = 0, last_slab_capacity = 0, last_section_end = 0;
  LogId last_slab_key{};  // the last slab's SectionKey: its end marker's

  Error Refuse(const Corruption& c) const {
    return Error{c.kind == CorruptionKind::kIoError ? Errc::kIo : Errc::kCorruption, c.file, c.offset,
                 std::string(CorruptionKindName(c.kind)) + ": " + c.detail + kRecoverHint};
  }

 private:
  const std::vector<MappedFile>& files_;
  Collect collect_;
  CorruptionSink sink_;
};

Status Planner::Walk(std::optional<uint32_t> first_index) {
  SlabWalker walker(&files_, first_index, &sink_);
  walker.set_release([](const uint8_t*, const uint8_t*) {});
  FrameScanner catalog_scanner(&sink_, {});
  size_t file_index = 0;
  for (;;) {
    const SlabWalker::Event e = walker.Next();
    if (e == SlabWalker::Event::kDone) break;
    while (files_[file_index].path() != walker.file()) ++file_index;
    if (e == SlabWalker::Event::kSlab) {
      last_file = file_index;
      last_slab_start = walker.slab().file_offset;
      last_slab_capacity = walker.slab().header.capacity;
      last_slab_key = SectionKey(walker.slab().header.log_id, walker.slab().header);
      last_section_end = walker.slab().file_offset + walker.slab().header.page_size;
      compressed_last_slab.reset();
      if ((walker.slab().header.flags & kSlabFlagCompressed) != 0) {
        compressed_last_slab.emplace(file_index, walker.slab().file_offset);
      }
      continue;
    }
    const SectionInfo& s = walker.section();
    Section sec{file_index, s.offset, s, walker.section_bytes(), SectionKey(s.slab->header.log_id, s.slab->header)};
    sec.info.slab = nullptr;
    last_section_end = std::max(last_section_end, s.offset + s.open.size);
    if (!overrun && walker.section_bytes().size() < s.open.size) overrun = sec;
    std::vector<Section>& tail = tails[s.open.stream_id];
    std::vector<Section>& before = earlier_tails[s.open.stream_id];
    if (s.close && s.close->record_count > 0) {
      // Open sections before it (a close block torn by a crash) are closed as they are.
      for (const Section& earlier : before) {
        if (!earlier.info.close) stray_open.push_back(earlier);
      }
      // The tail before is kept too: if this section's frames turn out to be cut off (the file
      // ends in them), the record in progress began there.
      before = std::move(tail);
      tail.clear();
    }
    tail.push_back(sec);
    if (s.open.stream_id == kCatalogStream) {
      // Stream names, for the report.
      catalog_scanner.Start(walker.file(), s, walker.section_bytes(),
                            SectionSeed(walker.section_key(), s.open.stream_id, s.open.seq));
      FrameView f;
      while (catalog_scanner.Next(&f)) {
        if (auto entry = DecodeCatalogEntry(f.payload)) names[entry->stream_id] = entry->name;
      }
    }
  }
  summary = walker.summary();
  if (!summary.log_id) return Error{Errc::kCorruption, files_.front().path(), 0, "no readable slab"};
  // A last slab file the writer was creating (empty, or zeros) holds nothing: it is removed. The
  // walk's other findings are the reader's too, and RefuseDamage decides on them.
  for (const Corruption& c : collect_.events) {
    if (c.kind == CorruptionKind::kTornTail && c.offset == 0 && c.file == files_.back().path() &&
        c.file != files_[last_file].path()) {
      abandoned_file = c.file;
    }
  }
  collect_.events.clear();
  // A file that ends inside a section (cut short, or a size or capacity that lies): the end marker
  // would have to go past the end of the file, and what the missing bytes held is anyone's guess.
  if (overrun) {
    return Error{Errc::kCorruption, files_[overrun->file].path(), overrun->offset,
                 "section claims " + std::to_string(overrun->info.open.size) + " bytes but the file ends after " +
                     std::to_string(overrun->bytes.size()) + " of them; truncate does not grow a file to "
                     "put the end marker after it: slablog recover salvages every intact record"};
  }
  return Status();
}

Status Planner::PlanStream(const std::vector<Section>& tail) {
  // Read the frames of every section in the tail; note where the last record ends.
  struct Read {
    std::vector<FrameView> frames;
    uint64_t good_end = 0;     // file offset after the last intact frame
    uint64_t claimed_end = 0;  // after a torn frame the scanner found past it, or good_end
    uint64_t written_end = 0;  // file offset after the last non-zero byte of its frame area
  };
  std::vector<Read> reads(tail.size());
  size_t keep_section = 0;
  uint64_t keep_offset = tail.front().offset + kSectionHeaderSize;
  size_t keep_frames = 0;
  for (size_t i = 0; i < tail.size(); ++i) {
    const Section& s = tail[i];
    const size_t before = collect_.events.size();
    FrameScanner scanner(&sink_, {});
    scanner.Start(files_[s.file].path(), s.info, s.bytes, SectionSeed(s.key, s.info.open.stream_id, s.info.open.seq));
    Read& r = reads[i];
    r.good_end = s.offset + kSectionHeaderSize;
    FrameView f;
    while (scanner.Next(&f)) {
      r.frames.push_back(f);
      r.good_end = f.offset + kFrameHeaderSize + f.header.length;
      if (f.header.kind == FragmentKind::kFull || f.header.kind == FragmentKind::kLast) {
        keep_section = i;
        keep_offset = r.good_end;
        keep_frames = r.frames.size();
      }
    }
    const uint64_t area_end = s.info.close ? s.offset + kSectionHeaderSize + s.info.close->filled
                                           : s.offset + s.bytes.size();
    r.written_end = s.offset + WrittenEnd(s.bytes, kSectionHeaderSize, area_end - s.offset);
    r.claimed_end = r.good_end;
    for (size_t e = before; e < collect_.events.size(); ++e) {
      // A torn frame is the crash's; it may only be at the very end of the stream.
      const Corruption& c = collect_.events[e];
      if (c.kind != CorruptionKind::kTornTail || i + 1 != tail.size()) return Refuse(c);
      r.claimed_end = std::max(r.claimed_end, c.offset + c.bytes_dropped);
    }
  }
  const uint32_t stream = tail.front().info.open.stream_id;
  auto named = names.find(stream);
  const std::string name = stream == kCatalogStream ? "catalog" : named != names.end() ? named->second : "";
  for (size_t i = 0; i < tail.size(); ++i) {
    const Section& s = tail[i];
    const Read& r = reads[i];
    // Frames kept in this section: all before the keep section, none after it.
    const size_t kept = i < keep_section ? r.frames.size() : i == keep_section ? keep_frames : 0;
    const uint64_t kept_end = i < keep_section ? r.good_end
                              : i == keep_section ? keep_offset
                                                  : s.offset + kSectionHeaderSize;
    SectionClose close;
    close.filled = kept_end - s.offset - kSectionHeaderSize;
    for (size_t k = 0; k < kept; ++k) {
      const FrameView& f = r.frames[k];
      if (k == 0) close.first_t = f.header.timestamp;
      close.last_t = f.header.timestamp;
      ++close.frame_count;
      close.payload_bytes += f.header.length;
      if (f.header.kind == FragmentKind::kFull || f.header.kind == FragmentKind::kLast) ++close.record_count;
    }
    const bool unchanged = s.info.close && s.info.close->filled == close.filled;
    if (unchanged) continue;
    SectionFix fix{s, close, kept_end, std::max(kept_end, r.written_end), !s.info.close.has_value()};
    // What frames (whole or torn) held, and then bytes no frame header claims, which are zeroed
    // too but are not a record cut short: in a reused slab file, often the retired log's.
    const uint64_t in_frames = std::clamp(r.claimed_end, fix.cut_from, fix.cut_to);
    const std::string& path = files_[s.file].path();
    if (in_frames > fix.cut_from) {
      cuts.push_back({path, fix.cut_from, in_frames - fix.cut_from, stream, name,
                      i > keep_section || (i == keep_section && r.frames.size() > keep_frames)
                          ? "record whose LAST fragment never came"
                          : "frame torn by the crash"});
    }
    if (fix.cut_to > in_frames) {
      cuts.push_back({path, in_frames, fix.cut_to - in_frames, stream, name,
                      "bytes past the last frame that no frame header claims (a payload stored "
                      "before its header, or a reused slab file's old bytes)"});
    }
    fixes.push_back(fix);
  }
  return Status();
}

Status Planner::PlanStray(const Section& s) {
  // Its last fragment may continue in the stream's next section: every intact frame stays.
  const size_t before = collect_.events.size();
  FrameScanner scanner(&sink_, {});
  scanner.Start(files_[s.file].path(), s.info, s.bytes,
                SectionSeed(s.key, s.info.open.stream_id, s.info.open.seq));
  SectionClose close;
  uint64_t end = s.offset + kSectionHeaderSize;
  FrameView f;
  while (scanner.Next(&f)) {
    if (close.frame_count++ == 0) close.first_t = f.header.timestamp;
    close.last_t = f.header.timestamp;
    close.payload_bytes += f.header.length;
    if (f.header.kind == FragmentKind::kFull || f.header.kind == FragmentKind::kLast) ++close.record_count;
    end = f.offset + kFrameHeaderSize + f.header.length;
  }
  if (collect_.events.size() != before) return Refuse(collect_.events[before]);
  close.filled = end - s.offset - kSectionHeaderSize;
  fixes.push_back(SectionFix{s, close, end, end, true});
  return Status();
}

Status Planner::RefuseDamage(std::string_view path) const {
  ReaderOptions ro;
  ro.records = false;
  Collect found(nullptr);
  auto reader = Reader::Open(path, ro, &found);
  if (!reader) return reader.error();
  Item item;
  while (reader.value()->Next(&item)) {
  }
  for (const Corruption& c : found.events) {
    // An end marker this command was writing when it was stopped is written again.
    const bool partial_marker = c.kind == CorruptionKind::kBadSection && !summary.clean &&
                                c.file == files_[last_file].path() && c.offset == last_section_end;
    if (c.kind != CorruptionKind::kTornTail && !partial_marker) return Refuse(c);
  }
  return Status();
}

class FileSet {
 public:
  explicit FileSet(uint64_t write_limit) : write_limit_(write_limit) {}
  ~FileSet() {
    for (auto& [path, fd] : fds_) ::close(fd);
  }
  Result<int> Get(const std::string& path) {
    auto it = fds_.find(path);
    if (it != fds_.end()) return it->second;
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return IoError(path, "cannot open for repair", errno);
    fds_[path] = fd;
    return fd;
  }
  // Counts one change to the log, and stops here if the crash test says so.
  Status Step(const std::string& path) {
    if (write_limit_ != 0 && writes_++ >= write_limit_) {
      return Error{Errc::kIo, path, 0, "stopped after " + std::to_string(write_limit_) + " writes (crash test)"};
    }
    return Status();
  }
  Status Write(const std::string& path, uint64_t offset, const void* data, size_t n) {
    if (Status s = Step(path); !s) return s;
    auto fd = Get(path);
    if (!fd) return fd.error();
    if (pwrite(fd.value(), data, n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n)) {
      return IoError(path, "cannot write " + std::to_string(n) + " bytes at offset " + std::to_string(offset), errno);
    }
    return Status();
  }
  Status Sync(const std::string& path) {
    auto fd = Get(path);
    if (!fd) return fd.error();
    const auto sync = [&] { return fdatasync(fd.value()); };
    if (io_faults::Checked(io_faults::Op::kFdatasync, path, sync) != 0) {
      return IoError(path, "cannot sync", errno);
    }
    return Status();
  }
  Status SyncAll() {
    for (auto& [path, fd] : fds_) {
      if (Status s = Sync(path); !s) return s;
    }
    return Status();
  }

 private:
  std::map<std::string, int> fds_;
  uint64_t write_limit_;
  uint64_t writes_ = 0;
};

Status ZeroRange(FileSet& files, const std::string& path, uint64_t from, uint64_t to) {
  static const std::vector<uint8_t> kZeros(1 << 16, 0);
  while (from < to) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(to - from, kZeros.size()));
    if (Status s = files.Write(path, from, kZeros.data(), n); !s) return s;
    from += n;
  }
  return Status();
}

// An open section's close block goes in with its CRC last, as the writer does it: torn, it reads
// as absent and the section as open, as it was. A closed section's is replaced in one write (one
// sector): torn between two, it would read as open, and an open section its stream goes on from
// is a hole.
Status WriteClose(FileSet& files, const std::string& path, const SectionFix& fix) {
  const LogId& id = fix.section.key;
  uint8_t header[kSectionHeaderSize];
  std::memcpy(header, fix.section.bytes.data(), 32);
  std::memset(header + 32, 0, kSectionHeaderSize - 32);
  EncodeSectionClose(id, fix.close, std::span<uint8_t, kSectionHeaderSize>(header));
  const uint64_t at = fix.section.offset;
  if (!fix.was_open) return files.Write(path, at + 32, header + 32, kSectionHeaderSize - 32);
  if (Status s = files.Write(path, at + 36, header + 36, kSectionHeaderSize - 36); !s) return s;
  return files.Write(path, at + 32, header + 32, 4);
}

Status SaveCuts(const std::string& save_path, const std::vector<TruncateCut>& cuts,
                const std::vector<MappedFile>& files) {
  const int fd = ::open(save_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(save_path, "cannot open to save the cut bytes", errno);
  Status result;
  for (const TruncateCut& c : cuts) {
    const MappedFile* f = nullptr;
    for (const auto& m : files) {
      if (m.path() == c.file) f = &m;
    }
    if (f == nullptr) continue;
    const std::string head = "slablog-cut file=" + c.file + " offset=" + std::to_string(c.offset) +
                             " length=" + std::to_string(c.bytes) + " stream=" + c.stream_name + "\n";
    const auto bytes = f->bytes().subspan(c.offset, c.bytes);
    if (::write(fd, head.data(), head.size()) != static_cast<ssize_t>(head.size()) ||
        ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
        ::write(fd, "\n", 1) != 1) {
      result = IoError(save_path, "cannot save the cut bytes", errno);
      break;
    }
  }
  if (fsync(fd) != 0 && result.ok()) result = IoError(save_path, "cannot sync", errno);
  ::close(fd);
  return result;
}

}  // namespace

Result<TruncateResult> Truncate(std::string_view path, const TruncateOptions& options,
                                Reporter* reporter) {
  // Listed first only to learn the log's name (the lock is named after it).
  auto log_files = ResolveLogFiles(path, false);
  if (!log_files) return log_files.error();
  // Held for the whole repair: no writer (a new one, or an append) starts on the log meanwhile.
  // Not for a dry run, which changes nothing and may look at a log in a read-only directory.
  LogLock lock;
  if (!options.dry_run) {
    auto taken = LogLock::Acquire(log_files->base.empty() ? std::string(path) : log_files->base,
                                  "a writer (or another truncate)");
    if (!taken) {
      Error e = taken.error();
      if (e.code == Errc::kInvalidArgument) e.message += "; truncate repairs only a log whose writer has stopped";
      return e;
    }
    lock = std::move(taken.value());
    // Listed again now that no writer can add to the log: a writer that appended between the
    // first listing and the lock may have made slabs that listing did not see.
    log_files = ResolveLogFiles(path, false);
    if (!log_files) return log_files.error();
  }
  for (const std::string& f : log_files->paths) {
    if (WriterActive(f)) {
      return Error{Errc::kInvalidArgument, f, 0, "a writer has this log open; truncate repairs only a log whose writer has stopped"};
    }
  }
  std::vector<MappedFile> files;
  for (const std::string& p : log_files->paths) {
    auto m = MappedFile::Open(p);
    if (!m) return m.error();
    files.push_back(std::move(m.value()));
  }
  if (!HasSlabMagic(files.front().bytes())) {
    return Error{Errc::kCorruption, files.front().path(), 0, "not a slablog log (no slab header at offset 0)"};
  }
  if (auto unsupported = UnsupportedSlab(files.front().bytes())) {
    return Error{Errc::kUnsupported, files.front().path(), 0, *unsupported};
  }
  Planner plan(files, reporter);
  if (Status s = plan.Walk(log_files->first_index); !s) return s.error();
  // Compressed slabs are written whole (slablog compress): a log that ends in one and is closed
  // cleanly needs nothing, and one that is not was cut or damaged since, which is not a crash's
  // torn tail to cut. (Damage in compressed slabs before the last is refused below: the readers
  // report no torn tail in them.) The slabs a writer added since (write --append) are its own.
  if (plan.compressed_last_slab) {
    if (plan.summary.clean) {
      if (Status s = plan.RefuseDamage(path); !s) return s.error();
      return TruncateResult{};
    }
    return Error{Errc::kCorruption, files[plan.compressed_last_slab->first].path(), plan.compressed_last_slab->second,
                 "a compressed log without its end marker was cut or damaged after it was written (compress "
                 "writes logs whole); truncate does not repair it: slablog recover salvages every intact record"};
  }
  if (Status s = plan.RefuseDamage(path); !s) return s.error();
  for (const auto& [stream, tail] : plan.tails) {
    std::vector<Section> sections = plan.earlier_tails[stream];
    sections.insert(sections.end(), tail.begin(), tail.end());
    if (Status s = plan.PlanStream(sections); !s) return s.error();
  }
  for (const auto& section : plan.stray_open) {
    if (Status s = plan.PlanStray(section); !s) return s.error();
  }
  TruncateResult result;
  result.cuts = plan.cuts;
  const std::string& last_path = files[plan.last_file].path();
  const uint64_t marker = plan.last_section_end;
  const bool needs_marker = !plan.summary.clean;
  const uint64_t want_size = (needs_marker ? marker : plan.summary.end_marker_offset) + kSectionHeaderSize;
  const uint64_t have_size = files[plan.last_file].bytes().size();
  // Written without a sum that a crafted capacity could wrap around.
  if (needs_marker && (marker - plan.last_slab_start > plan.last_slab_capacity ||
                       plan.last_slab_capacity - (marker - plan.last_slab_start) < kSectionHeaderSize)) {
    return Error{Errc::kCorruption, last_path, marker, "no room for the end marker in the last slab"};
  }
  // Truncate writes only inside the bytes a file has, so that it never makes up what a damaged
  // header claims (and never grows a file).
  if (want_size > have_size) {
    return Error{Errc::kCorruption, last_path, marker,
                 "the end marker would end at " + std::to_string(want_size) + ", past the end of the file (" +
                     std::to_string(have_size) + " bytes); truncate does not grow a file: slablog recover "
                     "salvages every intact record"};
  }
  // Past the end marker's place, a reused last slab still holds the retired log's bytes (a new
  // one, zeros): up to the last of them, they are zeroed.
  const uint64_t stale_end = WrittenEnd(files[plan.last_file].bytes(), want_size, have_size);
  // A file cut short under the map, or a page the disk could not read, read as zeros: a plan made
  // from them is not carried out.
  for (const MappedFile& f : files) {
    if (const auto at = f.fault_offset()) return Error{Errc::kIo, f.path(), *at, ReadFaultDetail(*at)};
  }
  for (const SectionFix& f : plan.fixes) (f.was_open ? result.sections_closed : result.sections_shrunk)++;
  result.trimmed_bytes = have_size > want_size ? have_size - want_size : 0;
  if (needs_marker) {
    result.end_marker_file = last_path;
    result.end_marker_offset = marker;
  }
  result.removed_file = plan.abandoned_file;
  result.changed = !plan.fixes.empty() || needs_marker || result.trimmed_bytes > 0 ||
                   !result.removed_file.empty();
  if (options.dry_run || !result.changed) return result;

  if (!options.save_cut.empty()) {
    if (Status s = SaveCuts(options.save_cut, plan.cuts, files); !s) return s.error();
  }
  const LogId& id = plan.last_slab_key;  // the end marker's slab
  FileSet out(options.stop_after_writes);
  // Bytes after an end marker that are not zeros read as damage, which a second run would refuse:
  // the retired log's are zeroed, and on disk, before the marker is written. The trim below cuts
  // them off, unless a reader has the slab mapped; then they stay, as zeros, as the writer leaves
  // them at close.
  if (stale_end > want_size) {
    if (Status s = ZeroRange(out, last_path, want_size, stale_end); !s) return s.error();
    if (Status s = out.SyncAll(); !s) return s.error();
  }
  // The end marker goes before any section is changed. Stopped after it, the log reads as closed with sections still open,
  // which a second run finishes; stopped before it, every section closed and no end marker would
  // look like a log whose later slabs are missing.
  if (needs_marker) {
    uint8_t header[kSectionHeaderSize] = {};
    EncodeSectionOpen(id, SectionOpen{kEndStream, uint64_t{plan.summary.last_slab_index} + 1, kSectionHeaderSize},
                      std::span<uint8_t, 32>(header, 32));
    EncodeSectionClose(id, SectionClose{}, std::span<uint8_t, kSectionHeaderSize>(header));
    if (Status s = out.Write(last_path, marker + 4, header + 4, kSectionHeaderSize - 4); !s) return s.error();
    if (Status s = out.Write(last_path, marker, header, 4); !s) return s.error();
    if (Status s = out.SyncAll(); !s) return s.error();
  }
  // Each step leaves a log a reader accepts, also after a power cut (which keeps any subset of the
  // sectors written since the last sync). A closed section's smaller close block is on disk before
  // the bytes it no longer claims are zeroed: zeros under the old one would be damage. An open
  // section is zeroed past what it keeps, then closed (a close block that lands without the
  // zeros makes readers ignore what they did not clear). A stream's later sections are fixed, and
  // on disk, before its earlier ones: the MIDDLE of a record whose FIRST was already cut would
  // be a fragment without its record.
  for (auto it = plan.fixes.rbegin(); it != plan.fixes.rend(); ++it) {
    const SectionFix& f = *it;
    const std::string& p = files[f.section.file].path();
    if (f.was_open) {
      if (Status s = ZeroRange(out, p, f.cut_from, f.cut_to); !s) return s.error();
      if (Status s = WriteClose(out, p, f); !s) return s.error();
    } else {
      if (Status s = WriteClose(out, p, f); !s) return s.error();
      if (Status s = out.Sync(p); !s) return s.error();
      if (Status s = ZeroRange(out, p, f.cut_from, f.cut_to); !s) return s.error();
    }
    if (Status s = out.Sync(p); !s) return s.error();
  }
  if (Status s = out.SyncAll(); !s) return s.error();
  if (result.trimmed_bytes > 0 || needs_marker) {
    if (Status s = out.Step(last_path); !s) return s.error();
    auto fd = out.Get(last_path);
    if (!fd) return fd.error();
    if (!LockForTrim(fd.value(), true, false)) {
      // A reader has the slab mapped; shortening it now would crash that reader. The log is
      // repaired all the same (zeros after the end marker read as nothing); a later run trims it.
      result.trim_deferred = true;
    } else if (ftruncate(fd.value(), static_cast<off_t>(want_size)) != 0) {
      return IoError(last_path, "cannot trim to " + std::to_string(want_size) + " bytes", errno);
    }
  }
  if (Status s = out.SyncAll(); !s) return s.error();
  if (!result.removed_file.empty()) {
    if (Status s = out.Step(result.removed_file); !s) return s.error();
    if (::unlink(result.removed_file.c_str()) != 0) return IoError(result.removed_file, "cannot remove", errno);
    // Harmless if lost (the file comes back, abandoned, for a later run to remove), but not
    // reported as done while it may not be.
    if (Status s = SyncDirectoryOf(result.removed_file); !s) return s.error();
  }
  return result;
}

}  // namespace slablog
