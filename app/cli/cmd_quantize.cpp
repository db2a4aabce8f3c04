// `birkhoff quantize`: writes a baseline-quantized file (round-to-nearest or HQQ integers with
// fp16 group scales) that `birkhoff segment / compare / eval / agreement` and the studio open.
// All work is core::codec's.
#include "cli/command.h"

#include "core/codec/baseline_quant.h"
#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

namespace fs = std::filesystem;

int runQuantize(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Baseline integer quantization of every float tensor with at least 4096 elements (the rest kept): rtn "
        "(round-to-nearest, absmax scale per group) or hqq (half-quadratic optimised zero point per group, no "
        "data). Writes a safetensors file of packed codes plus one fp16 scale (and zero) per group."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("output"), QStringLiteral("Output file (.safetensors)."));
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Checkpoint (default: the default model)."),
                                   QStringLiteral("M"));
    const QCommandLineOption codecOption(QStringLiteral("codec"), QStringLiteral("rtn or hqq (default rtn)."),
                                         QStringLiteral("C"), QStringLiteral("rtn"));
    const QCommandLineOption bits(QStringLiteral("bits"), QStringLiteral("Bits per weight, 2..8 (default 4)."),
                                  QStringLiteral("B"), QStringLiteral("4"));
    const QCommandLineOption group(QStringLiteral("group"),
                                   QStringLiteral("Group size, or pc for one group per output channel (default 64)."),
                                   QStringLiteral("G"), QStringLiteral("64"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print a JSON summary."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({model, codecOption, bits, group, json, quiet});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    const auto usage = [&](const QString& message) {
        std::fprintf(stderr, "%s: %s\n\n%s", qPrintable(args.value(0)), qPrintable(message), qPrintable(parser.helpText()));
        return static_cast<int>(kExitUsage);
    };
    if (parser.positionalArguments().size() != 1)
        return usage(QStringLiteral("give exactly one output file"));
    codec::BaselineSettings settings;
    bool ok = false;
    try {
        settings.codec = codec::parseBaselineCodec(toStd(parser.value(codecOption)));
        const int b = parser.value(bits).toInt(&ok);
        if (!ok)
            return usage(QStringLiteral("--bits must be an integer"));
        settings.bits = b < 0 ? 0u : static_cast<unsigned>(b);
        if (parser.value(group) == QStringLiteral("pc")) {
            settings.groupSize = 0;
        } else {
            settings.groupSize = parser.value(group).toLongLong(&ok);
            if (!ok || settings.groupSize <= 0)
                return usage(QStringLiteral("--group must be a positive integer or pc"));
        }
        codec::validateBaselineSettings(settings);
    } catch (const Error& e) {
        return usage(QString::fromUtf8(e.what()));
    }

    return runGuarded(QStringLiteral("quantize"), [&] {
        const fs::path input = parser.isSet(model) ? fs::path(toStd(parser.value(model))) : findDefaultModel();
        if (input.empty())
            throw Error("no --model given and the default model is not installed (run scripts/setup.sh)");
        const fs::path output = toStd(parser.positionalArguments().front());
        const Progress progress = consoleProgress(parser.isSet(quiet));
        const io::Checkpoint checkpoint = io::loadCheckpoint(input, progress);
        const codec::BaselineModel quantized = codec::quantizeModel(checkpoint.tensors, settings, progress);
        for (const auto& note : quantized.notes)
            std::fprintf(stderr, "note: %s\n", note.c_str());
        codec::writeBaselineModel(output, quantized);
        const std::uint64_t bytes = fs::file_size(output);
        const double ratio = static_cast<double>(checkpoint.fileBytes) / static_cast<double>(bytes);
        if (parser.isSet(json)) {
            printJson({{"output", output.string()},
                       {"settings", settings.text()},
                       {"original_bytes", checkpoint.fileBytes},
                       {"file_bytes", bytes},
                       {"ratio", ratio},
                       {"quantized_elements", quantized.quantizedElementCount()},
                       {"elements", quantized.elementCount()},
                       {"per_channel_fallbacks", quantized.notes.size()}});
        } else {
            std::printf("%s: %s, %llu bytes, ratio %.3f vs %s (%llu bytes); %lld of %lld weights quantized\n",
                        output.string().c_str(), settings.text().c_str(), static_cast<unsigned long long>(bytes), ratio,
                        input.filename().string().c_str(), static_cast<unsigned long long>(checkpoint.fileBytes),
                        static_cast<long long>(quantized.quantizedElementCount()),
                        static_cast<long long>(quantized.elementCount()));
        }
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("quantize"),
                                  QStringLiteral("baseline rtn / hqq integer quantization to a loadable file"),
                                  runQuantize});

}  // namespace
}  // namespace birkhoff::cli
