// `birkhoff agreement`: label-free mask agreement between a model and a compressed copy of it on
// a folder of images (grid points and boxes from the original's own masks) or on a COCO / SA-1B
// dataset (plus its ground-truth boxes and centre points). All work is core::eval's.
#include "cli/command.h"
#include "cli/prompt_set_options.h"

#include "core/eval/agreement.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

namespace fs = std::filesystem;

int runAgreement(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Mask agreement (IoU between the original model's mask and the compressed model's mask for the same "
        "prompt) on any folder of images: a GxG grid of points, boxes from the original's masks at those points, "
        "and with --annotations the ground-truth boxes and centre points. Reports mean, median, 5th percentile "
        "and the fraction of prompts with IoU >= 0.9, overall, per prompt source and per image."));
    parser.addHelpOption();
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Original model (default: the default model)."),
                                   QStringLiteral("A"));
    const QCommandLineOption compressed(QStringLiteral("compressed"),
                                        QStringLiteral("Compressed model (any file `birkhoff segment` opens)."),
                                        QStringLiteral("B"));
    const QCommandLineOption output(QStringList{QStringLiteral("o"), QStringLiteral("output")},
                                    QStringLiteral("Also write the JSON report to FILE (atomically)."), QStringLiteral("FILE"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the report as JSON."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({model, compressed, output, json, quiet});
    const PromptSetOptions promptSet(parser, QStringLiteral("COCO instances JSON or SA-1B JSON file/folder: its images, "
                                                            "plus ground-truth box and centre-point prompts."));
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    const auto usage = [&](const QString& message) {
        std::fprintf(stderr, "%s: %s\n\n%s", qPrintable(args.value(0)), qPrintable(message), qPrintable(parser.helpText()));
        return static_cast<int>(kExitUsage);
    };
    if (!parser.isSet(compressed))
        return usage(QStringLiteral("--compressed is required"));
    eval::AgreementOptions options;
    if (const QString error = promptSet.read(parser, options); !error.isEmpty())
        return usage(error);

    return runGuarded(QStringLiteral("agreement"), [&] {
        const fs::path modelPath = parser.isSet(model) ? fs::path(toStd(parser.value(model))) : findDefaultModel();
        if (modelPath.empty())
            throw Error("no --model given and the default model is not installed (run scripts/setup.sh)");
        const fs::path compressedPath = toStd(parser.value(compressed));
        std::optional<eval::Dataset> dataset;
        promptSet.open(parser, options, dataset);
        const Progress progress = consoleProgress(parser.isSet(quiet));
        eval::AgreementModels loaded = eval::loadAgreementModels(modelPath, compressedPath, {{}, progress.cancel});
        std::fprintf(stderr, "original %s: %s\ncompressed %s: %s\n", modelPath.string().c_str(),
                     loaded.originalDescription.c_str(), compressedPath.string().c_str(),
                     loaded.compressedDescription.c_str());
        const eval::AgreementReference reference = eval::buildAgreementReference(*loaded.original, options, progress);
        for (const auto& w : reference.warnings)
            std::fprintf(stderr, "warning: %s\n", w.c_str());
        std::fprintf(stderr, "%zu images, %zu prompts\n", reference.images.size(), reference.promptCount());
        const eval::AgreementResult result = eval::measureAgreement(reference, *loaded.compressed, progress);
        nlohmann::json report = eval::agreementToJson(reference, result);
        report["model"] = modelPath.string();
        report["compressed"] = compressedPath.string();
        if (parser.isSet(output)) {
            const std::string text = report.dump(1) + "\n";
            writeFileAtomically(toStd(parser.value(output)),
                                [&](AtomicFileWriter& writer) { writer.write(text.data(), text.size()); });
        }
        if (parser.isSet(json))
            printJson(report);
        else
            std::fputs(eval::agreementToText(reference, result).c_str(), stdout);
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("agreement"),
                                  QStringLiteral("label-free mask agreement of a compressed model with its original"),
                                  runAgreement});

}  // namespace
}  // namespace birkhoff::cli
