// verify and info of several logs in one call, as CI checks a fleet's logs: which logs the
// arguments name, how the reports are printed, and which exit code stands for all of them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"

namespace slablog::cli {

// The logs `args` name, each once, in the order first named: a slab file of a larger log
// (run_1.slog of run.slog) stands for that log, under its base name, so that the output of
// `find -name '*.slog'`, which lists every slab file, checks each log once. Anything else
// (a missing file, a directory, a file of joined slabs, a slab whose name is also another
// log's base name) is passed on as it was given.
std::vector<std::string> DistinctLogs(const std::vector<std::string>& args);

// The exit code for several logs: the highest of theirs (0 ok < 1 data problem < 2 usage <
// 3 I/O, such as a missing log < 4 internal < 130 interrupted).
ExitCode WorseExitCode(ExitCode a, ExitCode b);

// How the --json reports of verify and info are printed from here on. nullptr (the default):
// one log was named, and its report is the indented document it always was. Else the report of
// the log `*log` follows, as one line with "log" as its first key.
void SetJsonReportLog(const std::string* log);
// Prints `report` as set above.
void PrintJsonReport(const nlohmann::ordered_json& report);
// In one-line mode, the line for a log that could not be read at all: ok false and the message.
void PrintJsonReportError(const std::string& message);

}  // namespace slablog::cli
