// The commands' side of Copper logs: each read command asks slablog/log_format.h what it was
// given and, for a Copper log, runs the function here instead of its slablog path. Shared here:
// the --copperlist-type option and an entry as the JSON object export and follow print.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "slablog/copper.h"
#include "time_format.h"

namespace CLI {
class App;
}

namespace slablog::cli {

// --copperlist-type TYPE, for every command that reads or converts logs.
void AddCopperTypeOption(CLI::App* sub, std::string* text);
// The parsed type, nullopt when none was given; false (message printed) when it does not parse.
bool ParseCopperTypeOption(const char* command, const std::string& text, std::optional<copper::CopperType>* out);
// True when `log` names a Copper log.
bool IsCopperLog(const std::string& log);
// For the commands that change or rewrite slablog logs only (truncate, split, merge): true, with
// a message saying what to do instead, when `log` is a Copper log.
bool RefuseCopperLog(const char* command, const std::string& log);

// {"stream":"log","t":T,"seq":N,"data":{...}} for a split entry (t null when it has no time;
// "trailing_zeros_possible":true after data when it is set);
// for a section not split, {"stream":"copperlist","t":null,"slab":F,"offset":N,"bytes":B,
// "data":BASE64} and, when it was open at the crash, "trailing_zeros_possible":true.
void AppendCopperItemJson(std::string* out, const copper::Item& item, TimeFormat time_format = TimeFormat::kNs);

struct CopperExportOptions {
  std::vector<std::string> streams;
  int64_t since = 0, until = 0;
  bool time_filter = false;
  uint64_t limit = 0;
  bool array = false;
  bool sections = false;
  bool records = false;
  TimeFormat time_format = TimeFormat::kNs;
};

ExitCode CopperInfo(const std::string& log, bool json, const copper::CopperType* type, TimeFormat time_format);
ExitCode CopperVerify(const std::string& log, bool json, bool quiet, const copper::CopperType* type);
ExitCode CopperDump(const std::string& log, bool hex, bool sections_only, const std::vector<std::string>& streams,
                    const copper::CopperType* type, TimeFormat time_format);
ExitCode CopperExport(const std::string& log, const CopperExportOptions& opt, const copper::CopperType* type);
// recover and convert of a Copper log: written as a new slablog log at `out`.
ExitCode ConvertCopperLog(const char* command, const std::string& log, const std::string& out,
                          const WriterOptions& options, const std::string& copperlist_type);
ExitCode CopperFollow(const std::string& log, bool from_start, const std::vector<std::string>& streams,
                      int64_t interval_ms, const copper::CopperType* type, TimeFormat time_format);

}  // namespace slablog::cli
