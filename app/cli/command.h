// Sub-command registry of the `birkhoff` CLI and the helpers every sub-command shares:
// QCommandLineParser handling with usage errors (exit 2), error reporting (exit 1),
// Ctrl-C as cooperative cancellation (exit 130), and JSON output.
#pragma once

#include "core/util/progress.h"

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <vector>

namespace birkhoff::cli {

/// Exit codes of the CLI, documented in the README.
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,     ///< the operation failed: bad file, bad data, I/O error
    kExitUsage = 2,       ///< bad command line: unknown command or option, missing argument
    kExitInterrupted = 130,  ///< stopped by Ctrl-C / SIGINT
};

/// A sub-command: `run` receives the arguments starting with the program+command name
/// ("birkhoff inspect", then the command's own arguments) and returns an exit code.
struct Command {
    QString name;
    QString summary;
    std::function<int(const QStringList& args)> run;
};

/// All registered sub-commands, in name order.
const std::vector<Command>& commands();
/// nullptr if there is no such command.
const Command* findCommand(const QString& name);

/// Registers a sub-command at static-initialisation time (one per cmd_*.cpp).
struct CommandRegistrar {
    explicit CommandRegistrar(Command command);
};

/// Parses `args` with `parser` (which must already have its options and a help option).
/// Returns kExitOk when parsing succeeded and the command should run, kExitUsage after printing
/// the error and usage to stderr, or -1 after printing help to stdout (the caller returns 0).
int parseCommandLine(QCommandLineParser& parser, const QStringList& args);

/// Runs `body`, turning birkhoff::Error into "birkhoff <command>: error: ..." on stderr and exit
/// code 1, CancelledError into exit code 130, and any other exception into exit code 1.
int runGuarded(const QString& command, const std::function<int()>& body);

/// A cancel token that SIGINT (Ctrl-C) triggers while a command runs.
const CancelToken& interruptToken();

/// A Progress that prints "[ 42%] what" lines to stderr (at most a few per second) and polls
/// interruptToken(). Silent when `quiet`.
Progress consoleProgress(bool quiet);

/// Prints `value` as indented JSON to stdout followed by a newline.
void printJson(const nlohmann::json& value);

/// QString -> UTF-8 std::string.
std::string toStd(const QString& s);

/// Parses a comma-separated list of numbers ("1225,1600"); false if any item is not a number.
bool parseNumberList(const QString& text, std::vector<double>& out);

}  // namespace birkhoff::cli
