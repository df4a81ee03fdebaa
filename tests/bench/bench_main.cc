// slablog_bench: the library-level measurements behind scripts/bench. Each mode prints one line
// "name value unit"; scripts/bench turns them into ratios against cat and memcpy measured in the
// same run. Not a test: timings never decide pass or fail.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "copper_log_gen.h"
#include "slablog/reader.h"
#include "slablog/writer.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t RssAnonKiB() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "RssAnon: %llu kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

int Append(const std::string& base, size_t record_bytes, uint64_t total_bytes, int threads,
           const std::string& recycle, uint32_t ring) {
  slablog::WriterOptions o;
  o.sync = slablog::SyncPolicy::kManual;  // measure the append path, not the disk
  o.recycle = recycle;
  o.ring_slabs = ring;
  auto w = slablog::Writer::Open(base, o);
  if (!w) { std::fprintf(stderr, "%s\n", slablog::Describe(w.error()).c_str()); return 1; }
  std::vector<uint8_t> payload(record_bytes, 0x5a);
  if (ring != 0) {
    // A ring that has wrapped: filled once, and a slab more, before the timing starts.
    auto h = w.value()->OpenStream({"s0", slablog::Encoding::kBinary, 0});
    for (uint64_t i = 0; w.value()->slab_count() <= ring + 1; ++i) {
      if (!w.value()->Append(h.value(), payload, static_cast<int64_t>(i)).ok()) std::abort();
    }
  }
  const uint64_t per_thread = total_bytes / record_bytes / static_cast<uint64_t>(threads);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto h = w.value()->OpenStream({"s" + std::to_string(t), slablog::Encoding::kBinary, 0});
      for (uint64_t i = 0; i < per_thread; ++i) {
        if (!w.value()->Append(h.value(), payload, static_cast<int64_t>(i)).ok()) std::abort();
      }
    });
  }
  for (auto& t : pool) t.join();
  // Close is timed too: it finishes what the appends left to the prefaulter (unmapping slabs).
  if (!w.value()->Close().ok()) return 1;
  const double secs = Seconds(start);
  const double n = static_cast<double>(per_thread) * threads;
  std::printf("append_%zu rss_anon_kib %llu\n", record_bytes, static_cast<unsigned long long>(RssAnonKiB()));
  std::printf("append_%zu records_per_s %.0f\n", record_bytes, n / secs);
  std::printf("append_%zu bytes_per_s %.0f\n", record_bytes, n * static_cast<double>(record_bytes) / secs);
  return 0;
}

uint64_t WriteBytes() {
  FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char key[64];
  unsigned long long value = 0, found = 0;
  while (std::fscanf(f, "%63s %llu", key, &value) == 2) {
    if (std::strcmp(key, "write_bytes:") == 0) found = value;
  }
  std::fclose(f);
  return found;
}

// Appends that sync, as robot code does: `threads` threads, each its own stream of
// `record_bytes` records, for `seconds`; each thread calls Sync() after every `every_records` of
// its records, or (every_records 0) when 1 ms has passed since its last call. Concurrent calls
// share flushes (group commit). WriterOptions::sync_often, as --sync-every sets it.
int SyncedAppend(const std::string& base, size_t record_bytes, int threads, uint64_t every_records,
                 double seconds) {
  slablog::WriterOptions o;
  o.sync = slablog::SyncPolicy::kManual;
  o.sync_often = true;
  auto w = slablog::Writer::Open(base, o);
  if (!w) { std::fprintf(stderr, "%s\n", slablog::Describe(w.error()).c_str()); return 1; }
  std::vector<uint8_t> payload(record_bytes, 0x5a);
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> syncs{0};
  const uint64_t written_before = WriteBytes();
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto h = w.value()->OpenStream({"s" + std::to_string(t), slablog::Encoding::kBinary, 0});
      auto last_sync = std::chrono::steady_clock::now();
      uint64_t i = 0;
      for (;; ++i) {
        if (!w.value()->Append(h.value(), payload, static_cast<int64_t>(i)).ok()) std::abort();
        const auto now = std::chrono::steady_clock::now();
        const bool due = every_records != 0 ? (i + 1) % every_records == 0
                                            : now - last_sync >= std::chrono::milliseconds(1);
        if (due) {
          if (!w.value()->Sync().ok()) std::abort();
          ++syncs;
          last_sync = std::chrono::steady_clock::now();
          if (last_sync >= until) break;
        } else if (every_records == 0 && now >= until) {
          break;
        }
      }
      records += i + 1;
    });
  }
  for (auto& t : pool) t.join();
  if (!w.value()->Sync().ok()) return 1;
  const double secs = Seconds(start);
  const double written = static_cast<double>(WriteBytes() - written_before);
  if (!w.value()->Close().ok()) return 1;
  const double n = static_cast<double>(records.load());
  std::printf("synced records_per_s %.0f\n", n / secs);
  std::printf("synced syncs_per_s %.0f\n", static_cast<double>(syncs.load()) / secs);
  std::printf("synced written_per_appended %.2f\n", written / (n * static_cast<double>(record_bytes)));
  return 0;
}

// The physical anchor of a sync: 4 KiB written with pwrite and made durable with fdatasync, over
// and over, for `seconds`.
int Fdatasync4k(const std::string& path, double seconds) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  std::vector<uint8_t> page(4096, 0x33);
  const uint64_t written_before = WriteBytes();
  const auto start = std::chrono::steady_clock::now();
  uint64_t n = 0;
  while (Seconds(start) < seconds) {
    if (::pwrite(fd, page.data(), page.size(), static_cast<off_t>(n * page.size())) != 4096) return 1;
    if (::fdatasync(fd) != 0) return 1;
    ++n;
  }
  const double secs = Seconds(start);
  const double written = static_cast<double>(WriteBytes() - written_before);
  ::close(fd);
  std::printf("fdatasync4k syncs_per_s %.0f\n", static_cast<double>(n) / secs);
  std::printf("fdatasync4k written_per_appended %.2f\n", written / (static_cast<double>(n) * 4096));
  return 0;
}

int Memcpy(uint64_t total_bytes) {
  // Copies into fresh memory like the writer does into fresh pages of a slab.
  const size_t chunk = 64 << 10;
  std::vector<uint8_t> src(chunk, 1);
  const size_t region = 256 << 20;
  std::vector<uint8_t> dst(region);
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t done = 0; done < total_bytes; done += chunk) {
    std::memcpy(dst.data() + done % region, src.data(), chunk);
  }
  const double secs = Seconds(start);
  std::printf("memcpy bytes_per_s %.0f (check %d)\n", static_cast<double>(total_bytes) / secs, dst[12345]);
  return 0;
}

// A log as a writer killed mid-stream leaves it: 150-byte records in 4 streams, then _exit with
// every stream's section open and no end marker (for timing truncate).
int CrashLog(const std::string& base, uint64_t total_bytes) {
  slablog::WriterOptions o;
  o.sync = slablog::SyncPolicy::kManual;
  auto w = slablog::Writer::Open(base, o);
  if (!w) return 1;
  slablog::StreamHandle h[4];
  for (int i = 0; i < 4; ++i) h[i] = w.value()->OpenStream({"s" + std::to_string(i), slablog::Encoding::kBinary, 0}).value();
  std::vector<uint8_t> payload(150, 0x42);
  for (uint64_t done = 0, i = 0; done < total_bytes; done += 170, ++i) {
    if (!w.value()->Append(h[i % 4], payload, static_cast<int64_t>(i)).ok()) return 1;
  }
  std::fflush(stdout);
  _exit(0);  // no Close(): the sections stay open, as after a crash
}

// Writing fresh pages of a new memory-mapped file, made the way the writer makes slabs (blocks
// allocated first, 2 MiB folios): what any mmap writer pays before its first byte lands (the kernel makes and
// zeroes each page). The writer's own ceiling on this machine.
int Touch(const std::string& path, uint64_t total_bytes) {
  const size_t chunk = 64 << 10;
  std::vector<uint8_t> src(chunk, 1);
  const uint64_t slab = uint64_t{64} << 20;  // the writer's default slab size
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t done = 0, n = 0; done < total_bytes; done += slab, ++n) {
    const std::string file = path + "." + std::to_string(n);
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(slab)) != 0) return 1;
    (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(slab));
    auto* p = static_cast<uint8_t*>(mmap(nullptr, slab, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) return 1;
    madvise(p, slab, MADV_HUGEPAGE);  // as the writer asks for 2 MiB folios
    for (uint64_t off = 0; off < slab; off += 1 << 20) {
      madvise(p + off, 1 << 20, MADV_POPULATE_WRITE);
      for (uint64_t c = off; c < off + (1 << 20); c += chunk) std::memcpy(p + c, src.data(), chunk);
    }
    munmap(p, slab);
    ::close(fd);
  }
  std::printf("touch bytes_per_s %.0f\n", static_cast<double>(total_bytes) / Seconds(start));
  // Removed only now: a file removed at once would hand its pages to the next one, pages the
  // machine has at hand, while a log keeps all of its own and needs new ones throughout.
  for (uint64_t done = 0, n = 0; done < total_bytes; done += slab, ++n) {
    ::unlink((path + "." + std::to_string(n)).c_str());
  }
  return 0;
}

// Mapping the cached pages of some files into this process and out again, on one core, touching
// no byte: what any reader through a memory map pays before it looks at the data. On a page-cached
// log this kernel work is a floor under reading it with the library on one core.
int Map(const std::vector<std::string>& files) {
  uint64_t total_bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& file : files) {
    const int fd = ::open(file.c_str(), O_RDONLY);
    if (fd < 0) return 1;
    const off_t size = lseek(fd, 0, SEEK_END);
    void* p = size > 0 ? mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    ::close(fd);
    if (p == MAP_FAILED) return 1;
    const auto* bytes = static_cast<const volatile uint8_t*>(p);
    if (madvise(p, static_cast<size_t>(size), MADV_POPULATE_READ) != 0) {
      // A kernel without it (before 5.14): one read per page maps them all the same.
      for (off_t at = 0; at < size; at += 4096) (void)bytes[at];
    }
    munmap(p, static_cast<size_t>(size));
    total_bytes += static_cast<uint64_t>(size);
  }
  std::printf("map bytes_per_s %.0f\n", static_cast<double>(total_bytes) / Seconds(start));
  return 0;
}

int ReadAll(const std::string& path, bool single_thread) {
  slablog::ReaderOptions options;
  options.threads = single_thread ? 1 : 0;
  auto r = slablog::Reader::Open(path, options, nullptr);
  if (!r) { std::fprintf(stderr, "%s\n", slablog::Describe(r.error()).c_str()); return 1; }
  uint64_t records = 0, bytes = 0;
  slablog::Item item;
  const auto start = std::chrono::steady_clock::now();
  while (r.value()->Next(&item)) {
    if (item.kind == slablog::ItemKind::kRecord) {
      ++records;
      bytes += item.record.payload.size();
    }
  }
  const double secs = Seconds(start);
  std::printf("read rss_anon_kib %llu\n", static_cast<unsigned long long>(RssAnonKiB()));
  std::printf("read records %llu payload_bytes %llu seconds %.4f problems %llu\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(bytes), secs,
              static_cast<unsigned long long>(r.value()->summary().corruptions));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "append" && (argc == 6 || (argc == 8 && std::string(argv[6]) == "--recycle"))) {
    return Append(argv[2], std::stoull(argv[3]), std::stoull(argv[4]), std::stoi(argv[5]),
                  argc == 8 ? argv[7] : "", 0);
  }
  if (mode == "append" && argc == 8 && std::string(argv[6]) == "--ring") {
    return Append(argv[2], std::stoull(argv[3]), std::stoull(argv[4]), std::stoi(argv[5]), "",
                  static_cast<uint32_t>(std::stoul(argv[7])));
  }
  if (mode == "memcpy" && argc == 3) return Memcpy(std::stoull(argv[2]));
  if (mode == "synced" && argc == 7) {
    return SyncedAppend(argv[2], std::stoull(argv[3]), std::stoi(argv[4]), std::stoull(argv[5]),
                        std::stod(argv[6]));
  }
  if (mode == "fdatasync4k" && argc == 4) return Fdatasync4k(argv[2], std::stod(argv[3]));
  if (mode == "read" && argc == 3) return ReadAll(argv[2], false);
  if (mode == "read" && argc == 4 && std::string(argv[3]) == "--single-thread") return ReadAll(argv[2], true);
  if (mode == "touch" && argc == 4) return Touch(argv[2], std::stoull(argv[3]));
  if (mode == "map" && argc >= 3) return Map(std::vector<std::string>(argv + 2, argv + argc));
  if (mode == "crashlog" && argc == 4) return CrashLog(argv[2], std::stoull(argv[3]));
  if (mode == "copperlog" && argc == 5) {
    uint64_t lists = 0;
    const uint64_t lines = slablog::bench::WriteCopperLog(argv[2], std::stoull(argv[3]), std::stoull(argv[4]), &lists);
    std::printf("copperlog log_lines %llu copperlists %llu\n", static_cast<unsigned long long>(lines),
                static_cast<unsigned long long>(lists));
    return lines > 0 ? 0 : 1;
  }
  std::fprintf(stderr,
               "usage: slablog_bench append BASE RECORD_BYTES TOTAL_BYTES THREADS [--recycle OLD_BASE]\n"
               "       slablog_bench memcpy TOTAL_BYTES\n"
               "       slablog_bench read LOG [--single-thread]\n"
               "       slablog_bench touch PATH TOTAL_BYTES\n"
               "       slablog_bench map FILE...\n"
               "       slablog_bench crashlog BASE TOTAL_BYTES\n"
               "       slablog_bench copperlog BASE TOTAL_BYTES SLAB_BYTES\n");
  return 2;
}
