// `birkhoff frontier`: sweeps codecs x settings (Birkhoff paper and RD, rtn and hqq baselines) on one
// checkpoint and one prompt set, measuring file size and mask agreement; writes OUT/frontier.json,
// OUT/frontier.csv and OUT/frontier.png after every point; --resume continues an interrupted
// sweep. All work is core::eval's.
#include "cli/command.h"
#include "cli/prompt_set_options.h"

#include "core/eval/frontier.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

namespace fs = std::filesystem;

int runFrontierCommand(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Rate-distortion frontier: compress one checkpoint with every codec setting of the sweep (Birkhoff, "
        "round-to-nearest and HQQ integer baselines), measure the real file size and the mask agreement with the "
        "original on one prompt set, and write OUT/frontier.json, OUT/frontier.csv and OUT/frontier.png.\n"
        "Point specs (comma-separated in --points): birkhoff[:l=L][:U=U1+U2][:M=M][:auto-l][:ratio=R] (the paper's "
        "lattice), birkhoff-rd[:step=S|:ratio=R][:M=M] (the rate-distortion codec, compress --rd), rtn:BITS:GROUP, "
        "hqq:BITS:GROUP (BITS 2..8, GROUP a size or pc for per output channel)."));
    parser.addHelpOption();
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Checkpoint (default: the default model)."),
                                   QStringLiteral("M"));
    const QCommandLineOption points(QStringLiteral("points"),
                                    QStringLiteral("Comma-separated point specs (default: the 16-point sweep)."),
                                    QStringLiteral("SPECS"));
    const QCommandLineOption output(QStringList{QStringLiteral("o"), QStringLiteral("output")},
                                    QStringLiteral("Output folder (created if missing)."), QStringLiteral("OUT"));
    const QCommandLineOption resume(QStringLiteral("resume"),
                                    QStringLiteral("Continue OUT/frontier.json: skip the points already measured."));
    const QCommandLineOption overwrite(QStringLiteral("overwrite"), QStringLiteral("Replace an existing OUT/frontier.json."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the rows as JSON."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({model, points, output, resume, overwrite, json, quiet});
    const PromptSetOptions promptSet(parser, QStringLiteral("COCO instances JSON or SA-1B JSON file/folder (adds "
                                                            "ground-truth prompts and the mIoU column)."));
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    const auto usage = [&](const QString& message) {
        std::fprintf(stderr, "%s: %s\n\n%s", qPrintable(args.value(0)), qPrintable(message), qPrintable(parser.helpText()));
        return static_cast<int>(kExitUsage);
    };
    if (!parser.isSet(output))
        return usage(QStringLiteral("-o OUT (the output folder) is required"));
    if (parser.isSet(resume) && parser.isSet(overwrite))
        return usage(QStringLiteral("--resume and --overwrite exclude each other"));
    eval::FrontierOptions options;
    if (const QString error = promptSet.read(parser, options.agreement); !error.isEmpty())
        return usage(error);
    try {
        std::vector<std::string> specs = eval::defaultFrontierSpecs();
        if (parser.isSet(points)) {
            specs.clear();
            for (const QString& spec : parser.value(points).split(QLatin1Char(','), Qt::SkipEmptyParts))
                specs.push_back(toStd(spec.trimmed()));
        }
        for (const auto& spec : specs)
            options.points.push_back(eval::parseFrontierPoint(spec));
    } catch (const Error& e) {
        return usage(QString::fromUtf8(e.what()));
    }
    if (options.points.empty())
        return usage(QStringLiteral("--points lists no point"));
    options.resume = parser.isSet(resume);
    options.overwrite = parser.isSet(overwrite);
    options.outputDir = toStd(parser.value(output));

    return runGuarded(QStringLiteral("frontier"), [&] {
        options.model = parser.isSet(model) ? fs::path(toStd(parser.value(model))) : findDefaultModel();
        if (options.model.empty())
            throw Error("no --model given and the default model is not installed (run scripts/setup.sh)");
        std::error_code ec;
        if (!fs::is_regular_file(options.model, ec))
            throw Error("model file " + options.model.string() + " does not exist");
        std::optional<eval::Dataset> dataset;
        options.promptSetName = promptSet.open(parser, options.agreement, dataset);
        const Progress progress = consoleProgress(parser.isSet(quiet));
        eval::FrontierResult result;
        try {
            result = eval::runFrontier(options, progress, [](const eval::FrontierRow& row) {
                std::fprintf(stderr, "done: %s %s: ratio %.3f, agreement mean %.4f (%.0f s)\n", row.codec.c_str(),
                             row.settings.c_str(), row.ratio, row.agreement.mean, row.compressSeconds + row.measureSeconds);
                constexpr std::size_t kNotesShown = 3;
                for (std::size_t i = 0; i < row.notes.size() && i < kNotesShown; ++i)
                    std::fprintf(stderr, "  note: %s\n", row.notes[i].c_str());
                if (row.notes.size() > kNotesShown)
                    std::fprintf(stderr, "  ... and %zu more notes in frontier.json\n", row.notes.size() - kNotesShown);
            });
        } catch (const CancelledError&) {
            std::fprintf(stderr, "finished points are in %s; run the same command with --resume to continue\n",
                         options.outputDir.string().c_str());
            throw;
        }
        for (const auto& w : result.reference.warnings)
            std::fprintf(stderr, "warning: %s\n", w.c_str());
        std::fprintf(stderr, "%zu points (%zu resumed), %zu images, %zu prompts; wrote %s, %s, %s\n", result.rows.size(),
                     result.resumed, result.reference.images.size(), result.reference.promptCount(),
                     eval::frontierJsonPath(options.outputDir).string().c_str(),
                     eval::frontierCsvPath(options.outputDir).string().c_str(),
                     eval::frontierPlotPath(options.outputDir).string().c_str());
        if (parser.isSet(json)) {
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& row : result.rows)
                rows.push_back(eval::frontierRowToJson(row));
            printJson(rows);
        } else {
            std::fputs(eval::frontierTable(result.rows).c_str(), stdout);
        }
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("frontier"),
                                  QStringLiteral("rate-distortion frontier: codecs x settings vs mask agreement"),
                                  runFrontierCommand});

}  // namespace
}  // namespace birkhoff::cli
