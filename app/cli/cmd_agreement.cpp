// `birkhoff agreement`: label-free mask agreement between a model and a compressed copy of it on
// a folder of images (grid points and boxes from the original's own masks) or on a COCO / SA-1B
// dataset (plus its ground-truth boxes and centre points). All work is core::eval's.
#include "cli/command.h"

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
    const QCommandLineOption images(QStringLiteral("images"),
                                    QStringLiteral("Folder of images (with --annotations: the images' folder, default the "
                                                   "annotations' folder)."),
                                    QStringLiteral("DIR"));
    const QCommandLineOption annotations(QStringLiteral("annotations"),
                                         QStringLiteral("COCO instances JSON or SA-1B JSON file/folder: its images, plus "
                                                        "ground-truth box and centre-point prompts."),
                                         QStringLiteral("ANN"));
    const QCommandLineOption grid(QStringLiteral("grid"),
                                  QStringLiteral("Grid points per side, 1..%1 (default %2).")
                                      .arg(eval::kMaxAgreementGrid)
                                      .arg(eval::kDefaultAgreementGrid),
                                  QStringLiteral("G"), QString::number(eval::kDefaultAgreementGrid));
    const QCommandLineOption prompt(QStringLiteral("prompt"),
                                    QStringLiteral("Grid prompts: points, boxes or both (default both)."),
                                    QStringLiteral("P"), QStringLiteral("both"));
    const QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Use at most N images."), QStringLiteral("N"));
    const QCommandLineOption output(QStringList{QStringLiteral("o"), QStringLiteral("output")},
                                    QStringLiteral("Also write the JSON report to FILE (atomically)."), QStringLiteral("FILE"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the report as JSON."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({model, compressed, images, annotations, grid, prompt, limit, output, json, quiet});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    const auto usage = [&](const QString& message) {
        std::fprintf(stderr, "%s: %s\n\n%s", qPrintable(args.value(0)), qPrintable(message), qPrintable(parser.helpText()));
        return static_cast<int>(kExitUsage);
    };
    if (!parser.isSet(compressed))
        return usage(QStringLiteral("--compressed is required"));
    if (!parser.isSet(images) && !parser.isSet(annotations))
        return usage(QStringLiteral("give a folder of images with --images DIR or a dataset with --annotations ANN"));
    eval::AgreementOptions options;
    bool ok = false;
    options.grid = parser.value(grid).toInt(&ok);
    if (!ok || options.grid < 1 || options.grid > eval::kMaxAgreementGrid)
        return usage(QStringLiteral("--grid must be an integer from 1 to %1 (got '%2')")
                         .arg(eval::kMaxAgreementGrid)
                         .arg(parser.value(grid)));
    try {
        options.prompts = eval::parseAgreementPrompts(toStd(parser.value(prompt)));
    } catch (const Error& e) {
        return usage(QString::fromUtf8(e.what()));
    }
    if (parser.isSet(limit)) {
        const qlonglong n = parser.value(limit).toLongLong(&ok);
        if (!ok || n <= 0)
            return usage(QStringLiteral("--limit must be a positive integer"));
        options.limit = static_cast<std::size_t>(n);
    }

    return runGuarded(QStringLiteral("agreement"), [&] {
        const fs::path modelPath = parser.isSet(model) ? fs::path(toStd(parser.value(model))) : findDefaultModel();
        if (modelPath.empty())
            throw Error("no --model given and the default model is not installed (run scripts/setup.sh)");
        const fs::path compressedPath = toStd(parser.value(compressed));
        std::optional<eval::Dataset> dataset;
        if (parser.isSet(annotations)) {
            const fs::path annotationsPath = toStd(parser.value(annotations));
            dataset = eval::Dataset::open(annotationsPath);
            options.dataset = &*dataset;
            options.imagesDir = parser.isSet(images)               ? fs::path(toStd(parser.value(images)))
                                : fs::is_directory(annotationsPath) ? annotationsPath
                                                                    : annotationsPath.parent_path();
        } else {
            options.imagesDir = toStd(parser.value(images));
        }
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
