// slablog: one program, one subcommand per file (cmd_*.cc). This file only wires them up and turns
// what escapes them into exit codes.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "did_you_mean.h"
#include "output.h"
#include "problems.h"

int main(int argc, char** argv) {
  using slablog::cli::ExitCode;
  // A closed pipe is reported as EPIPE and handled by the output layer (quietly), not by a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"slablog: append-only, crash-safe, CRC-framed binary logs.\n"
               "Exit codes: 0 ok, 1 data problem, 2 usage, 3 I/O error, 4 internal error,\n"
               "130 interrupted (split, merge: nothing was written).",
               "slablog"};
  app.set_version_flag("--version", std::string("slablog ") + SLABLOG_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  ExitCode rc = ExitCode::kOk;
  slablog::cli::RegisterWrite(app, &rc);
  slablog::cli::RegisterDump(app, &rc);
  slablog::cli::RegisterInfo(app, &rc);
  slablog::cli::RegisterVerify(app, &rc);
  slablog::cli::RegisterTruncate(app, &rc);
  slablog::cli::RegisterRecover(app, &rc);
  slablog::cli::RegisterExport(app, &rc);
  slablog::cli::RegisterSplit(app, &rc);
  slablog::cli::RegisterMerge(app, &rc);
  slablog::cli::RegisterFollow(app, &rc);
  slablog::cli::RegisterConvert(app, &rc);
  slablog::cli::RegisterCompress(app, &rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // In the form of every other message, naming the subcommand: "slablog verify: log is required".
    const std::vector<CLI::App*> chosen = app.get_subcommands();
    const std::string who = chosen.empty() ? "slablog" : "slablog " + chosen.back()->get_name();
    std::string what = slablog::cli::DidYouMean(app, argc, argv);  // a likely typo, and what was meant
    if (what.empty() && chosen.empty() && argc > 1 && argv[1][0] != '-') {
      what = std::string("unknown command '") + argv[1] + "'; the commands are";
      for (const CLI::App* sub : app.get_subcommands({})) what += " " + sub->get_name();
    } else if (what.empty()) {
      what = e.what();
    }
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for more information.\n", who.c_str(), what.c_str(),
                 who.c_str());
    return static_cast<int>(ExitCode::kUsage);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "slablog: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
  // A file that shrank or could not be read under a command is an I/O error, whatever was found.
  if (slablog::cli::IoErrorMet() && (rc == ExitCode::kOk || rc == ExitCode::kDataProblem)) rc = ExitCode::kIo;
  return static_cast<int>(slablog::cli::FinishStdout(rc));
}
