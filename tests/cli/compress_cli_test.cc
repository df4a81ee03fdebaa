// slablog compress and split --compress from the command line: every command reads the compressed
// copy as it reads the log it came from, export skips compressed sections outside its window
// without decompressing them, and a damaged one costs its own records.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

constexpr int64_t kStep = 1000000;  // record i has time i ms

// Records of four topics in time order, compressible as robot data is.
std::string Robot(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    const char* topics[] = {"imu", "odom", "gps", "cam"};
    out += "{\"topic\":\"" + std::string(topics[i % 4]) + "\",\"i\":" + std::to_string(i) +
           ",\"t\":" + std::to_string(int64_t{i} * kStep) + ",\"x\":" + std::to_string((i * 7919) % 10007) +
           ",\"tag\":\"" + std::string(static_cast<size_t>(20 + i % 16), 'a' + static_cast<char>(i % 26)) + "\"}\n";
  }
  return out;
}

// Export's lines grouped by stream, each stream's in their order.
std::map<std::string, std::vector<std::string>> PerStream(const std::string& ndjson) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& line : Lines(ndjson)) out[nlohmann::json::parse(line)["stream"]].push_back(line);
  return out;
}

}  // namespace

TEST_CASE("CompressCliWritesACopyThatEveryCommandReadsAsTheOriginal") {
  TempDir dir;
  auto run = [&](const std::vector<std::string>& args) { return RunSlablog(args, "", dir.dir()); };
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "--section-size", "64K", "run.slog"},
                     Robot(40000), dir.dir())
              .exit_code == 0);
  const RunResult packed = run({"compress", "--section-size", "64K", "run.slog", "small.slog"});
  REQUIRE_MESSAGE(packed.exit_code == 0, packed.err);
  CHECK(packed.out.find("40000 records") != std::string::npos);
  const RunResult original = run({"export", "run.slog"});
  const RunResult copy = run({"export", "small.slog"});
  REQUIRE(copy.exit_code == 0);
  CHECK(copy.err.empty());
  CHECK(PerStream(copy.out) == PerStream(original.out));
  // Smaller on disk.
  uint64_t before = 0, after = 0;
  for (const auto& [i, p] : ListSlabFiles(dir.path("run.slog"))) before += std::filesystem::file_size(p);
  for (const auto& [i, p] : ListSlabFiles(dir.path("small.slog"))) after += std::filesystem::file_size(p);
  CHECK(after * 4 < before);
  // info and verify say so; dump marks slabs and sections.
  const auto info = nlohmann::json::parse(run({"info", "--json", "small.slog"}).out);
  CHECK(info["compressed"] == true);
  CHECK(info["compressed_sections"].get<uint64_t>() > 4);
  CHECK(info["compressed_bytes"].get<uint64_t>() < info["uncompressed_bytes"].get<uint64_t>());
  CHECK(info["records"] == 40000);
  const RunResult verify = run({"verify", "--json", "small.slog"});
  CHECK(verify.exit_code == 0);
  CHECK(nlohmann::json::parse(verify.out)["compressed"] == true);
  CHECK(run({"verify", "small.slog"}).out.find("compressed:") != std::string::npos);
  const RunResult dump = run({"dump", "small.slog"});
  CHECK(dump.exit_code == 0);
  CHECK(dump.out.find("  compressed\n") != std::string::npos);
  CHECK(dump.out.find("zstd: ") != std::string::npos);
  // follow prints every record once; truncate has nothing to do.
  const RunResult follow = run({"follow", "--from-start", "small.slog"});
  CHECK(follow.exit_code == 0);
  CHECK(PerStream(follow.out) == PerStream(original.out));
  const RunResult truncate = run({"truncate", "small.slog"});
  CHECK(truncate.exit_code == 0);
  CHECK(truncate.out.find("nothing to do") != std::string::npos);
  // merge reads compressed logs; recover writes what it reads as a plain log.
  REQUIRE(run({"merge", "both.slog", "small.slog", "run.slog"}).exit_code == 0);
  CHECK(nlohmann::json::parse(run({"verify", "--json", "both.slog"}).out)["records"] == 80000);
  REQUIRE(run({"recover", "small.slog", "again.slog"}).exit_code == 0);
  CHECK(PerStream(run({"export", "again.slog"}).out) == PerStream(original.out));
  // Refused: an output that exists, a Copper log.
  const RunResult exists = run({"compress", "run.slog", "small.slog"});
  CHECK(exists.exit_code == 2);
  CHECK(exists.err.find("exists") != std::string::npos);
}

TEST_CASE("SplitCompressCutsCompressedPiecesThatTogetherHoldEveryRecord") {
  TempDir dir;
  auto run = [&](const std::vector<std::string>& args) { return RunSlablog(args, "", dir.dir()); };
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "run.slog"}, Robot(30000), dir.dir())
              .exit_code == 0);
  const RunResult split = run({"split", "--compress", "--by", "size", "1M", "-o", "up", "run.slog"});
  REQUIRE_MESSAGE(split.exit_code == 0, split.err);
  const auto pieces = Lines(split.out);
  REQUIRE(pieces.size() >= 3);
  std::map<std::string, std::vector<std::string>> joined;
  for (const std::string& piece : pieces) {
    const RunResult v = run({"verify", "--json", piece});
    CHECK_MESSAGE(v.exit_code == 0, v.err);
    CHECK(nlohmann::json::parse(v.out)["compressed"] == true);
    for (const auto& [stream, lines] : PerStream(run({"export", piece}).out)) {
      for (const std::string& l : lines) joined[stream].push_back(nlohmann::json::parse(l)["data"].dump());
    }
  }
  std::map<std::string, std::vector<std::string>> want;
  for (const auto& [stream, lines] : PerStream(run({"export", "run.slog"}).out)) {
    for (const std::string& l : lines) want[stream].push_back(nlohmann::json::parse(l)["data"].dump());
  }
  CHECK(joined == want);
  // By stream, compressed too.
  const RunResult by_stream = run({"split", "-z", "--level", "5", "-o", "streams", "run.slog"});
  REQUIRE(by_stream.exit_code == 0);
  CHECK(Lines(by_stream.out).size() == 4);
}

// A damaged compressed section outside the window is never decompressed: export --since says
// nothing about it. verify and a whole export do report it, with its offset, and every other
// record is still exported.
TEST_CASE("ExportSinceSkipsCompressedSectionsByTheirHeaderAndDamageCostsOneSection") {
  TempDir dir;
  auto run = [&](const std::vector<std::string>& args) { return RunSlablog(args, "", dir.dir()); };
  std::string one_stream;
  for (const std::string& line : Lines(Robot(20000))) {
    auto j = nlohmann::json::parse(line);
    j["topic"] = "imu";
    one_stream += j.dump() + "\n";
  }
  REQUIRE(RunSlablog({"write", "--stream-field", "topic", "--time-field", "t", "run.slog"}, one_stream, dir.dir())
              .exit_code == 0);
  REQUIRE(run({"compress", "--section-size", "64K", "run.slog", "small.slog"}).exit_code == 0);
  // The first compressed section of the stream, from export --sections.
  nlohmann::json first;
  for (const std::string& line : Lines(run({"export", "--sections", "small.slog"}).out)) {
    const auto s = nlohmann::json::parse(line);
    if (s["stream"] == "imu" && s["seq"] == 0) first = s;
  }
  REQUIRE(first.is_object());
  const uint64_t offset = first["offset"];
  const int64_t last_t = first["last_t"];
  const uint64_t records = first["record_count"];
  FlipBit(dir.path("small_0.slog"), offset + kSectionHeaderSize + 40, 2);
  const std::string since = std::to_string(last_t + 1);
  const RunResult window = run({"export", "--since", since, "small.slog"});
  CHECK_MESSAGE(window.exit_code == 0, window.err);
  CHECK(window.err.empty());
  CHECK(window.out == run({"export", "--since", since, "run.slog"}).out);
  const RunResult verify = run({"verify", "small.slog"});
  CHECK(verify.exit_code == 1);
  CHECK(verify.err.find("offset " + std::to_string(offset)) != std::string::npos);
  CHECK(verify.err.find(std::to_string(records) + " records in it are lost") != std::string::npos);
  const RunResult all = run({"export", "small.slog"});
  CHECK(all.exit_code == 1);
  CHECK(Lines(all.out).size() == 20000 - records);
}

}  // namespace slablog::test
