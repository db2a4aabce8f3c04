// Runs the built executables from tests.
#include "tests/app/cli_runner.h"

#include <QProcess>

namespace birkhoff::test {

namespace {

ProcessResult runProgram(const char* envVar, const QStringList& args, int timeoutMs)
{
    ProcessResult r;
    const QString program = qEnvironmentVariable(envVar);
    if (program.isEmpty()) {
        r.err = QStringLiteral("$%1 is not set (run the test through CTest)").arg(QLatin1String(envVar));
        return r;
    }
    QProcess p;
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.exitCode = p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

}  // namespace

ProcessResult runCli(const QStringList& args, int timeoutMs)
{
    return runProgram("BIRKHOFF_CLI", args, timeoutMs);
}

ProcessResult runStudio(const QStringList& args, int timeoutMs)
{
    return runProgram("BIRKHOFF_STUDIO", args, timeoutMs);
}

}  // namespace birkhoff::test
