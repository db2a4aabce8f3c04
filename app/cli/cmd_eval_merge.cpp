// `birkhoff eval-merge CSV... [--json]`: combines the per-instance CSVs of `birkhoff eval` shards
// into the report a single run over all images gives (recomputed from the rows).
#include "cli/command.h"

#include "core/eval/results.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

int runEvalMerge(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Merge the per-instance CSVs of sharded `birkhoff eval` runs into one report (the same report a "
        "single run over all images prints). Incomplete images of interrupted runs are ignored with a warning; "
        "an image present in two files is an error."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("csv"), QStringLiteral("Per-instance CSV files written by eval --csv."),
                                 QStringLiteral("CSV..."));
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print the report as JSON.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    const QStringList files = parser.positionalArguments();
    if (files.isEmpty()) {
        std::fprintf(stderr, "%s: no CSV files given\n\n%s", qPrintable(args.value(0)), qPrintable(parser.helpText()));
        return kExitUsage;
    }
    return runGuarded(QStringLiteral("eval-merge"), [&] {
        std::vector<std::filesystem::path> paths;
        for (const QString& f : files)
            paths.emplace_back(toStd(f));
        std::vector<std::string> warnings;
        const eval::EvalReport report = eval::mergeResults(paths, &warnings);
        for (const auto& w : warnings)
            std::fprintf(stderr, "birkhoff eval-merge: warning: %s\n", w.c_str());
        if (parser.isSet(QStringLiteral("json")))
            printJson(eval::reportToJson(report));
        else
            std::fputs(eval::reportToText(report).c_str(), stdout);
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("eval-merge"),
                                  QStringLiteral("Merge the CSVs of sharded eval runs into one report"), runEvalMerge});

}  // namespace
}  // namespace birkhoff::cli
