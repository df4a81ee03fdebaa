// libFuzzer target: Truncate on a copy of a log (one file, or two slab files), dry run first.
// Checked on every input: a dry run writes nothing; a refusal writes nothing; truncate never
// grows a file; a repaired log keeps every record that could be read before, and a second run
// finds nothing to do.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_input.h"
#include "slablog/reader.h"
#include "slablog/recovery.h"

namespace {

using Files = std::map<std::string, std::string>;

Files Snapshot(const slablog::fuzz::FuzzLog& log) {
  Files out;
  for (const std::string& f : log.files()) {
    if (std::filesystem::exists(f)) out[f] = slablog::fuzz::ReadWhole(f);
  }
  return out;
}

// Every record the reader returns, as (stream, timestamp, payload), with repeats counted.
std::map<std::tuple<std::string, int64_t, std::string>, int> Records(const std::string& path) {
  std::map<std::tuple<std::string, int64_t, std::string>, int> out;
  slablog::ReaderOptions o;
  o.threads = 1;
  o.background_prefault = false;
  auto reader = slablog::Reader::Open(path, o, nullptr);
  if (!reader) return out;
  slablog::Item item;
  while (reader.value()->Next(&item)) {
    if (item.kind != slablog::ItemKind::kRecord) continue;
    const auto& r = item.record;
    ++out[{std::string(r.stream_name), r.timestamp,
           std::string(reinterpret_cast<const char*>(r.payload.data()), r.payload.size())}];
  }
  return out;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "truncate: %s\n", what);
  slablog::fuzz::RemoveFuzzDir();
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slablog::fuzz::FuzzLog log(data, size);
  if (!log.ok()) return 0;
  const Files before = Snapshot(log);
  slablog::TruncateOptions dry;
  dry.dry_run = true;
  auto planned = slablog::Truncate(log.path(), dry, nullptr);
  if (Snapshot(log) != before) Fail("a dry run changed the log");
  const auto records = Records(log.path());
  auto done = slablog::Truncate(log.path(), {}, nullptr);
  const Files after = Snapshot(log);
  if (planned.has_value() != done.has_value()) Fail("the dry run and the repair disagree");
  if (!done) {
    if (done.error().code == slablog::Errc::kCorruption && after != before) Fail("a refusal changed the log");
    return 0;
  }
  for (const auto& [path, bytes] : after) {
    if (bytes.size() > before.at(path).size()) Fail("a file grew");
  }
  const auto kept = Records(log.path());
  for (const auto& [record, count] : records) {
    auto it = kept.find(record);
    if (it == kept.end() || it->second < count) Fail("a record readable before the repair is gone");
  }
  auto again = slablog::Truncate(log.path(), {}, nullptr);
  if (!again) Fail("a second run fails after a repair");
  if (again->changed || Snapshot(log) != after) Fail("a second run changed the repaired log");
  return 0;
}
