// A writer of MCAP files (https://mcap.dev/spec), hand-written because Debian packages no MCAP
// library: messages grouped in chunks (zstd or stored), each followed by its message indexes,
// then a summary section (channels, statistics, chunk indexes) with summary offsets and a footer,
// so both streaming and indexed readers work. Only what slablog export needs: schemaless
// channels, no attachments or metadata records.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/status.h"

namespace slablog::cli {

// What an MCAP file begins and ends with.
inline constexpr std::string_view kMcapMagic("\x89MCAP0\r\n", 8);

// Where the file's bytes go, in order, with no seeking: an MCAP file is written front to back.
class McapSink {
 public:
  virtual ~McapSink() = default;
  virtual Status Write(std::string_view bytes) = 0;
};

enum class McapCompression : uint8_t { kNone, kZstd };

struct McapWriterOptions {
  McapCompression compression = McapCompression::kZstd;
  int zstd_level = 1;  // fast: export should not wait on the compressor
  // A chunk is closed once its records reach this many bytes (before compression). Readers
  // decompress whole chunks, so this is also the unit a viewer seeks in.
  size_t chunk_size = size_t{1} << 20;
  std::string library = "slablog";  // the header's library field
};

class McapWriter {
 public:
  // `sink` must outlive the writer. Nothing is written before Start().
  McapWriter(McapSink* sink, McapWriterOptions options);
  ~McapWriter();
  McapWriter(const McapWriter&) = delete;
  McapWriter& operator=(const McapWriter&) = delete;

  // The leading magic and the header record.
  Status Start();
  // A new schemaless channel; its id. Ids are 1..65535: fails past 65535 channels.
  Result<uint16_t> AddChannel(std::string_view topic, std::string_view message_encoding);
  // Appends a message of a channel AddChannel returned. Closing a full chunk writes to the sink.
  Status WriteMessage(uint16_t channel, uint32_t sequence, uint64_t log_time, uint64_t publish_time,
                      std::span<const uint8_t> data);
  // The last chunk, the summary section, the footer and the trailing magic.
  Status Finish();

  uint64_t messages() const { return message_count_; }
  uint64_t bytes_written() const { return offset_; }

 private:
  struct Channel;
  struct ChunkIndex;
  Status Emit(std::string_view bytes);
  Status CloseChunk();
  std::string SummarySection(uint64_t summary_start, std::string* offsets_section);

  McapSink* sink_;
  McapWriterOptions options_;
  uint64_t offset_ = 0;     // bytes written so far
  uint32_t data_crc_ = 0;   // CRC-32 of the data section so far
  std::vector<Channel> channels_;  // channels_[id - 1]
  std::vector<ChunkIndex> chunk_indexes_;
  uint64_t message_count_ = 0;
  uint64_t start_time_ = UINT64_MAX, end_time_ = 0;
  // The chunk being filled: its records uncompressed, its time range, and the channels with
  // messages in it in the order they first appear.
  std::string chunk_;
  uint64_t chunk_start_time_ = UINT64_MAX, chunk_end_time_ = 0;
  std::vector<uint16_t> chunk_channels_;
  std::string compressed_;
  void* zstd_ = nullptr;  // ZSTD_CCtx, kept for every chunk
};

}  // namespace slablog::cli
