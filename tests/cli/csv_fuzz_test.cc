// export --format csv without --fields, differentially: random logs (fields that keep coming in
// every stream, shapes that change, cells with commas, quotes and line ends, text and binary
// streams, names that are not UTF-8, records that are not valid JSON, damage) exported with the
// rows held in memory, in a file, partly in each, or not at all (two passes), and with --fields
// naming the header's columns, under random filters. Every way must give the same bytes, exit
// code and complaints. SLABLOG_TEST_SEED picks the logs, SLABLOG_TEST_SCALE how many.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "../testutil.h"
#include "process.h"
#include "slablog/writer.h"

namespace slablog::test {
namespace {

using Rng = std::mt19937_64;

size_t Below(Rng& rng, size_t n) { return static_cast<size_t>(rng() % n); }
bool OneIn(Rng& rng, size_t n) { return Below(rng, n) == 0; }

// A JSON string's text (quotes included) that unescapes to a cell with commas, quotes, CR, LF,
// backslashes, escapes and non-ASCII characters, or plain text.
std::string RandomJsonString(Rng& rng) {
  static const char* const kPieces[] = {"a", "bc", "x y", ",", "\\\"", "\\n", "\\r", "\\\\", "\\u00e9", "\xc3\xa9",
                                        "\\ud83d\\ude00", "\\t", "\\/", "1", "\"\"" /* replaced below */};
  std::string s = "\"";
  const size_t n = Below(rng, 6);
  for (size_t i = 0; i < n; ++i) {
    std::string piece = kPieces[Below(rng, std::size(kPieces))];
    if (piece == "\"\"") piece = "\\\"\\\"";
    s += piece;
  }
  return s + "\"";
}

std::string RandomScalar(Rng& rng) {
  switch (Below(rng, 9)) {
    case 0: return std::to_string(static_cast<int64_t>(rng()));
    case 1: return std::to_string(Below(rng, 1000));
    case 2: return "-0.5e-3";
    case 3: return "true";
    case 4: return "false";
    case 5: return "null";
    case 6: return "123456789012345678901234567890";
    default: return RandomJsonString(rng);
  }
}

// Keys: a few per stream era (so new columns keep appearing), and some that need quoting in a
// CSV header or that look like paths.
std::string RandomKey(Rng& rng, size_t era) {
  static const char* const kOdd[] = {"a,b", "q\\\"q", "n\\nl", "x.y", "", "\\u00e9", "sp ace", "c\\rr"};
  if (OneIn(rng, 25)) return std::string("\"") + kOdd[Below(rng, std::size(kOdd))] + "\"";
  return "\"k" + std::to_string(Below(rng, 3 + 2 * era)) + "\"";
}

std::string RandomValue(Rng& rng, size_t era, int depth);

std::string RandomObject(Rng& rng, size_t era, int depth) {
  if (OneIn(rng, 12)) return "{}";
  std::string s = "{";
  const size_t n = 1 + Below(rng, 4);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += OneIn(rng, 8) ? " , " : ",";
    s += RandomKey(rng, era) + ":" + RandomValue(rng, era, depth + 1);
  }
  return s + "}";
}

std::string RandomValue(Rng& rng, size_t era, int depth) {
  const size_t pick = Below(rng, depth >= 3 ? 8 : 11);
  if (pick < 8) return RandomScalar(rng);
  if (pick < 10) return RandomObject(rng, era, depth);
  std::string a = "[";
  const size_t n = Below(rng, 3);
  for (size_t i = 0; i < n; ++i) a += (i > 0 ? "," : "") + RandomValue(rng, era, depth + 1);
  return a + "]";
}

// A stream's usual record: a fixed layout whose values change, so most records are rows of the
// shape before them (JsonFlattener::AppendShapedRow); a new layout now and then.
struct Layout {
  std::vector<std::string> keys;
  std::vector<int> kinds;  // 0 number, 1 string, 2 word, 3 array, 4 object
};

Layout RandomLayout(Rng& rng, size_t era) {
  Layout l;
  const size_t n = 1 + Below(rng, 6);
  for (size_t i = 0; i < n; ++i) {
    l.keys.push_back(RandomKey(rng, era));
    l.kinds.push_back(static_cast<int>(Below(rng, 5)));
  }
  return l;
}

// `pad` bytes of text in a field of its own: batches end at 1 MiB of records, so longer records
// make more batches, handed out while columns are still being found.
std::string RecordOf(Rng& rng, const Layout& l, size_t pad) {
  std::string s = "{";
  for (size_t i = 0; i < l.keys.size(); ++i) {
    if (i > 0) s += ",";
    s += l.keys[i] + ":";
    switch (l.kinds[i]) {
      case 0: s += std::to_string(Below(rng, 100000)); break;
      case 1: s += OneIn(rng, 4) ? RandomJsonString(rng) : "\"v" + std::to_string(Below(rng, 50)) + "\""; break;
      case 2: s += OneIn(rng, 2) ? "true" : "null"; break;
      case 3: s += "[" + std::to_string(Below(rng, 9)) + ",\"a,b\"]"; break;
      default: s += "{\"in\":" + std::to_string(Below(rng, 9)) + "}"; break;
    }
  }
  if (pad > 0) s += ",\"pad\":\"" + std::string(pad, 'p') + "\"";
  return s + "}";
}

std::string RandomInvalid(Rng& rng) {
  static const char* const kBad[] = {"{\"a\":01}", "{\"a\":1,}", "[1,]", "{\"a\":", "{\"k0\":1} x", "nul", "{\"a\":\"\x01\"}",
                                     "{\"a\":\"\xff\"}"};
  return kBad[Below(rng, std::size(kBad))];
}

std::string RandomText(Rng& rng) {
  static const char* const kPieces[] = {"text", ",", "\"", "\r", "\n", "\xff", "\xc3\xa9", " ", "\r\n"};
  std::string s;
  const size_t n = Below(rng, 6);
  for (size_t i = 0; i < n; ++i) s += kPieces[Below(rng, std::size(kPieces))];
  return s;
}

struct StreamSpec {
  std::string name;
  Encoding encoding;
  Layout layout;
};

std::string RandomStreamName(Rng& rng, size_t i) {
  static const char* const kOdd[] = {"a,b", "q\"q", "n\nl", "\xff\xfe", "sp ace", "c\rr"};
  if (OneIn(rng, 4)) return kOdd[Below(rng, std::size(kOdd))] + std::to_string(i);
  return "s" + std::to_string(i);
}

// Writes a random log to `path`: its records' timestamps are 0, 10, 20, ...
void WriteRandomLog(const std::string& path, Rng& rng, size_t records) {
  WriterOptions options;
  options.slab_size = uint64_t{4} << 20;
  auto w = Writer::Open(path, options);
  REQUIRE(w);
  std::vector<StreamSpec> specs;
  std::vector<StreamHandle> handles;
  const size_t streams = 1 + Below(rng, 5);
  for (size_t i = 0; i < streams; ++i) {
    StreamSpec spec;
    spec.name = RandomStreamName(rng, i);
    const size_t enc = Below(rng, 6);
    spec.encoding = enc == 0 ? Encoding::kText : enc == 1 ? Encoding::kBinary : Encoding::kJson;
    spec.layout = RandomLayout(rng, 0);
    auto h = w.value()->OpenStream({spec.name, spec.encoding, 0});
    REQUIRE(h);
    specs.push_back(spec);
    handles.push_back(h.value());
  }
  // How often layouts change and new keys appear: rarely in some logs, often in others.
  const size_t era_length = 200 + Below(rng, 5000);
  const size_t pad = OneIn(rng, 3) ? 0 : Below(rng, 1500);
  // Records of no layout (new paths in most batches) in some logs; in others every batch but
  // the first few meets only fields found before, as most logs' batches do.
  const size_t shapeless_in_400 = OneIn(rng, 2) ? 0 : 1 + Below(rng, 40);
  const size_t change_one_in = 50 + Below(rng, 5000);
  size_t s = 0;
  for (size_t i = 0; i < records; ++i) {
    if (OneIn(rng, 20)) s = Below(rng, streams);  // runs of one stream
    const size_t era = i / era_length;
    StreamSpec& spec = specs[s];
    std::string payload;
    if (spec.encoding == Encoding::kText) {
      payload = RandomText(rng);
    } else if (spec.encoding == Encoding::kBinary) {
      payload = RandomText(rng) + std::string(1, static_cast<char>(rng()));
    } else {
      if (OneIn(rng, change_one_in)) spec.layout = RandomLayout(rng, era);
      const size_t kind = Below(rng, 400);
      if (kind == 0) {
        payload = RandomInvalid(rng);
      } else if (kind == 1) {
        payload = RandomScalar(rng);
      } else if (kind == 2) {
        payload = "";
      } else if (kind < 3 + shapeless_in_400) {
        payload = RandomObject(rng, era, 0);
      } else {
        payload = RecordOf(rng, spec.layout, pad);
      }
    }
    if (OneIn(rng, 3000)) payload = "{\"big\":\"" + std::string(100000 + Below(rng, 300000), 'x') + "\"}";
    REQUIRE(w.value()->Append(handles[s], payload, static_cast<int64_t>(10 * i)).ok());
  }
  REQUIRE(w.value()->Close().ok());
}

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// The header's column names (RFC 4180, as the export quotes them).
std::vector<std::string> HeaderNames(const std::string& csv) {
  std::vector<std::string> names(1);
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') {
        names.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        names.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      names.emplace_back();
    } else if (c == '\n') {
      return names;
    } else {
      names.back() += c;
    }
  }
  return {};
}

std::string RandomFilter(Rng& rng, size_t records) {
  switch (Below(rng, 7)) {
    case 0: return "-n " + std::to_string(1 + Below(rng, records));
    case 1: return "-s 's1*'";
    case 2: return "--since " + std::to_string(10 * Below(rng, records)) + " --until " +
                   std::to_string(10 * Below(rng, records) + 50000);
    case 3: {
      static const char* const kFormats[] = {"ns-string", "rfc3339", "s"};
      return std::string("--time-format ") + kFormats[Below(rng, std::size(kFormats))];
    }
    default: return "";
  }
}

}  // namespace

TEST_CASE("CsvExportOfRandomLogsIsTheSameHeldOrReadTwice") {
  const uint64_t seed = TestSeed();
  const size_t logs = 3 * TestScale();
  for (size_t n = 0; n < logs; ++n) {
    Rng rng(seed * 1000 + n);
    TempDir dir;
    const size_t records = 2000 + Below(rng, 30000);
    WriteRandomLog(dir.path("f.slog"), rng, records);
    if (OneIn(rng, 3)) FlipBit(dir.path("f_0.slog"), 4096 + Below(rng, 200000), static_cast<int>(Below(rng, 8)));
    const std::string filter = RandomFilter(rng, records);
    INFO("log ", n, " of seed ", seed, ", ", records, " records, filter: ", filter);
    auto run = [&](const std::string& env, const std::string& more) {
      return RunShell(env + " slablog export --format csv " + filter + " " + more + " f.slog", dir.dir());
    };
    const RunResult twice = run("SLABLOG_CSV_MEMORY=0 TMPDIR=" + dir.path("none"), "");
    const RunResult memory = run("", "");
    const RunResult file = run("SLABLOG_CSV_MEMORY=0", "");
    const RunResult both = run("SLABLOG_CSV_MEMORY=" + std::to_string(1 + Below(rng, 3000000)), "");
    // A spool that cannot grow past a file size limit somewhere in the rows: two passes take
    // over part-way, each problem reported once.
    const RunResult cut = RunShell("(ulimit -f " + std::to_string(1 + Below(rng, twice.out.size() / 1024 + 1)) +
                                       "; SLABLOG_CSV_MEMORY=0 exec slablog export --format csv " + filter +
                                       " f.slog) | cat; exit ${PIPESTATUS[0]}",
                                   dir.dir());
    for (const RunResult* once : {&memory, &file, &both, &cut}) {
      CHECK(once->exit_code == twice.exit_code);
      CHECK(once->out == twice.out);
      CHECK(once->err == twice.err);
    }
    // The header's columns named: each row is written as it is made, in fixed columns (a name
    // with a comma cannot be named, nor one with a NUL, nor the empty key's "data.").
    const std::vector<std::string> names = HeaderNames(twice.out);
    bool nameable = !names.empty();
    std::string fields;
    for (const std::string& name : names) {
      nameable = nameable && name.find(',') == std::string::npos && name.find('\0') == std::string::npos &&
                 name != "data.";
      fields += (fields.empty() ? "" : ",") + name;
    }
    if (nameable && twice.exit_code != 2) {
      const RunResult named = run("", "--fields " + ShellQuote(fields));
      CHECK(named.exit_code == twice.exit_code);
      CHECK(named.out == twice.out);
      CHECK(named.err == twice.err);
    }
  }
}

}  // namespace slablog::test
