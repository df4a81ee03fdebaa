// The subcommands of slablog, registered in one fixed list (main.cc): man pages and completions
// follow that list. Each Register* adds its subcommand and stores the command's exit code in *rc.
#pragma once

namespace CLI {
class App;
}

namespace slablog::cli {

// Exit codes, documented in man/slablog.1.
// kInterrupted: SIGINT or SIGTERM stopped a command before its output was complete.
enum class ExitCode : int { kOk = 0, kDataProblem = 1, kUsage = 2, kIo = 3, kInternal = 4, kInterrupted = 130 };

void RegisterWrite(CLI::App& app, ExitCode* rc);
void RegisterDump(CLI::App& app, ExitCode* rc);
void RegisterInfo(CLI::App& app, ExitCode* rc);
void RegisterVerify(CLI::App& app, ExitCode* rc);
void RegisterTruncate(CLI::App& app, ExitCode* rc);
void RegisterRecover(CLI::App& app, ExitCode* rc);
void RegisterExport(CLI::App& app, ExitCode* rc);
void RegisterSplit(CLI::App& app, ExitCode* rc);
void RegisterMerge(CLI::App& app, ExitCode* rc);
void RegisterFollow(CLI::App& app, ExitCode* rc);
void RegisterConvert(CLI::App& app, ExitCode* rc);
void RegisterCompress(CLI::App& app, ExitCode* rc);

}  // namespace slablog::cli
