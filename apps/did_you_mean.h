// "did you mean 'verify'?" for a mistyped subcommand or option. Hand-written: CLI11 2.1 (Debian's)
// has no suggestions, and the Debian archive has no small library for an edit distance.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace slablog::cli {

// The candidate closest to `typed` by edit distance (insertions, deletions, substitutions and
// swaps of two neighbouring characters), if it is close enough to be a typo: at most 2 edits, and
// fewer than half of `typed`'s characters. Empty when none is.
std::string ClosestMatch(std::string_view typed, const std::vector<std::string>& candidates);

// After a failed parse: "unknown command 'verfy'; did you mean 'verify'?" or "unknown option
// '--stram'; did you mean '--stream'?" (the options of the subcommand given). Empty when nothing
// given looks like a typo of something that exists.
std::string DidYouMean(const CLI::App& app, int argc, char** argv);

// The number of such edits that turn `a` into `b` (optimal string alignment distance).
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace slablog::cli
