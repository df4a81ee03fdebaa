#include "mcap_writer.h"

#include <isa-l/crc.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace slablog::cli {
namespace {

enum class Op : uint8_t {
  kHeader = 0x01, kFooter = 0x02, kChannel = 0x04, kMessage = 0x05, kChunk = 0x06,
  kMessageIndex = 0x07, kChunkIndex = 0x08, kStatistics = 0x0B, kSummaryOffset = 0x0E, kDataEnd = 0x0F,
};

// MCAP's integers are little-endian, as this machine's (the build is for little-endian targets
// only, like libcore's coding.h).
template <typename T>
void Put(std::string* s, T v) {
  static_assert(std::is_integral_v<T>);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  s->append(b, sizeof(T));
}
template <typename T>
void PutAt(std::string* s, size_t at, T v) {
  std::memcpy(s->data() + at, &v, sizeof(T));
}
void PutString(std::string* s, std::string_view text) {
  Put(s, static_cast<uint32_t>(text.size()));
  s->append(text);
}

// Starts a record; FinishRecord fills in its length once its content is appended.
size_t BeginRecord(std::string* s, Op op) {
  s->push_back(static_cast<char>(op));
  const size_t at = s->size();
  Put(s, uint64_t{0});
  return at;
}
void FinishRecord(std::string* s, size_t length_at) {
  PutAt(s, length_at, static_cast<uint64_t>(s->size() - length_at - 8));
}

uint32_t Crc32(uint32_t crc, std::string_view bytes) {
  return crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

void AppendChannelRecord(std::string* s, uint16_t id, std::string_view topic, std::string_view encoding) {
  const size_t at = BeginRecord(s, Op::kChannel);
  Put(s, id);
  Put(s, uint16_t{0});  // schema 0: none (see man slablog.1 for why)
  PutString(s, topic);
  PutString(s, encoding);
  Put(s, uint32_t{0});  // metadata: an empty map
  FinishRecord(s, at);
}

}  // namespace

struct McapWriter::Channel {
  std::string topic;
  std::string message_encoding;
  uint64_t messages = 0;
  bool in_data = false;  // its channel record is in the data section (before its first message)
  // Its messages in the chunk being filled: (log time, offset in the chunk's records).
  std::vector<std::pair<uint64_t, uint64_t>> chunk_index;
  bool chunk_index_sorted = true;
};

struct McapWriter::ChunkIndex {
  uint64_t start_time = 0, end_time = 0;
  uint64_t chunk_offset = 0, chunk_length = 0;
  std::vector<std::pair<uint16_t, uint64_t>> message_index_offsets;
  uint64_t message_index_length = 0;
  uint64_t compressed_size = 0, uncompressed_size = 0;
};

McapWriter::McapWriter(McapSink* sink, McapWriterOptions options) : sink_(sink), options_(std::move(options)) {}

McapWriter::~McapWriter() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_)); }

Status McapWriter::Emit(std::string_view bytes) {
  data_crc_ = Crc32(data_crc_, bytes);
  offset_ += bytes.size();
  return sink_->Write(bytes);
}

Status McapWriter::Start() {
  std::string s(kMcapMagic);
  const size_t at = BeginRecord(&s, Op::kHeader);
  PutString(&s, "");  // no well-known profile fits: slablog streams are not ROS messages
  PutString(&s, options_.library);
  FinishRecord(&s, at);
  return Emit(s);
}

Result<uint16_t> McapWriter::AddChannel(std::string_view topic, std::string_view message_encoding) {
  if (channels_.size() >= UINT16_MAX) {
    return Error{Errc::kUnsupported, "", 0, "more than 65535 streams: an MCAP file holds at most 65535 channels"};
  }
  channels_.push_back(Channel{std::string(topic), std::string(message_encoding), 0, false, {}, true});
  return static_cast<uint16_t>(channels_.size());
}

Status McapWriter::WriteMessage(uint16_t channel, uint32_t sequence, uint64_t log_time, uint64_t publish_time,
                                std::span<const uint8_t> data) {
  Channel& c = channels_[channel - 1];
  if (!c.in_data) {
    // Into the chunk, just before its first message: a streaming reader meets every channel
    // before the messages that name it.
    AppendChannelRecord(&chunk_, channel, c.topic, c.message_encoding);
    c.in_data = true;
  }
  if (c.chunk_index.empty()) chunk_channels_.push_back(channel);
  if (!c.chunk_index.empty() && log_time < c.chunk_index.back().first) c.chunk_index_sorted = false;
  c.chunk_index.emplace_back(log_time, chunk_.size());
  // The head built on the stack and appended with the data: resizing first would zero-fill the
  // room before the copy overwrites it.
  constexpr size_t kHead = 1 + 8 + 2 + 4 + 8 + 8;
  char head[kHead];
  head[0] = static_cast<char>(Op::kMessage);
  const uint64_t length = kHead - 9 + data.size();
  std::memcpy(head + 1, &length, 8);
  std::memcpy(head + 9, &channel, 2);
  std::memcpy(head + 11, &sequence, 4);
  std::memcpy(head + 15, &log_time, 8);
  std::memcpy(head + 23, &publish_time, 8);
  if (chunk_.capacity() < options_.chunk_size) chunk_.reserve(options_.chunk_size + options_.chunk_size / 4);
  chunk_.append(head, kHead);
  chunk_.append(reinterpret_cast<const char*>(data.data()), data.size());
  ++c.messages;
  ++message_count_;
  chunk_start_time_ = std::min(chunk_start_time_, log_time);
  chunk_end_time_ = std::max(chunk_end_time_, log_time);
  if (chunk_.size() >= options_.chunk_size) return CloseChunk();
  return Status();
}

Status McapWriter::CloseChunk() {
  if (chunk_.empty()) return Status();
  std::string_view records = chunk_;
  std::string_view compression;
  if (options_.compression == McapCompression::kZstd) {
    if (zstd_ == nullptr) zstd_ = ZSTD_createCCtx();
    compressed_.resize(ZSTD_compressBound(chunk_.size()));
    const size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_), compressed_.data(), compressed_.size(),
                                       chunk_.data(), chunk_.size(), options_.zstd_level);
    if (ZSTD_isError(n)) {
      return Error{Errc::kIo, "", 0, std::string("zstd cannot compress a chunk: ") + ZSTD_getErrorName(n)};
    }
    records = std::string_view(compressed_.data(), n);
    compression = "zstd";
  }
  ChunkIndex index;
  index.start_time = chunk_start_time_;
  index.end_time = chunk_end_time_;
  index.chunk_offset = offset_;
  index.compressed_size = records.size();
  index.uncompressed_size = chunk_.size();
  std::string head;
  const size_t at = BeginRecord(&head, Op::kChunk);
  Put(&head, chunk_start_time_);
  Put(&head, chunk_end_time_);
  Put(&head, static_cast<uint64_t>(chunk_.size()));
  Put(&head, Crc32(0, chunk_));
  PutString(&head, compression);
  Put(&head, static_cast<uint64_t>(records.size()));
  PutAt(&head, at, static_cast<uint64_t>(head.size() - at - 8 + records.size()));
  if (Status st = Emit(head); !st) return st;
  if (Status st = Emit(records); !st) return st;
  index.chunk_length = offset_ - index.chunk_offset;

  // Its message indexes, one per channel with messages in it, sorted by log time as readers
  // expect (a stream's times are usually in order already).
  std::string indexes;
  for (uint16_t id : chunk_channels_) {
    Channel& c = channels_[id - 1];
    if (!c.chunk_index_sorted) {
      std::stable_sort(c.chunk_index.begin(), c.chunk_index.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    index.message_index_offsets.emplace_back(id, offset_ + indexes.size());
    const size_t mat = BeginRecord(&indexes, Op::kMessageIndex);
    Put(&indexes, id);
    Put(&indexes, static_cast<uint32_t>(c.chunk_index.size() * 16));
    for (const auto& [time, offset] : c.chunk_index) {
      Put(&indexes, time);
      Put(&indexes, offset);
    }
    FinishRecord(&indexes, mat);
    c.chunk_index.clear();
    c.chunk_index_sorted = true;
  }
  index.message_index_length = indexes.size();
  chunk_indexes_.push_back(std::move(index));
  chunk_.clear();
  chunk_channels_.clear();
  start_time_ = std::min(start_time_, chunk_start_time_);
  end_time_ = std::max(end_time_, chunk_end_time_);
  chunk_start_time_ = UINT64_MAX;
  chunk_end_time_ = 0;
  return Emit(indexes);
}

// The summary section, with the summary offset records that point into it appended to
// `offsets_section`.
std::string McapWriter::SummarySection(uint64_t summary_start, std::string* offsets_section) {
  std::string s;
  auto group_done = [&](Op op, size_t group_start) {
    if (s.size() == group_start) return;
    const size_t at = BeginRecord(offsets_section, Op::kSummaryOffset);
    offsets_section->push_back(static_cast<char>(op));
    Put(offsets_section, summary_start + group_start);
    Put(offsets_section, static_cast<uint64_t>(s.size() - group_start));
    FinishRecord(offsets_section, at);
  };
  size_t group = s.size();
  for (size_t i = 0; i < channels_.size(); ++i) {
    AppendChannelRecord(&s, static_cast<uint16_t>(i + 1), channels_[i].topic, channels_[i].message_encoding);
  }
  group_done(Op::kChannel, group);

  group = s.size();
  size_t at = BeginRecord(&s, Op::kStatistics);
  Put(&s, message_count_);
  Put(&s, uint16_t{0});                                  // schemas
  Put(&s, static_cast<uint32_t>(channels_.size()));
  Put(&s, uint32_t{0});                                  // attachments
  Put(&s, uint32_t{0});                                  // metadata
  Put(&s, static_cast<uint32_t>(chunk_indexes_.size()));
  Put(&s, message_count_ > 0 ? start_time_ : uint64_t{0});
  Put(&s, end_time_);
  Put(&s, static_cast<uint32_t>(channels_.size() * 10));
  for (size_t i = 0; i < channels_.size(); ++i) {
    Put(&s, static_cast<uint16_t>(i + 1));
    Put(&s, channels_[i].messages);
  }
  FinishRecord(&s, at);
  group_done(Op::kStatistics, group);

  group = s.size();
  for (const ChunkIndex& c : chunk_indexes_) {
    at = BeginRecord(&s, Op::kChunkIndex);
    Put(&s, c.start_time);
    Put(&s, c.end_time);
    Put(&s, c.chunk_offset);
    Put(&s, c.chunk_length);
    Put(&s, static_cast<uint32_t>(c.message_index_offsets.size() * 10));
    for (const auto& [id, offset] : c.message_index_offsets) {
      Put(&s, id);
      Put(&s, offset);
    }
    Put(&s, c.message_index_length);
    PutString(&s, options_.compression == McapCompression::kZstd ? "zstd" : "");
    Put(&s, c.compressed_size);
    Put(&s, c.uncompressed_size);
    FinishRecord(&s, at);
  }
  group_done(Op::kChunkIndex, group);
  return s;
}

Status McapWriter::Finish() {
  if (Status st = CloseChunk(); !st) return st;
  std::string tail;
  size_t at = BeginRecord(&tail, Op::kDataEnd);
  Put(&tail, data_crc_);
  FinishRecord(&tail, at);
  const uint64_t summary_start = offset_ + tail.size();
  std::string offsets;
  const std::string summary = SummarySection(summary_start, &offsets);
  const size_t summary_at = tail.size();
  tail += summary;
  tail += offsets;
  // The footer's length is written before the CRC that covers it.
  tail.push_back(static_cast<char>(Op::kFooter));
  Put(&tail, uint64_t{8 + 8 + 4});
  Put(&tail, summary_start);
  Put(&tail, summary_start + summary.size());
  // The summary CRC covers the summary and summary offset sections and the footer up to it.
  Put(&tail, Crc32(0, std::string_view(tail).substr(summary_at)));
  tail += kMcapMagic;
  return Emit(tail);
}

}  // namespace slablog::cli
