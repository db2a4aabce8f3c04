// `birkhoff convert INPUT... -o OUT`: turns a model in one of the supported input kinds into a
// checkpoint whose format follows OUT's extension (.pth/.pt: torch.save zip; .safetensors).
// Each input kind (below, kInputKinds) says which inputs it accepts and how to read them into a
// state dict; the first kind that accepts the inputs is used, so a new kind (e.g. an ONNX export
// pair) is one more entry in that list.
#include "cli/command.h"

#include "core/io/checkpoint.h"
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
    const char* usage;    ///< for --help ("one .pth/.pt/.safetensors file")
    std::function<bool(const std::vector<fs::path>& inputs)> accepts;
    std::function<ConvertedModel(const std::vector<fs::path>& inputs, const Progress& progress)> read;
};

ConvertedModel readCheckpoint(const std::vector<fs::path>& inputs, const Progress& progress)
{
    io::Checkpoint ckpt = io::loadCheckpoint(inputs.front(), progress);
    return ConvertedModel{std::move(ckpt.tensors), std::move(ckpt.wrapper), std::move(ckpt.notes)};
}

const std::vector<InputKind>& inputKinds()
{
    static const std::vector<InputKind> kinds = {
        {"checkpoint", "one checkpoint (.pth, .pt or .safetensors, detected by content)",
         [](const std::vector<fs::path>& inputs) { return inputs.size() == 1; }, readCheckpoint},
    };
    return kinds;
}

int runConvert(const QStringList& args)
{
    QString kindsHelp;
    for (const auto& kind : inputKinds())
        kindsHelp += QStringLiteral("\n  - ") + QString::fromLatin1(kind.usage);
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
    for (const auto& k : inputKinds())
        if (kind == nullptr && k.accepts(inputs))
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
                                  QStringLiteral("Convert a model between .pth and .safetensors"),
                                  runConvert});

}  // namespace
}  // namespace birkhoff::cli
