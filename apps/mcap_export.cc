#include "mcap_export.h"

#include <filesystem>
#include <map>
#include <optional>

#include "json_out.h"
#include "mcap_file.h"
#include "output.h"
#include "problems.h"
#include "progress.h"
#include "record_selector.h"
#include "slablog/reader.h"
#include "stop_signal.h"

namespace slablog::cli {
namespace {

constexpr const char* kMcapCmd = "export";

// MCAP's message encodings for slablog's stream encodings. json is MCAP's own (self-describing,
// no schema needed); text and binary have none, so their channels carry the MIME type of what
// the message bytes are.
std::string_view McapMessageEncoding(Encoding e) {
  switch (e) {
    case Encoding::kJson: return "json";
    case Encoding::kText: return "text/plain";
    case Encoding::kBinary: break;
  }
  return "application/octet-stream";
}

// The MCAP channel of each slablog stream, made at its first exported record.
class McapChannels {
 public:
  explicit McapChannels(McapWriter* writer) : writer_(writer) {}
  struct Channel {
    uint16_t id = 0;
    Encoding encoding = Encoding::kBinary;
  };
  Result<Channel> Get(const Reader& reader, uint32_t stream_id) {
    auto it = channels_.find(stream_id);
    if (it != channels_.end()) return it->second;
    const CatalogEntry* e = reader.stream(stream_id);
    // Named and typed as NDJSON export does: a stream not in the catalog is "#ID", binary.
    const Encoding encoding = e != nullptr ? e->encoding : Encoding::kBinary;
    std::string scratch;  // MCAP topics are UTF-8: a name that is not gets U+FFFD, as in NDJSON
    Result<uint16_t> id = writer_->AddChannel(
        e != nullptr ? ValidUtf8(e->name, &scratch) : "#" + std::to_string(stream_id), McapMessageEncoding(encoding));
    if (!id) return id.error();
    return channels_.emplace(stream_id, Channel{id.value(), encoding}).first->second;
  }

 private:
  McapWriter* writer_;
  std::map<uint32_t, Channel> channels_;
};

ExitCode McapStatusExit(const McapFile& file, const Error& error) {
  if (file.closed()) return ExitCode::kOk;  // standard output's reader went away: quietly
  return Fail(kMcapCmd, error);
}

}  // namespace

ExitCode McapExport(const McapExportOptions& opt) {
  ProblemLog problems(kMcapCmd);
  ReaderOptions ro;
  ro.decode_ahead = !opt.time_filter && opt.streams.empty();
  auto opened = Reader::Open(opt.log, ro, &problems);
  if (!opened) return Fail(kMcapCmd, opened.error());
  Reader& reader = *opened.value();
  for (const std::string& f : reader.files()) {
    std::error_code ec;
    if (opt.output != "-" && std::filesystem::equivalent(f, opt.output, ec)) {
      Complain(kMcapCmd, "{}: is a file of the log being exported, not replaced even with --force", opt.output);
      return ExitCode::kUsage;
    }
  }
  auto created = McapFile::Create(opt.output, opt.replace);
  if (!created) return Fail(kMcapCmd, created.error());
  McapFile& file = *created.value();
  CatchStopSignals();

  McapWriterOptions wo;
  wo.compression = opt.compression;
  wo.library = std::string("slablog ") + SLABLOG_VERSION;
  McapWriter writer(&file, wo);
  if (Status st = writer.Start(); !st) return McapStatusExit(file, st.error());
  McapChannels channels(&writer);
  static constexpr std::string_view kNull = "null";
  // The bar only when the MCAP goes to a file: into a pipe or a terminal, see cmd_export.cc.
  ProgressLine progress(kMcapCmd, opt.output == "-" && StdoutIsTerminalOrPipe() ? ProgressShown::kNever
                                                                              : ProgressShown::kIfStderrIsTerminal);
  const RecordSelection selection{opt.streams, opt.since, opt.until};
  RecordSelector selector(&reader, selection, &progress);
  for (const RecordView* record = selector.Next(); record != nullptr; record = selector.Next()) {
    if (StopRequested().load()) {
      Complain(kMcapCmd, "interrupted: {} not written", opt.output);
      return ExitCode::kInterrupted;
    }
    const RecordView& r = *record;
    if (r.timestamp < 0) {
      Complain(kMcapCmd, "{}: offset {}: record {} of stream {} has time {}, before 1970: MCAP times are unsigned",
               r.slab != nullptr ? r.slab->file : opt.log, r.offset, r.index, r.stream_id, r.timestamp);
      return ExitCode::kDataProblem;
    }
    Result<McapChannels::Channel> channel = channels.Get(reader, r.stream_id);
    if (!channel) return Fail(kMcapCmd, channel.error());
    std::span<const uint8_t> data = r.payload;
    // An empty json record is exported as null, as NDJSON export prints it: valid JSON either way.
    if (data.empty() && channel.value().encoding == Encoding::kJson) {
      data = {reinterpret_cast<const uint8_t*>(kNull.data()), kNull.size()};
    }
    const auto t = static_cast<uint64_t>(r.timestamp);
    // MCAP sequences are 32 bits: a stream's record number past 2^32 wraps (man slablog.1).
    if (Status st = writer.WriteMessage(channel.value().id, static_cast<uint32_t>(r.index), t, t, data); !st) {
      return McapStatusExit(file, st.error());
    }
    if (opt.limit != 0 && writer.messages() >= opt.limit) break;
  }
  if (Status st = writer.Finish(); !st) return McapStatusExit(file, st.error());
  if (Status st = file.Publish(); !st) return Fail(kMcapCmd, st.error());
  return problems.damage() > 0 ? ExitCode::kDataProblem : ExitCode::kOk;
}

}  // namespace slablog::cli
