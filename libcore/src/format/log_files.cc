#include "log_files.h"

#include "slablog/format.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "../io/io_faults.h"

namespace slablog {
namespace {

struct NameParts {
  std::string dir;   // with trailing '/', or empty
  std::string stem;  // file name before the extension
  std::string ext;   // ".slog", or empty
};

NameParts Split(std::string_view path) {
  const size_t slash = path.rfind('/');
  const size_t name_start = slash == std::string_view::npos ? 0 : slash + 1;
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || dot <= name_start) dot = path.size();
  return {std::string(path.substr(0, name_start)), std::string(path.substr(name_start, dot - name_start)),
          std::string(path.substr(dot))};
}

std::optional<uint32_t> ParseIndex(std::string_view digits) {
  // A slab's number is written without leading zeros: run_01.slog is no slab of run.slog.
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

LogFiles NamedSlabs(const std::string& base, std::vector<std::pair<uint32_t, std::string>> slabs) {
  LogFiles files{{}, 0u, base, 0, {}};
  for (auto& s : slabs) {
    files.paths.push_back(std::move(s.second));
    files.indexes.push_back(s.first);
  }
  // Not paths.size(): with a slab missing in the middle the two differ.
  if (!slabs.empty()) files.next_index = slabs.back().first + 1;
  return files;
}

// How a directory's listing ended: `error` is 0, or the errno that stopped it, when opening it
// (`opened` false) or part-way.
struct Listing {
  int error = 0;
  bool opened = false;
  // Whether what was listed may not be all there is. A directory that is not there (ENOENT), or
  // is a file (ENOTDIR), holds no slab. Any other that cannot be opened may: one this user may
  // write but not read (-wx, EACCES) holds slabs it cannot list, and a name checked there, or a
  // log named by a slab there, would be a guess (slablog.5).
  bool failed() const { return error != 0 && (opened || (error != ENOENT && error != ENOTDIR)); }
};

// Calls `on_name` with the name of each entry of `p`'s directory, until it returns false.
// opendir and readdir rather than std::filesystem: its iterator reads the first entries when it
// opens the directory, so a failed read there cannot be told from a directory that cannot be
// opened. A test can make either fail (io_faults kListDirectory: at the open, then each step).
template <typename OnName>
Listing ListDirectory(const NameParts& p, OnName on_name) {
  Listing l;
  const std::string dir = p.dir.empty() ? "." : p.dir;
  if ((l.error = io_faults::Injected(io_faults::Op::kListDirectory, dir.c_str())) != 0) return l;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    l.error = errno;
    return l;
  }
  l.opened = true;
  for (;;) {
    if ((l.error = io_faults::Injected(io_faults::Op::kListDirectory, dir.c_str())) != 0) break;
    errno = 0;
    const dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      l.error = errno;  // 0 at the end of the directory
      break;
    }
    if (!on_name(std::string(entry->d_name))) break;
  }
  ::closedir(d);
  return l;
}

Error CannotList(const NameParts& p, const Listing& l) {
  std::string shown = p.dir.empty() ? "." : p.dir;
  if (shown.size() > 1) shown.pop_back();  // its slash
  // (-wx: the way out is the directory's permission, which the message alone would not say.)
  const char* why = l.error == EACCES ? "; slablog lists a log's directory to find its slabs, so this user needs "
                                        "read permission on it"
                                      : "";
  return Error{Errc::kIo, shown, 0,
               std::string(l.opened ? "cannot read the directory: " : "cannot open the directory: ") +
                   std::strerror(l.error) + why};
}

// The slab files of `base` the listing of its directory finds, in index order, into `out`.
Listing ListSlabs(std::string_view base, std::vector<std::pair<uint32_t, std::string>>* out) {
  const NameParts p = Split(base);
  const std::string prefix = p.stem + "_";
  const Listing l = ListDirectory(p, [&](const std::string& name) {
    if (name.size() <= prefix.size() + p.ext.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - p.ext.size(), p.ext.size(), p.ext) != 0) {
      return true;
    }
    const auto index = ParseIndex(
        std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - p.ext.size()));
    if (index) out->emplace_back(*index, p.dir + name);
    return true;
  });
  std::sort(out->begin(), out->end());
  return l;
}

}  // namespace

std::optional<std::string> BaseOfSlabPath(std::string_view path) {
  const NameParts p = Split(path);
  const size_t underscore = p.stem.rfind('_');
  if (underscore == std::string::npos || underscore == 0) return std::nullopt;
  if (!ParseIndex(std::string_view(p.stem).substr(underscore + 1))) return std::nullopt;
  return p.dir + p.stem.substr(0, underscore) + p.ext;
}

std::optional<uint32_t> SlabIndexOfPath(std::string_view path) {
  const NameParts p = Split(path);
  const size_t underscore = p.stem.rfind('_');
  if (underscore == std::string::npos || underscore == 0) return std::nullopt;
  return ParseIndex(std::string_view(p.stem).substr(underscore + 1));
}

std::vector<std::pair<uint32_t, std::string>> ListSlabFiles(std::string_view base) {
  std::vector<std::pair<uint32_t, std::string>> listed;
  ListSlabs(base, &listed);  // (what was listed before a failure is kept: FillListingGaps)
  return FillListingGaps(base, std::move(listed));
}

Result<std::vector<std::pair<uint32_t, std::string>>> ListSlabFilesOrFail(std::string_view base) {
  std::vector<std::pair<uint32_t, std::string>> listed;
  if (const Listing l = ListSlabs(base, &listed); l.failed()) return CannotList(Split(base), l);
  return FillListingGaps(base, std::move(listed));
}

Result<std::optional<std::string>> FindLogNamedLikeASlab(std::string_view base, uint32_t from) {
  const NameParts p = Split(base);
  const std::string prefix = p.stem + "_";
  std::optional<std::string> found;
  const Listing l = ListDirectory(p, [&](const std::string& name) {
    if (name.compare(0, prefix.size(), prefix) != 0) return true;
    // STEM_N_M.EXT: a slab of the log STEM_N.EXT, which is slab N of `base`.
    const std::string path = p.dir + name;
    const auto log = BaseOfSlabPath(path);
    if (!log || !SlabIndexOfPath(path) || BaseOfSlabPath(*log) != std::string(base)) return true;
    if (SlabIndexOfPath(*log).value_or(0) >= from) found = path;
    return !found;
  });
  if (found) return found;
  // What the listing did not reach may hold such a log.
  if (l.failed()) return CannotList(p, l);
  return std::optional<std::string>();
}

std::vector<std::pair<uint32_t, std::string>> FillListingGaps(std::string_view base,
                                                              std::vector<std::pair<uint32_t, std::string>> listed) {
  // A directory listed while a writer adds slabs may miss any number of the entries made during
  // the scan: readdir need not return them, and ext4 returns entries in hash order, so a slab made
  // late can be listed while a hundred made before it are not. Every gap is looked at again, slab
  // by slab, from both of its ends, each up to kMisses absent in a row (a run that long is taken
  // as a real gap: slabs deleted or never made, which the reader reports), and past the end until
  // a slab is absent.
  constexpr uint32_t kMisses = 64;
  std::vector<std::pair<uint32_t, std::string>> filled;
  struct stat st {};
  const auto exists = [&](uint32_t index) { return ::stat(SlabPath(base, index).c_str(), &st) == 0; };
  uint32_t expect = 0;
  for (auto& entry : listed) {
    uint32_t misses = 0;
    for (; expect < entry.first && misses < kMisses; ++expect) {
      if (exists(expect)) {
        filled.emplace_back(expect, SlabPath(base, expect));
        misses = 0;
      } else {
        ++misses;
      }
    }
    // From the gap's far end down, as far as the search from its near end did not reach.
    const size_t from_near_end = filled.size();
    misses = 0;
    for (uint32_t index = entry.first; index > expect && misses < kMisses; --index) {
      if (exists(index - 1)) {
        filled.emplace_back(index - 1, SlabPath(base, index - 1));
        misses = 0;
      } else {
        ++misses;
      }
    }
    std::reverse(filled.begin() + static_cast<std::ptrdiff_t>(from_near_end), filled.end());
    filled.push_back(std::move(entry));
    expect = filled.back().first + 1;
  }
  if (!filled.empty()) {
    for (;; ++expect) {
      std::string path = SlabPath(base, expect);
      if (::stat(path.c_str(), &st) != 0) break;
      filled.emplace_back(expect, std::move(path));
    }
  }
  return filled;
}

void StartAtSlab(LogFiles* files, uint32_t first) {
  if (files->base.empty() || files->indexes.empty() || first == 0) return;
  size_t keep = 0;
  while (keep + 1 < files->indexes.size() && files->indexes[keep] < first) ++keep;
  const auto from = static_cast<std::ptrdiff_t>(keep);
  files->paths.erase(files->paths.begin(), files->paths.begin() + from);
  files->indexes.erase(files->indexes.begin(), files->indexes.begin() + from);
  // Expected from `first` on: a slab missing there is reported (it may hold what the caller came
  // back for), unless the log's last slab is before it.
  files->first_index = std::min(first, files->indexes.front());
}

Result<LogFiles> ResolveLogFiles(std::string_view path, bool single_file) {
  const std::string p(path);
  struct stat st {};
  const bool exists = ::stat(p.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    return Error{Errc::kInvalidArgument, p, 0, "is a directory, not a log"};
  }
  if (exists && single_file) return LogFiles{{p}, std::nullopt, "", 0, {}};
  if (exists) {
    // A file that is also the base name of slab files names two logs: refused rather than one
    // picked (robot_1.slog, a slab of robot.slog, beside the log robot_1_0.slog, ...).
    auto listed_own = ListSlabFilesOrFail(p);
    if (!listed_own) return listed_own.error();
    const auto& own = listed_own.value();
    // A slab of a larger log opens the whole log, provided the file is one of its slabs.
    std::optional<LogFiles> larger;
    if (auto base = BaseOfSlabPath(p)) {
      auto listed = ListSlabFilesOrFail(*base);
      if (!listed) return listed.error();
      auto& slabs = listed.value();
      const bool member = std::any_of(slabs.begin(), slabs.end(), [&](const auto& s) {
        return s.second == p;
      });
      if (member) larger = NamedSlabs(*base, std::move(slabs));
    }
    if (!own.empty()) {
      const std::string file = larger ? "slab " + std::to_string(SlabIndexOfPath(p).value_or(0)) + " of the log " +
                                            larger->base
                                      : "the file " + p;
      return Error{Errc::kInvalidArgument, p, 0,
                   "names two logs, " + file + " and the log of the slab files " + own.front().second +
                       ", ...: refused rather than one picked; rename one of them"};
    }
    if (larger) return std::move(*larger);
    return LogFiles{{p}, std::nullopt, "", 0, {}};
  }
  auto listed = ListSlabFilesOrFail(p);
  if (!listed) return listed.error();
  auto& slabs = listed.value();
  if (slabs.empty()) {
    return Error{Errc::kNotFound, p, 0,
                 "no such log: neither the file nor its slabs (" + SlabPath(p, 0) + ", ...) exist"};
  }
  return NamedSlabs(p, std::move(slabs));
}

}  // namespace slablog
