// Runs the built `birkhoff` / `birkhoff-studio` executables from tests ($BIRKHOFF_CLI and
// $BIRKHOFF_STUDIO are set by CTest) and captures their exit code and output.
#pragma once

#include <QString>
#include <QStringList>

namespace birkhoff::test {

struct ProcessResult {
    int exitCode = -1;
    bool crashed = false;
    QString out;
    QString err;
};

/// Runs the CLI with `args`; waits up to `timeoutMs`.
ProcessResult runCli(const QStringList& args, int timeoutMs = 120000);
/// Runs the studio executable with `args`.
ProcessResult runStudio(const QStringList& args, int timeoutMs = 120000);

}  // namespace birkhoff::test
