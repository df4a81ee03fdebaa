// slablog write: records from standard input (or --input) appended to a log as they arrive.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "commands.h"
#include "output.h"
#include "log_sizes.h"
#include "record_input.h"
#include "stop_signal.h"
#include "slablog/format.h"
#include "slablog/log_lock.h"
#include "slablog/writer.h"

namespace slablog::cli {
namespace {

struct WriteOptions {
  std::string log;
  std::string input = "-";
  std::string format = "ndjson";
  std::string stream = "default";
  std::string stream_field;
  std::string time_field;
  std::string time_unit;
  uint32_t stream_type = 0;
  LogSizeOptions sizes;
  std::string sync = "close";
  std::string sync_every;        // a duration, or empty
  std::string sync_every_bytes;  // a size, or empty
  bool append = false;
  std::string recycle;
  std::string ring;  // a size, or empty
};

// Opens streams on first use; a record usually goes to the same stream as the one before.
class StreamTable {
 public:
  StreamTable(Writer* writer, Encoding encoding, uint32_t type)
      : writer_(writer), encoding_(encoding), type_(type) {}

  Result<StreamHandle> Get(std::string_view name) {
    if (last_.valid() && name == last_name_) return last_;
    auto it = handles_.find(std::string(name));
    if (it == handles_.end()) {
      auto h = writer_->OpenStream({std::string(name), encoding_, type_});
      if (!h) return h.error();
      it = handles_.emplace(std::string(name), h.value()).first;
    }
    last_name_ = it->first;
    last_ = it->second;
    return last_;
  }

 private:
  Writer* writer_;
  Encoding encoding_;
  uint32_t type_;
  std::unordered_map<std::string, StreamHandle> handles_;
  std::string last_name_;
  StreamHandle last_;
};

// --sync-every: a thread that calls Sync() every `period` while records arrive, so that what a
// power cut can lose is bounded in time even while the input is idle. Stopped before Close().
class PeriodicSync {
 public:
  PeriodicSync(Writer& w, std::chrono::nanoseconds period) : thread_([this, &w, period] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
        if (!appended_.exchange(false)) continue;
        lock.unlock();
        // A failure is sticky: the next Sync() or Close() returns it too. It ends the write.
        if (Status s = w.Sync(); !s) failed_.store(true);
        lock.lock();
      }
    }) {}
  ~PeriodicSync() { Stop(); }
  void Appended() { appended_.store(true, std::memory_order_relaxed); }
  bool failed() const { return failed_.load(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> appended_{false};
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

// A new log refused for its name (CheckNewLogName, or a slab file found taken): exit 2, with the
// way to add to the log when that is what the name is.
ExitCode RefuseName(const char* cmd, const Error& e) {
  const bool exists = e.message.find("already exists") != std::string::npos;
  Complain(cmd, "{}{}", Describe(e), exists ? "; use --append to add to it, or choose another name" : "");
  return ExitCode::kUsage;
}

ExitCode RunWrite(const WriteOptions& opt) {
  const char* cmd = "write";
  // Checked now for a quick answer, and by Writer::Open again once it holds the log's lock,
  // however long the first record takes to come.
  if (Status free = opt.append ? Status() : CheckNewLogName(opt.log); !free) {
    // A directory that cannot be read (kIo) is no name refused: its exit code is Fail's.
    return free.error().code == Errc::kInvalidArgument ? RefuseName(cmd, free.error()) : Fail(cmd, free.error());
  }
  WriterOptions wo;
  if (!ParseLogSizes(cmd, opt.sizes, &wo)) return ExitCode::kUsage;
  wo.sync = opt.sync == "none" ? SyncPolicy::kManual
                               : opt.sync == "slab" ? SyncPolicy::kEverySlab : SyncPolicy::kOnClose;
  wo.append = opt.append;
  // Appending, the section size not given is the default for the log's own slabs, not for
  // --slab-size's: the writer picks it once it has read the log.
  if (opt.append && opt.sizes.section_size.empty()) wo.section_size = 0;
  wo.recycle = opt.recycle;
  // Appending, the log's own slabs count: their size, and whether it is a ring.
  std::optional<SlabHeader> existing;
  if (opt.append) {
    const auto listed = ListSlabFilesOrFail(opt.log);
    if (!listed) return Fail(cmd, listed.error());
    if (const auto& slabs = listed.value(); !slabs.empty()) {
      std::string head(kSlabHeaderSize, '\0');
      if (FILE* f = std::fopen(slabs.front().second.c_str(), "rb")) {
        if (std::fread(head.data(), 1, head.size(), f) == head.size()) {
          existing = DecodeSlabHeader({reinterpret_cast<const uint8_t*>(head.data()), head.size()});
        }
        std::fclose(f);
      }
    }
  }
  if (existing && (existing->flags & kSlabFlagRing) != 0 && opt.ring.empty()) {
    Complain(cmd, "{} is a ring (a flight recorder): --append needs --ring SIZE, or the log would grow without bound",
             opt.log);
    return ExitCode::kUsage;
  }
  if (!opt.ring.empty()) {
    // Whole slabs, never more than asked for.
    uint64_t ring_bytes = 0;
    if (!ParseSize(opt.ring, &ring_bytes)) {
      Complain(cmd, "--ring: '{}' is not a size (such as 256M, 2G)", opt.ring);
      return ExitCode::kUsage;
    }
    const uint64_t slab_bytes = existing ? existing->capacity : wo.slab_size;
    const uint64_t slabs = ring_bytes / slab_bytes;
    if (slabs < 2) {
      Complain(cmd, "--ring {} holds fewer than two slabs of {} bytes ({}): a ring needs two at least", opt.ring,
               slab_bytes, existing ? "the log's slab size" : "--slab-size");
      return ExitCode::kUsage;
    }
    // A ring slab keeps four pages for its header, catalog and a stream's section ends: below
    // eight pages it would refuse every record (or nearly).
    const uint64_t page = existing ? existing->page_size : SystemPageSize();
    if (slab_bytes < 8 * page) {
      Complain(cmd, "--ring needs slabs of at least 8 pages ({} bytes); {} is {} bytes", 8 * page,
               existing ? "the log's slab size" : "--slab-size", slab_bytes);
      return ExitCode::kUsage;
    }
    wo.ring_slabs = static_cast<uint32_t>(std::min<uint64_t>(slabs, UINT32_MAX));
    wo.one_appender = true;  // this command appends from one thread
  }
  int64_t sync_every_ns = 0;
  uint64_t sync_every_bytes = 0;
  if (!opt.sync_every.empty() && !ParseDurationNs(opt.sync_every, &sync_every_ns)) {
    Complain(cmd, "--sync-every: '{}' is not a duration (such as 100ms, 1s)", opt.sync_every);
    return ExitCode::kUsage;
  }
  if (!opt.sync_every_bytes.empty() &&
      (!ParseSize(opt.sync_every_bytes, &sync_every_bytes) || sync_every_bytes == 0)) {
    Complain(cmd, "--sync-every-bytes: '{}' is not a size (such as 64K, 1M)", opt.sync_every_bytes);
    return ExitCode::kUsage;
  }
  // Syncing often, pages are dirtied only as records fill them, 4 KiB at a time, so that each
  // sync writes what was appended rather than zeros and whole 2 MiB folios.
  wo.sync_often = sync_every_ns != 0 || sync_every_bytes != 0;
  InputOptions in;
  in.format = opt.format == "lines" ? InputFormat::kLines
                                    : opt.format == "raw" ? InputFormat::kRaw : InputFormat::kNdjson;
  if (in.format != InputFormat::kNdjson && (!opt.stream_field.empty() || !opt.time_field.empty())) {
    Complain(cmd, "--stream-field and --time-field need --format ndjson");
    return ExitCode::kUsage;
  }
  in.stream_field = opt.stream_field;
  in.time_field = opt.time_field;
  if (!opt.time_unit.empty() && opt.time_field.empty()) {
    Complain(cmd, "--time-unit needs --time-field");
    return ExitCode::kUsage;
  }
  if (!opt.time_unit.empty() && !ParseTimeUnit(opt.time_unit, &in.time_unit)) {
    Complain(cmd, "--time-unit takes s, ms, us or ns: not '{}'", opt.time_unit);
    return ExitCode::kUsage;
  }
  in.stop = &StopRequested();
  int fd = STDIN_FILENO;
  if (opt.input != "-") {
    fd = ::open(opt.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(cmd, Error{Errc::kIo, opt.input, 0, std::string("cannot open: ") + std::strerror(errno)});
    in.name = opt.input;
  }

  // Sizes that cannot work are refused now, not when the first record comes.
  if (Status s = CheckLogSizes(wo); !opt.append && !s) {
    Complain(cmd, "{}", s.error().message);
    return ExitCode::kUsage;
  }
  const Encoding encoding = in.format == InputFormat::kNdjson ? Encoding::kJson
                            : in.format == InputFormat::kLines ? Encoding::kText
                                                               : Encoding::kBinary;
  // A new log is made when its first record is ready, so that an empty input, an invalid first
  // record or an interruption before it leave nothing behind, and nothing is ever removed.
  std::unique_ptr<Writer> writer;
  std::optional<StreamTable> streams;
  std::unique_ptr<PeriodicSync> periodic;
  auto open_log = [&]() -> Status {
    auto opened = Writer::Open(opt.log, wo);
    if (!opened) return opened.error();
    writer = std::move(opened.value());
    streams.emplace(writer.get(), encoding, opt.stream_type);
    if (sync_every_ns != 0) periodic = std::make_unique<PeriodicSync>(*writer, std::chrono::nanoseconds(sync_every_ns));
    return Status();
  };
  auto open_failed = [&](const Error& e) {
    if (!opt.append && e.code == Errc::kInvalidArgument) return RefuseName(cmd, e);
    return Fail(cmd, e);
  };
  if (opt.append) {
    if (Status s = open_log(); !s) return open_failed(s.error());
  }
  CatchStopSignals();
  std::optional<Error> open_error;
  uint64_t unsynced_bytes = 0;
  uint64_t stored = 0;
  auto read = ReadRecords(fd, in, [&](const InputRecord& r) -> Status {
    if (writer == nullptr) {
      if (Status s = open_log(); !s) {
        open_error = s.error();
        return s;
      }
    }
    auto h = streams->Get(r.stream.empty() ? std::string_view(opt.stream) : r.stream);
    if (!h) return h.status();
    if (Status s = writer->Append(h.value(), r.payload, r.timestamp); !s) return s;
    ++stored;
    if (periodic != nullptr) {
      if (periodic->failed()) return writer->Sync();  // the sticky error, with its file
      periodic->Appended();
    }
    unsynced_bytes += r.payload.size();
    if (sync_every_bytes != 0 && unsynced_bytes >= sync_every_bytes) {
      unsynced_bytes = 0;
      return writer->Sync();
    }
    return Status();
  });
  if (fd != STDIN_FILENO) ::close(fd);
  if (periodic != nullptr) periodic->Stop();
  if (open_error) return open_failed(*open_error);
  if (writer == nullptr) {  // no record came: no log was made
    if (!read) {
      const ExitCode rc = Fail(cmd, read.error());
      Complain(cmd, "the input failed before its first record: no log was created");
      return rc;
    }
    if (StopRequested().load()) {
      Complain(cmd, "interrupted before the first record: no log was created");
      return ExitCode::kInterrupted;
    }
    Complain(cmd, "the input held no record: no log was created");
    return ExitCode::kDataProblem;
  }
  // Whatever happened to the input, every record taken so far is kept and the log closed cleanly.
  Status closed = writer->Close();
  ExitCode rc = ExitCode::kOk;
  if (!read) rc = Fail(cmd, read.error());
  if (!read && read.error().code == Errc::kFull) {
    Complain(cmd, "stopped after {} records, which the log keeps (closed cleanly); the rest of the input was not written",
             stored);
  }
  if (!closed) {
    const ExitCode close_rc = Fail(cmd, closed.error());
    if (rc == ExitCode::kOk) rc = close_rc;
  }
  if (rc == ExitCode::kOk && StopRequested().load()) {
    Complain(cmd, "interrupted; {} records written and the log closed cleanly", read.value());
  }
  return rc;
}

}  // namespace

void RegisterWrite(CLI::App& app, ExitCode* rc) {
  auto opt = std::make_shared<WriteOptions>();
  CLI::App* sub = app.add_subcommand("write", "Append records from standard input to a log, creating it");
  sub->add_option("log", opt->log, "Log base name (run.slog makes run_0.slog, run_1.slog, ...)")
      ->required();
  sub->add_option("-i,--input", opt->input, "Read records from this file instead of standard input (- for stdin)")
      ->capture_default_str();
  sub->add_option("-f,--format", opt->format,
                  "ndjson: one JSON value per line; lines: one text record per line; "
                  "raw: each record a 4-byte little-endian length then its bytes")
      ->check(CLI::IsMember({"ndjson", "lines", "raw"}))
      ->capture_default_str();
  sub->add_option("-s,--stream", opt->stream, "Stream for records (or for records without --stream-field)")
      ->capture_default_str();
  sub->add_option("--stream-field", opt->stream_field, "ndjson: route each record to the stream named by this string field");
  sub->add_option("--time-field", opt->time_field,
                  "ndjson: take each record's timestamp from this field (integer nanoseconds, float seconds, or an RFC "
                  "3339 string); default: time of arrival");
  sub->add_option("--time-unit", opt->time_unit,
                  "With --time-field: what numbers count, s, ms, us or ns (default: integers ns, fractions s)");
  sub->add_option("--stream-type", opt->stream_type, "Application-defined type number stored with new streams")
      ->capture_default_str();
  AddLogSizeOptions(sub, &opt->sizes, "of the log");
  sub->add_option("--sync", opt->sync, "close: durable when the log is closed; slab: also each full slab; none: never wait for the disk")
      ->check(CLI::IsMember({"close", "slab", "none"}))
      ->capture_default_str();
  sub->add_option("--sync-every", opt->sync_every,
                  "Also sync every DURATION while records arrive (100ms, 1s): a power cut loses at most the last DURATION");
  sub->add_option("--sync-every-bytes", opt->sync_every_bytes,
                  "Also sync each time SIZE bytes of records were appended since the last sync (64K, 1M)");
  sub->add_flag("-a,--append", opt->append, "Add to an existing, cleanly closed log");
  sub->add_option("--ring", opt->ring,
                  "Flight recorder: keep at most SIZE on disk (whole slabs, at least two), reusing the oldest slab's "
                  "file for each new one: the log keeps its newest records");
  sub->add_option("--recycle", opt->recycle,
                  "Take the slab files of this retired log instead of creating new ones (it is destroyed, slab by slab)");
  sub->final_callback([opt, rc] { *rc = RunWrite(*opt); });
}

}  // namespace slablog::cli
