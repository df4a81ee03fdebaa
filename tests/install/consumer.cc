// Writes a log with the installed library and reads it back; exit 0 only if all came back.
#include <slablog/reader.h>
#include <slablog/writer.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string base = argv[1];
  auto w = slablog::Writer::Open(base, {});
  if (!w) return std::fprintf(stderr, "%s\n", slablog::Describe(w.error()).c_str()), 1;
  auto s = w.value()->OpenStream({"odometry", slablog::Encoding::kText, 0});
  for (int i = 0; i < 1000; ++i) {
    if (!w.value()->Append(s.value(), "tick " + std::to_string(i), i).ok()) return 1;
  }
  if (!w.value()->Close().ok()) return 1;
  auto r = slablog::Reader::Open(base, {}, nullptr);
  if (!r) return 1;
  int records = 0;
  slablog::Item item;
  while (r.value()->Next(&item)) records += item.kind == slablog::ItemKind::kRecord;
  std::printf("consumer: %d records read back, clean=%d\n", records, r.value()->summary().clean);
  return records == 1000 && r.value()->summary().clean ? 0 : 1;
}
