// Writes the fuzz targets' seed corpus: small real logs made by this library, each as one fuzz
// input (fuzz_input.h: a 4-byte prefix, then the log's slab files joined with cat), and the logs
// of more than one slab also as two slab files split where the second slab begins. Regenerate it
// whenever the on-disk format changes:
//
//   scripts/fuzz --corpus            (builds this program and rewrites tests/fuzz/corpus/)
//
// Every log has a fixed id, creation time and timestamps, so the output is the same every run.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "slablog/compressed_writer.h"
#include "slablog/format.h"
#include "slablog/writer.h"

namespace fs = std::filesystem;
using slablog::Encoding;
using slablog::StreamHandle;
using slablog::Writer;
using slablog::WriterOptions;

namespace {

WriterOptions Small() {
  WriterOptions o;
  o.slab_size = 16 << 10;  // the header page and three sections of one page
  o.section_size = 4 << 10;
  o.sync = slablog::SyncPolicy::kManual;
  o.background_prefault = false;
  o.log_id = slablog::LogId{0x5e, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  o.created_ns = 1764000000000000000;
  return o;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "make_corpus: %s failed\n", what);
    std::exit(1);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The slab files of `base`, each one's bytes.
std::vector<std::string> Slabs(const std::string& base) {
  std::vector<std::string> out;
  for (uint32_t i = 0; fs::exists(slablog::SlabPath(base, i)); ++i) out.push_back(ReadFile(slablog::SlabPath(base, i)));
  return out;
}

class Corpus {
 public:
  explicit Corpus(std::string dir) : dir_(std::move(dir)) {}
  // `slabs` as one input joined with cat and, with `two_files`, as two slab files split where
  // the second slab begins. (The fuzzer flips the flags too; the seeds only start it off.)
  void Add(const std::string& name, const std::vector<std::string>& slabs, bool two_files = false) {
    std::string joined;
    for (const std::string& s : slabs) joined += s;
    Put(name, slablog::fuzz::kFixCrcs, 0, joined);
    if (two_files && slabs.size() > 1) {
      Put(name + ".2files", slablog::fuzz::kFixCrcs | slablog::fuzz::kTwoFiles, slabs[0].size(), joined);
    }
  }

 private:
  void Put(const std::string& name, uint8_t flags, size_t split, const std::string& log) {
    std::string input(slablog::fuzz::kPrefixSize, '\0');
    input[0] = static_cast<char>(flags);
    for (int i = 0; i < 3; ++i) input[static_cast<size_t>(1 + i)] = static_cast<char>(split >> (8 * i));
    std::ofstream(dir_ + "/" + name, std::ios::binary) << input << log;
  }
  std::string dir_;
};

struct Log {
  std::unique_ptr<Writer> writer;
  std::vector<StreamHandle> streams;
  int64_t t = 0;
  Log(const std::string& base, const std::vector<std::string>& names, WriterOptions o = Small()) {
    auto w = Writer::Open(base, o);
    Check(w.has_value(), "Writer::Open");
    writer = std::move(w.value());
    for (size_t i = 0; i < names.size(); ++i) {
      auto h = writer->OpenStream({names[i], static_cast<Encoding>(i % 3), static_cast<uint32_t>(i)});
      Check(h.has_value(), "OpenStream");
      streams.push_back(h.value());
    }
  }
  void Append(size_t stream, const std::string& payload) {
    Check(writer->Append(streams[stream], payload, t += 1000).ok(), "Append");
  }
  void Close() { Check(writer->Close().ok(), "Close"); }
};

std::string Text(size_t n, char c) {
  std::string s(n, c);
  for (size_t i = 0; i < n; i += 7) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR   (DIR is emptied of its files, then filled)\n");
    return 2;
  }
  const std::string out = argv[1];
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(out)) fs::remove(e.path());
  const std::string work = slablog::fuzz::FuzzDir();
  Corpus corpus(out);

  {  // A catalog and nothing else.
    Log log(work + "/empty.slog", {});
    log.Close();
    corpus.Add("empty", Slabs(work + "/empty.slog"));
  }
  {  // Records of every size class: FULL frames, and FIRST, MIDDLE, LAST fragments across sections.
    Log log(work + "/frag.slog", {"imu"});
    log.Append(0, "");
    log.Append(0, "small");
    log.Append(0, Text(9000, 'f'));
    log.Append(0, Text(300, 'g'));
    log.Close();
    corpus.Add("fragments", Slabs(work + "/frag.slog"));
  }
  {  // Several streams interleaved over several slabs.
    Log log(work + "/multi.slog", {"imu", "gps", "camera/left"});
    for (int i = 0; i < 30; ++i) log.Append(static_cast<size_t>(i % 3), Text(static_cast<size_t>(20 + i * 13 % 250), static_cast<char>('a' + i % 26)));
    log.Close();
    corpus.Add("streams", Slabs(work + "/multi.slog"), /*two_files=*/true);
  }
  {  // A compressed log (slablog compress): compressed sections and one stored as it is.
    slablog::CompressedWriterOptions o;
    o.section_bytes = 2048;
    o.slab_bytes = 16 << 10;
    o.sync = false;
    auto w = slablog::CompressedWriter::Create(work + "/packed.slog", o);
    Check(w.has_value(), "CompressedWriter::Create");
    auto a = w.value()->AddStream("imu", Encoding::kJson, 1);
    auto b = w.value()->AddStream("raw", Encoding::kBinary, 2);
    Check(a.has_value() && b.has_value(), "AddStream");
    std::string noise;
    for (int i = 0; i < 600; ++i) noise.push_back(static_cast<char>((i * 7919) ^ (i >> 3)));
    for (int i = 0; i < 40; ++i) {
      const std::string json = "{\"i\":" + std::to_string(i) + ",\"x\":\"" + Text(static_cast<size_t>(30 + i % 50), 'x') + "\"}";
      Check(w.value()->Append(*a, {reinterpret_cast<const uint8_t*>(json.data()), json.size()}, i * 1000).ok(), "Append");
      Check(w.value()->Append(*b, {reinterpret_cast<const uint8_t*>(noise.data()), static_cast<size_t>(20 + i * 13)}, i * 1000).ok(),
            "Append");
    }
    const std::string big = Text(5000, 'B');  // fragments across compressed sections
    Check(w.value()->Append(*a, {reinterpret_cast<const uint8_t*>(big.data()), big.size()}, 99000).ok(), "Append");
    Check(w.value()->Close().ok(), "Close");
    corpus.Add("compressed", Slabs(work + "/packed.slog"), /*two_files=*/true);
  }
  {  // A writer killed now: open sections, a record whose LAST fragment has not come yet.
    Log log(work + "/crash.slog", {"imu", "gps"});
    for (int i = 0; i < 16; ++i) log.Append(static_cast<size_t>(i % 2), Text(static_cast<size_t>(40 + i * 29 % 200), 'c'));
    log.Append(1, Text(5000, 'L'));  // FIRST and LAST in sections still open
    corpus.Add("crashed", Slabs(work + "/crash.slog"), /*two_files=*/true);
    std::vector<std::string> torn = Slabs(work + "/crash.slog");
    // Cut the last slab after its last non-zero byte less a few: a frame cut short by a crash.
    std::string& last = torn.back();
    size_t end = last.size();
    while (end > 0 && last[end - 1] == 0) --end;
    std::memset(last.data() + end - 5, 0, 5);
    corpus.Add("crashed-torn", torn);
    log.Close();
  }
  {  // A writer killed while creating a slab file: the last file all zeros.
    Log log(work + "/zeros.slog", {"a"});
    for (int i = 0; i < 5; ++i) log.Append(0, Text(900, 'z'));
    std::vector<std::string> slabs = Slabs(work + "/zeros.slog");
    slabs.push_back(std::string(4096, '\0'));
    corpus.Add("abandoned-slab", slabs, /*two_files=*/true);
    log.Close();
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(work, ec)) fs::remove_all(e.path(), ec);
  size_t files = 0, bytes = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    ++files;
    bytes += fs::file_size(e.path());
  }
  std::printf("%zu inputs, %zu bytes in %s\n", files, bytes, out.c_str());
  return 0;
}
