// `birkhoff`: the command-line face of Birkhoff Studio. Dispatches to sub-commands
// (cli/cmd_*.cpp); global options: --help, --version, --verbose, --threads N.
#include "cli/command.h"

#include "core/util/runtime.h"

#include <QCoreApplication>

#include <cstdio>

namespace {

using namespace birkhoff::cli;

void printUsage(FILE* to)
{
    std::fprintf(to,
                 "Usage: birkhoff [--verbose] [--threads N] <command> [options]\n"
                 "       birkhoff --help | --version | help <command>\n\n"
                 "Data-free compression of Segment Anything Models (Birkhoff / Hyper-Compression).\n\n"
                 "Commands:\n");
    for (const auto& c : commands())
        std::fprintf(to, "  %-12s %s\n", qPrintable(c.name), qPrintable(c.summary));
    std::fprintf(to, "\nRun 'birkhoff <command> --help' for the options of a command.\n");
}

}  // namespace

int main(int argc, char** argv)
{
    birkhoff::configureAllocator();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("birkhoff"));
    QCoreApplication::setOrganizationName(QStringLiteral("Birkhoff Studio"));
    QCoreApplication::setApplicationVersion(QString::fromStdString(birkhoff::versionString()));

    QStringList args = QCoreApplication::arguments();
    args.removeFirst();
    bool verbose = false;
    int threads = 0;
    while (!args.isEmpty() && args.first().startsWith(QLatin1Char('-'))) {
        const QString opt = args.takeFirst();
        if (opt == QLatin1String("--help") || opt == QLatin1String("-h")) {
            printUsage(stdout);
            return kExitOk;
        }
        if (opt == QLatin1String("--version")) {
            std::printf("birkhoff %s\n", birkhoff::versionString().c_str());
            return kExitOk;
        }
        if (opt == QLatin1String("--verbose") || opt == QLatin1String("-v")) {
            verbose = true;
            continue;
        }
        if (opt == QLatin1String("--threads")) {
            bool ok = false;
            threads = args.isEmpty() ? 0 : args.takeFirst().toInt(&ok);
            if (!ok || threads <= 0) {
                std::fprintf(stderr, "birkhoff: --threads needs a positive number\n\n");
                printUsage(stderr);
                return kExitUsage;
            }
            continue;
        }
        std::fprintf(stderr, "birkhoff: unknown option '%s'\n\n", qPrintable(opt));
        printUsage(stderr);
        return kExitUsage;
    }
    if (args.isEmpty()) {
        if (verbose) {
            birkhoff::configureThreads(threads);
            std::fputs(birkhoff::runtimeReport().c_str(), stdout);
            return kExitOk;
        }
        std::fprintf(stderr, "birkhoff: missing command\n\n");
        printUsage(stderr);
        return kExitUsage;
    }
    QString name = args.takeFirst();
    if (name == QLatin1String("help")) {
        if (args.isEmpty()) {
            printUsage(stdout);
            return kExitOk;
        }
        name = args.takeFirst();
        args = QStringList{QStringLiteral("--help")};
    }
    const Command* command = findCommand(name);
    if (command == nullptr) {
        std::fprintf(stderr, "birkhoff: unknown command '%s'\n\n", qPrintable(name));
        printUsage(stderr);
        return kExitUsage;
    }
    birkhoff::configureThreads(threads);
    if (verbose)
        std::fputs(birkhoff::runtimeReport().c_str(), stderr);
    args.prepend(QStringLiteral("birkhoff ") + name);
    return command->run(args);
}
