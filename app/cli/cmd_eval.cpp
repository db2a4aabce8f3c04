// `birkhoff eval`: mIoU of an original vs a compressed SAM on COCO / SA-1B ground truth with
// prompts derived from it, per-instance CSV, shards and resume. All work is core::eval's.
#include "cli/command.h"

#include "core/eval/dataset.h"
#include "core/eval/runner.h"
#include "core/eval/sam_eval_model.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<eval::PromptableModel> announce(eval::LoadedEvalModel loaded, const char* role, const fs::path& path)
{
    std::fprintf(stderr, "%s model %s: %s, ready in %.1f s\n", role, path.string().c_str(), loaded.description.c_str(),
                 loaded.loadSeconds);
    return std::move(loaded.model);
}

int runEval(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Evaluate an original and a compressed SAM on ground-truth masks (COCO instances JSON, or SA-1B "
        "per-image JSON files): prompts derived from each instance, IoU of each model's mask with the ground "
        "truth (mIoU), agreement between the two models, per-instance CSV."));
    parser.addHelpOption();
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Original checkpoint (default: the default model)."),
                                   QStringLiteral("M"));
    const QCommandLineOption compressed(QStringLiteral("compressed"),
                                        QStringLiteral("Compressed model to compare with the original."), QStringLiteral("C"));
    const QCommandLineOption compress(QStringLiteral("compress"),
                                      QStringLiteral("Compress --model in memory (settings below) and compare with that."));
    const QCommandLineOption lOption(QStringLiteral("l"), QStringLiteral("--compress: side of the square (default 0.1)."),
                                     QStringLiteral("l"), QStringLiteral("0.1"));
    const QCommandLineOption uOption(QStringLiteral("U"),
                                     QStringLiteral("--compress: U candidates, comma-separated (default 1225,1600)."),
                                     QStringLiteral("U"), QStringLiteral("1225,1600"));
    const QCommandLineOption mOption(QStringLiteral("M"), QStringLiteral("--compress: maximum outlier rings (default 3)."),
                                     QStringLiteral("M"), QStringLiteral("3"));
    const QCommandLineOption annotations(
        QStringLiteral("annotations"),
        QStringLiteral("COCO instances JSON, an SA-1B per-image JSON, or a folder of SA-1B per-image JSON files."),
        QStringLiteral("ANN"));
    const QCommandLineOption images(QStringLiteral("images"),
                                    QStringLiteral("Folder of the images (default: the annotations' folder)."),
                                    QStringLiteral("DIR"));
    const QCommandLineOption prompt(QStringLiteral("prompt"),
                                    QStringLiteral("Prompt from each instance: box, center-point or box+point (default box)."),
                                    QStringLiteral("P"), QStringLiteral("box"));
    const QCommandLineOption maskRule(
        QStringLiteral("mask-rule"),
        QStringLiteral("Mask scored: single (token 0; SAM 2 models: token 0 unless its stability score is below 0.98 "
                       "(delta 0.05), then the best of tokens 1..3, as SAM 2's image predictor), best (highest "
                       "predicted IoU of tokens 1..3) or auto (the ONNX export's rule). Default: SAM 2 / 2.1 models "
                       "single for every prompt; other families single for box and box+point, best for center-point."),
        QStringLiteral("R"));
    const QCommandLineOption minArea(QStringLiteral("min-area"),
                                     QStringLiteral("Skip instances with fewer ground-truth pixels (default 0)."),
                                     QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Evaluate at most N images (of the shard)."),
                                   QStringLiteral("N"));
    const QCommandLineOption shard(QStringLiteral("shard"),
                                   QStringLiteral("Only shard i of n (0 <= i < n): images at positions k with k % n == i."),
                                   QStringLiteral("i/n"));
    const QCommandLineOption csv(QStringLiteral("csv"), QStringLiteral("Write per-instance results to FILE, image by image."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption resume(QStringLiteral("resume"),
                                    QStringLiteral("Continue the --csv file: skip images already complete in it."));
    const QCommandLineOption overwrite(QStringLiteral("overwrite"), QStringLiteral("Replace an existing --csv file."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the report as JSON."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({model, compressed, compress, lOption, uOption, mOption, annotations, images, prompt, maskRule, minArea, limit, shard, csv, resume,
                       overwrite, json, quiet});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    const auto usage = [&](const QString& message) {
        std::fprintf(stderr, "%s: %s\n\n%s", qPrintable(args.value(0)), qPrintable(message), qPrintable(parser.helpText()));
        return static_cast<int>(kExitUsage);
    };
    if (!parser.isSet(annotations))
        return usage(QStringLiteral("--annotations is required"));
    if (parser.isSet(compressed) == parser.isSet(compress))
        return usage(QStringLiteral("give the compressed model with --compressed C, or --compress to compress --model in memory"));
    if (!parser.isSet(compress) && (parser.isSet(lOption) || parser.isSet(uOption) || parser.isSet(mOption)))
        return usage(QStringLiteral("--l, --U and --M go with --compress"));
    if (parser.isSet(resume) && !parser.isSet(csv))
        return usage(QStringLiteral("--resume needs --csv"));
    if (parser.isSet(resume) && parser.isSet(overwrite))
        return usage(QStringLiteral("--resume and --overwrite exclude each other"));

    eval::EvalOptions options;
    try {
        options.prompt = eval::parsePromptKind(toStd(parser.value(prompt)));
        if (parser.isSet(maskRule))
            options.maskRule = eval::parseMaskRule(toStd(parser.value(maskRule)));
        if (parser.isSet(shard))
            options.shard = eval::parseShard(toStd(parser.value(shard)));
    } catch (const Error& e) {
        return usage(QString::fromUtf8(e.what()));
    }
    bool ok = false;
    const qlonglong area = parser.value(minArea).toLongLong(&ok);
    if (!ok || area < 0)
        return usage(QStringLiteral("--min-area must be a non-negative integer"));
    options.minArea = static_cast<std::uint64_t>(area);
    if (parser.isSet(limit)) {
        const qlonglong n = parser.value(limit).toLongLong(&ok);
        if (!ok || n <= 0)
            return usage(QStringLiteral("--limit must be a positive integer"));
        options.limit = static_cast<std::size_t>(n);
    }
    eval::InMemoryCompression compression;
    compression.l = parser.value(lOption).toDouble(&ok);
    if (!ok)
        return usage(QStringLiteral("--l must be a number"));
    std::vector<double> uValues;
    if (!parseNumberList(parser.value(uOption), uValues))
        return usage(QStringLiteral("--U must be a comma-separated list of numbers"));
    compression.uList.clear();
    for (const double u : uValues) {
        if (!(u >= 1) || u != static_cast<double>(static_cast<std::uint32_t>(u)))
            return usage(QStringLiteral("--U values must be positive integers"));
        compression.uList.push_back(static_cast<std::uint32_t>(u));
    }
    const int rings = parser.value(mOption).toInt(&ok);
    if (!ok || rings < 0)
        return usage(QStringLiteral("--M must be a non-negative integer"));
    compression.maxRings = static_cast<std::uint32_t>(rings);
    options.resume = parser.isSet(resume);
    options.overwrite = parser.isSet(overwrite);
    if (parser.isSet(csv))
        options.csv = toStd(parser.value(csv));

    return runGuarded(QStringLiteral("eval"), [&] {
        const fs::path annotationsPath = toStd(parser.value(annotations));
        fs::path modelPath = parser.isSet(model) ? fs::path(toStd(parser.value(model))) : findDefaultModel();
        if (modelPath.empty())
            throw Error("no --model given and the default model is not installed (run scripts/setup.sh)");
        const fs::path compressedPath = parser.isSet(compressed) ? fs::path(toStd(parser.value(compressed))) : modelPath;
        options.imagesDir = parser.isSet(images) ? fs::path(toStd(parser.value(images)))
                            : fs::is_directory(annotationsPath) ? annotationsPath
                                                                : annotationsPath.parent_path();
        options.originalName = modelPath.filename().string();
        options.compressedName = parser.isSet(compressed)
                                     ? compressedPath.filename().string()
                                     : options.originalName + " compressed in memory (" + compression.text() + ")";

        const eval::Dataset dataset = eval::Dataset::open(annotationsPath);
        std::fprintf(stderr, "dataset %s (%s): %zu image entries\n", annotationsPath.string().c_str(),
                     eval::datasetFormatName(dataset.format()).c_str(), dataset.size());
        const Progress progress = consoleProgress(parser.isSet(quiet));
        const Progress loading{{}, progress.cancel};
        eval::LoadedEvalModel loadedOriginal = eval::loadSamEvalModel(modelPath, loading);
        if (!parser.isSet(maskRule))
            options.maskRule = eval::defaultMaskRule(options.prompt, loadedOriginal.sam2);
        const auto original = announce(std::move(loadedOriginal), "original", modelPath);
        const auto other = announce(parser.isSet(compressed) ? eval::loadSamEvalModel(compressedPath, loading)
                                                             : eval::compressSamEvalModel(modelPath, compression, loading),
                                    "compressed", compressedPath);
        eval::EvalResult result;
        try {
            result = eval::runEvaluation(dataset, *original, *other, options, progress);
        } catch (const CancelledError&) {
            if (!options.csv.empty())
                std::fprintf(stderr, "finished images are in %s; run the same command with --resume to continue\n",
                             options.csv.string().c_str());
            throw;
        }
        for (const auto& w : result.warnings)
            std::fprintf(stderr, "warning: %s\n", w.c_str());
        std::fprintf(stderr, "%zu image entries in this run (%zu resumed from the CSV), %zu images encoded\n",
                     result.entriesInShard, result.entriesResumed, result.imagesEncoded);
        if (!options.csv.empty())
            std::fprintf(stderr, "per-instance results: %s\n", options.csv.string().c_str());
        if (parser.isSet(json))
            printJson(eval::reportToJson(result.report));
        else
            std::fputs(eval::reportToText(result.report).c_str(), stdout);
        if (result.report.evaluated == 0) {
            std::string reasons;
            for (const auto& [reason, count] : result.report.skippedInstances)
                reasons += (reasons.empty() ? "" : ", ") + std::to_string(count) + " " + reason;
            throw Error("no instance was evaluated, so there is no mIoU to report (skipped: "
                        + (reasons.empty() ? std::string("none; the dataset has no instance") : reasons)
                        + "); check --images, the folder the annotations' file names are relative to");
        }
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("eval"),
                                  QStringLiteral("mIoU of original vs compressed model on COCO / SA-1B ground truth"),
                                  runEval});

}  // namespace
}  // namespace birkhoff::cli
