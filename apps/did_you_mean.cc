#include "did_you_mean.h"

#include <algorithm>

namespace slablog::cli {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic-programming table: the swap of two neighbours looks two rows back.
  std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return prev[b.size()];
}

std::string ClosestMatch(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;  // more than 2 edits is not a typo
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(typed, c);
    if (d < best_distance && 2 * d < typed.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string DidYouMean(const CLI::App& app, int argc, char** argv) {
  const auto chosen = app.get_subcommands();
  if (chosen.empty()) {
    if (argc < 2 || argv[1][0] == '-') return "";
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
    const std::string match = ClosestMatch(argv[1], commands);
    if (match.empty()) return "";
    return std::string("unknown command '") + argv[1] + "'; did you mean '" + match + "'?";
  }
  std::vector<std::string> options;
  for (const CLI::Option* o : chosen.back()->get_options()) {
    for (const std::string& n : o->get_lnames()) options.push_back("--" + n);
    for (const std::string& n : o->get_snames()) options.push_back("-" + n);
  }
  for (const std::string& arg : chosen.back()->remaining()) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::string typed = arg.substr(0, arg.find('='));  // --stram=imu
    const std::string match = ClosestMatch(typed, options);
    if (!match.empty()) return "unknown option '" + typed + "'; did you mean '" + match + "'?";
  }
  return "";
}

}  // namespace slablog::cli
