#include "slab_names.h"

#include <cstdio>

#include "slablog/format.h"

namespace slablog::cli {

Result<std::optional<SlabName>> SlabNameOf(const std::string& path) {
  auto base = BaseOfSlabPath(path);
  if (!base) return std::optional<SlabName>();
  auto listed = ListSlabFilesOrFail(*base);
  if (!listed) return listed.error();
  SlabName out;
  out.index = SlabIndexOfPath(path).value_or(0);
  for (auto& [index, file] : listed.value()) out.files.push_back(std::move(file));
  out.base = std::move(*base);
  return std::optional<SlabName>(std::move(out));
}

bool FileStartsWith(const std::string& path, std::string_view bytes) {
  std::string head(bytes.size(), '\0');
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  const size_t n = std::fread(head.data(), 1, head.size(), f);
  std::fclose(f);
  return n == head.size() && head == bytes;
}

bool StartsAsSlab(const std::string& path) {
  return FileStartsWith(path, std::string_view(reinterpret_cast<const char*>(kSlabMagic.data()), kSlabMagic.size()));
}

}  // namespace slablog::cli
