// What every subcommand shares for talking to the user: messages on stderr in the form
// "slablog COMMAND: message", exit codes for libcore errors, and human-readable sizes and times.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "slablog/status.h"

namespace slablog::cli {

// Prints "slablog COMMAND: message" on stderr, the message in red on a terminal (ColourOn).
void PrintError(std::string_view command, std::string_view message);

// Whether text for `fd` may carry colour: it is a terminal, TERM is not "dumb" and NO_COLOR
// (https://no-color.org) is unset or empty. Never into files or pipes.
bool ColourOn(int fd);
enum class Colour : uint8_t { kRed, kGreen };
// `text` in `colour` when ColourOn(fd), else unchanged.
std::string Coloured(int fd, Colour colour, std::string_view text);

template <typename... Args>
void Complain(std::string_view command, fmt::format_string<Args...> format, Args&&... args) {
  PrintError(command, fmt::format(format, std::forward<Args>(args)...));
}

// Prints the error and returns the exit code it maps to.
ExitCode Fail(std::string_view command, const Error& error);
ExitCode ExitCodeFor(Errc code);

// Formats to standard output without throwing: once a write fails (a closed pipe), the rest is
// dropped and StdoutClosed() turns true, so commands can stop early.
void WriteStdout(std::string_view text);
template <typename... Args>
void Print(fmt::format_string<Args...> format, Args&&... args) {
  fmt::memory_buffer buf;
  fmt::format_to(std::back_inserter(buf), format, std::forward<Args>(args)...);
  WriteStdout({buf.data(), buf.size()});
}

// Flushes stdout at exit: a write error becomes exit 3, a closed pipe (EPIPE) is not an error.
ExitCode FinishStdout(ExitCode rc);
// True once stdout has failed (a reader closed the pipe): commands stop producing output.
bool StdoutClosed();

std::string HumanBytes(uint64_t bytes);
// "T0 .. T1 (span)": wall-clock times when they look like ones (WallTime), else nanoseconds.
std::string TimeRangeText(int64_t first_t, int64_t last_t);
// `text` in exactly `width` columns (UTF-8 code points): padded with spaces, or cut with an
// ellipsis at its end.
std::string FitColumn(std::string_view text, size_t width);
// "LABEL text" word-wrapped to 100 columns, later lines indented under the text (for info).
std::string Wrapped(std::string_view label, std::string_view text);
// RFC 3339 UTC with nanoseconds when `ns` looks like a wall-clock time (1990 to 2200), else "".
std::string WallTime(int64_t ns);
// "ring: a flight recorder: N older slabs reused, M records cut at its start", then on lines of
// their own, "it holds T0 .. T1 (span)" and the same as wall-clock times: for info and verify.
// "compressed: N sections (zstd), X for Y of frames (R x smaller)", for info and verify.
std::string CompressedLine(uint64_t sections, uint64_t stored, uint64_t raw);
std::string RingLine(uint64_t slabs_reused, uint64_t partial_records, std::optional<int64_t> first_t,
                     std::optional<int64_t> last_t);

// A positive duration in nanoseconds: numbers with units, as in "90s", "5m", "1h30m", "250ms"
// (units ns, us, ms, s, m, h, d). False on anything else, zero, or overflow.
bool ParseDurationNs(std::string_view text, int64_t* out);

// True when `globs` is empty or `name` matches one of the shell globs in it.
bool MatchesAnyGlob(const std::vector<std::string>& globs, const std::string& name);

// "64K", "1M", "2G", "4096", "1MiB": powers of 1024. nullopt-like: returns false on bad input.
bool ParseSize(std::string_view text, uint64_t* out);

}  // namespace slablog::cli
