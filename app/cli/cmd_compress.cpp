// `birkhoff compress CHECKPOINT -o OUT.safetensors [...]`: Hyper-Compression of a checkpoint
// with the paper's SAM settings by default, writing the authors' hyper_model.safetensors layout
// and a JSON/CSV report; extensions (overrides, auto l, target modes) on request.
// LibTorch headers must come before Qt's (Qt's "slots" macro breaks them).
#include "core/codec/compressor.h"
#include "core/codec/model_roles.h"
#include "core/format/compressed_writer.h"
#include "core/models/model_file.h"

#include "cli/command.h"

#include "core/util/runtime.h"
#include "kernels/decode.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace birkhoff::cli {
namespace {

// Reports a bad option value (exit status 2).
int usageError(const QCommandLineParser& parser, const std::string& message)
{
    std::fprintf(stderr, "birkhoff compress: %s\n\n%s", message.c_str(), qPrintable(parser.helpText()));
    return kExitUsage;
}

bool parseFloat(const QString& text, double& out)
{
    bool ok = false;
    out = text.trimmed().toDouble(&ok);
    return ok;
}

bool sameFile(const std::filesystem::path& a, const std::filesystem::path& b)
{
    std::error_code ec;
    return std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec);
}

void printSummary(const codec::CompressionReport& r, const std::string& output, bool dryRun)
{
    std::int64_t counts[4] = {0, 0, 0, 0};
    for (const auto& t : r.tensors)
        ++counts[static_cast<int>(t.path)];
    std::printf("%s%zu tensors: %lld encoded, %lld raw, %lld buffers, %lld small\n", dryRun ? "dry run: " : "",
                r.tensors.size(), static_cast<long long>(counts[0]), static_cast<long long>(counts[1]),
                static_cast<long long>(counts[2]), static_cast<long long>(counts[3]));
    std::printf("%llu -> %llu bytes: ratio %.3f, %.3f bits per weight, %.2f s%s%s\n",
                static_cast<unsigned long long>(r.originalBytes), static_cast<unsigned long long>(r.compressedBytes),
                r.ratio(), r.bitsPerWeight(), r.seconds, dryRun ? "" : "; wrote ", dryRun ? "" : output.c_str());
    constexpr std::size_t kShown = 8;
    for (std::size_t i = 0; i < r.warnings.size() && i < kShown; ++i)
        std::printf("warning: %s\n", r.warnings[i].c_str());
    if (r.warnings.size() > kShown)
        std::printf("... and %zu more warnings (all of them are in the report: --report FILE or --json)\n",
                    r.warnings.size() - kShown);
}

int runCompress(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Compress a checkpoint (.pth/.pt/.safetensors) with Hyper-Compression (Birkhoff). Defaults are the paper's "
        "SAM settings (l 0.1, U 1225,1600, M 3). The output uses the authors' hyper_model.safetensors layout; files "
        "made with --overrides, --auto-l or a target are marked as extensions in their metadata."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("checkpoint"), QStringLiteral("The checkpoint to compress."));
    parser.addOptions({
        {{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Compressed file to write (.safetensors)."),
         QStringLiteral("file")},
        {QStringLiteral("l"), QStringLiteral("Side of the inner square (default 0.1)."), QStringLiteral("value")},
        {QStringLiteral("U"), QStringLiteral("Codebook sizes to try, perfect squares (default 1225,1600)."),
         QStringLiteral("list")},
        {QStringLiteral("M"), QStringLiteral("Maximum number of outlier rings (default 3)."), QStringLiteral("count")},
        {QStringLiteral("threads"), QStringLiteral("Worker threads (default: all cores)."), QStringLiteral("n")},
        {QStringLiteral("report"), QStringLiteral("Write the report: JSON, or CSV rows if FILE ends in .csv."),
         QStringLiteral("file")},
        {QStringLiteral("overrides"), QStringLiteral("Extension: per-layer l/U/M/keep_raw rules (JSON)."),
         QStringLiteral("file")},
        {QStringLiteral("auto-l"), QStringLiteral("Extension: l per tensor from its spread.")},
        {QStringLiteral("target-mae"), QStringLiteral("Extension: per tensor the cheapest settings with MAE <= X."),
         QStringLiteral("x")},
        {QStringLiteral("target-ratio"),
         QStringLiteral("Extension: settings per tensor to reach this file ratio; fails, naming the largest "
                        "reachable ratio, if it cannot. With --rd: the step that reaches it."),
         QStringLiteral("r")},
        {QStringLiteral("rd"),
         QStringLiteral("Extension: the rate-distortion codec (row scales, fixed-step lattices, entropy-coded "
                        "indices in one record per tensor, steps growing with the square root of a tensor's size). "
                        "Use with --rd-step or --target-ratio. M (default 3) gives the rings for pairs beyond 256 "
                        "steps.")},
        {QStringLiteral("rd-step"),
         QStringLiteral("With --rd: lattice step in row standard deviations for a tensor of 2^20 weights (default "
                        "0.8; larger: smaller file). Smaller tensors get finer steps."),
         QStringLiteral("s")},
        {QStringLiteral("dry-run"), QStringLiteral("Compress and report, but write no compressed file.")},
        {QStringLiteral("json"), QStringLiteral("Print the report as JSON on stdout.")},
        {QStringLiteral("quiet"), QStringLiteral("No progress lines.")},
    });
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    const QStringList pos = parser.positionalArguments();
    if (pos.size() != 1)
        return usageError(parser, "needs exactly one checkpoint");
    const bool dryRun = parser.isSet(QStringLiteral("dry-run"));
    if (!dryRun && !parser.isSet(QStringLiteral("output")))
        return usageError(parser, "needs -o OUTPUT.safetensors (or --dry-run)");
    const std::filesystem::path input = toStd(pos[0]);
    const std::filesystem::path output = toStd(parser.value(QStringLiteral("output")));
    if (!dryRun && output.extension() != ".safetensors")
        return usageError(parser, "the output must end in .safetensors, not '" + output.string() + "'");

    codec::CompressOptions options;
    double value = 0;
    if (parser.isSet(QStringLiteral("l"))) {
        if (!parseFloat(parser.value(QStringLiteral("l")), value) || !std::isfinite(value) || value <= 0
            || value > 1e30)
            return usageError(parser, "--l needs a finite number > 0, not '" + toStd(parser.value(QStringLiteral("l"))) + "'");
        options.defaults.l = static_cast<float>(value);
    }
    if (parser.isSet(QStringLiteral("U"))) {
        std::vector<double> list;
        const QString text = parser.value(QStringLiteral("U"));
        if (!parseNumberList(text, list))
            return usageError(parser, "--U needs a comma-separated list of perfect squares, not '" + toStd(text) + "'");
        options.defaults.uList.clear();
        for (double u : list) {
            if (u != std::floor(u) || u < 1 || u > kernels::kMaxU)
                return usageError(parser, "--U value " + toStd(QString::number(u)) + " is not an integer in [1, "
                                              + std::to_string(kernels::kMaxU) + "]");
            options.defaults.uList.push_back(static_cast<std::uint32_t>(u));
        }
    }
    if (parser.isSet(QStringLiteral("M"))) {
        bool ok = false;
        const int m = parser.value(QStringLiteral("M")).toInt(&ok);
        if (!ok || m < 0 || m > static_cast<int>(kernels::kMaxRings))
            return usageError(parser, "--M needs an integer in [0, " + std::to_string(kernels::kMaxRings) + "]");
        options.defaults.maxRings = static_cast<std::uint32_t>(m);
    }
    if (parser.isSet(QStringLiteral("threads"))) {
        bool ok = false;
        const int n = parser.value(QStringLiteral("threads")).toInt(&ok);
        if (!ok || n <= 0)
            return usageError(parser, "--threads needs a positive number");
        configureThreads(n);
    }
    options.autoL = parser.isSet(QStringLiteral("auto-l"));
    if (parser.isSet(QStringLiteral("target-mae"))) {
        if (!parseFloat(parser.value(QStringLiteral("target-mae")), value))
            return usageError(parser, "--target-mae needs a number");
        options.targetMae = value;
    }
    if (parser.isSet(QStringLiteral("target-ratio"))) {
        if (!parseFloat(parser.value(QStringLiteral("target-ratio")), value))
            return usageError(parser, "--target-ratio needs a number");
        options.targetRatio = value;
    }
    if (parser.isSet(QStringLiteral("rd-step")) && !parser.isSet(QStringLiteral("rd")))
        return usageError(parser, "--rd-step needs --rd");
    if (parser.isSet(QStringLiteral("rd"))) {
        if (parser.isSet(QStringLiteral("l")) || parser.isSet(QStringLiteral("U")))
            return usageError(parser, "--rd chooses l and U per tensor from its step: drop --l and --U");
        codec::RateDistortionOptions rd;
        if (parser.isSet(QStringLiteral("rd-step"))) {
            if (!parseFloat(parser.value(QStringLiteral("rd-step")), value))
                return usageError(parser, "--rd-step needs a number");
            rd.step = value;
        }
        if (parser.isSet(QStringLiteral("rd-step")) && options.targetRatio)
            return usageError(parser, "--rd-step and --target-ratio cannot be combined (the ratio decides the step)");
        rd.targetRatio = options.targetRatio;
        options.targetRatio.reset();
        rd.maxRings = options.defaults.maxRings;
        options.rateDistortion = rd;
    }
    try {
        codec::validateOptions(options);
    } catch (const Error& e) {
        return usageError(parser, e.what());
    }

    const bool json = parser.isSet(QStringLiteral("json"));
    const std::string reportPath = toStd(parser.value(QStringLiteral("report")));
    return runGuarded(QStringLiteral("compress"), [&] {
        const auto start = std::chrono::steady_clock::now();
        if (!dryRun && sameFile(input, output))
            throw Error("the output '" + output.string() + "' is the input checkpoint");
        if (!reportPath.empty() && (sameFile(reportPath, input) || (!dryRun && reportPath == output.string())))
            throw Error("the report '" + reportPath + "' would overwrite the checkpoint or the output");
        if (parser.isSet(QStringLiteral("overrides")))
            options.overrides = codec::readOverrides(toStd(parser.value(QStringLiteral("overrides"))));

        const Progress progress = consoleProgress(parser.isSet(QStringLiteral("quiet")) || json);
        models::OpenModelOptions open;
        open.buildModel = false;  // the codec needs the tensors and their roles only
        const models::ModelFile checkpoint = models::openModelFile(input, open, progress);
        if (checkpoint.kind == io::ModelFileKind::Compressed)
            throw Error(input.string() + " is already compressed (hyper_model.safetensors layout): compress its "
                                         "original checkpoint, or decode it first with 'birkhoff restore'");
        const codec::ModelRoles& roles = checkpoint.roles;
        options.originalFileBytes = checkpoint.fileBytes;
        codec::CompressionResult result = codec::compressModel(checkpoint.tensors, roles.roles, options, progress);
        codec::CompressionReport& report = result.report;
        report.model = {{"family", roles.family},
                        {"family_name", roles.familyName},
                        {"known_family", roles.knownFamily},
                        {"heuristic_roles", roles.heuristicCount},
                        {"linear_weights", roles.linearWeights},
                        {"buffers", roles.buffers}};
        if (!roles.knownFamily)
            report.warnings.push_back("unknown model layout: Linear weights and buffers were identified by the "
                                      "shape heuristic of core/models/family.h");
        else if (roles.heuristicCount > 0)
            report.warnings.push_back(std::to_string(roles.heuristicCount)
                                      + " tensors not covered by the family's module map were classified by the shape "
                                        "heuristic");
        for (const auto& note : checkpoint.notes)
            report.warnings.push_back("checkpoint: " + note);
        if (!dryRun) {
            progress.checkCancelled();
            format::writeCompressedModel(output, result.model);
        }
        report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!reportPath.empty())
            codec::writeReport(reportPath, report);
        if (json)
            printJson(report.toJson());
        else
            printSummary(report, output.string(), dryRun);
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("compress"),
                                  QStringLiteral("Compress a checkpoint with Hyper-Compression (Birkhoff)"), runCompress});

}  // namespace
}  // namespace birkhoff::cli
