// `birkhoff restore IN.safetensors -o OUT.pth|OUT.safetensors`: decodes a compressed model
// (the authors' hyper_model.safetensors layout or ours) into a dense checkpoint with the
// original key names, loadable by torch.load and the official SAM code.
#include "cli/command.h"

#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace birkhoff::cli {
namespace {

int runRestore(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Decode a compressed model (hyper_model.safetensors, the authors' layout or ours) into a dense float32 "
        "checkpoint in the original key layout. The output format follows the extension: .pth/.pt (torch.save zip) "
        "or .safetensors."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("compressed"), QStringLiteral("The compressed .safetensors file."));
    parser.addOption({{QStringLiteral("o"), QStringLiteral("output")},
                      QStringLiteral("Dense checkpoint to write (.pth, .pt or .safetensors)."), QStringLiteral("file")});
    parser.addOption({QStringLiteral("quiet"), QStringLiteral("No progress lines.")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print a JSON summary instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    const QStringList pos = parser.positionalArguments();
    if (pos.size() != 1 || !parser.isSet(QStringLiteral("output"))) {
        std::fprintf(stderr, "birkhoff restore: needs one compressed file and -o OUTPUT\n\n%s",
                     qPrintable(parser.helpText()));
        return kExitUsage;
    }
    const std::filesystem::path input = toStd(pos[0]);
    const std::filesystem::path output = toStd(parser.value(QStringLiteral("output")));
    const std::string ext = output.extension().string();
    if (ext != ".pth" && ext != ".pt" && ext != ".safetensors") {
        std::fprintf(stderr, "birkhoff restore: the output must end in .pth, .pt or .safetensors, not '%s'\n",
                     output.string().c_str());
        return kExitUsage;
    }
    const bool json = parser.isSet(QStringLiteral("json"));
    return runGuarded(QStringLiteral("restore"), [&] {
        std::error_code ec;
        if (std::filesystem::exists(output, ec) && std::filesystem::equivalent(input, output, ec))
            throw Error("the output '" + output.string() + "' is the input file");
        const auto start = std::chrono::steady_clock::now();
        const Progress progress = consoleProgress(parser.isSet(QStringLiteral("quiet")) || json);
        const format::CompressedModel model = format::readCompressedModel(input);
        const io::StateDict dense = format::restoreDense(model, progress);
        progress.checkCancelled();
        io::saveCheckpoint(output, dense);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::int64_t encoded = 0;
        for (const auto& t : model.tensors)
            encoded += t.isEncoded() ? 1 : 0;
        if (json) {
            nlohmann::json j;
            j["input"] = input.string();
            j["output"] = output.string();
            j["tensors"] = model.tensors.size();
            j["encoded_tensors"] = encoded;
            j["parameters"] = dense.elementCount();
            j["extensions"] = model.extensions;
            j["seconds"] = seconds;
            printJson(j);
        } else {
            std::printf("restored %zu tensors (%lld decoded, %lld stored raw), %lld parameters -> %s in %.2f s\n",
                        model.tensors.size(), static_cast<long long>(encoded),
                        static_cast<long long>(model.tensors.size()) - static_cast<long long>(encoded),
                        static_cast<long long>(dense.elementCount()), output.string().c_str(), seconds);
        }
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("restore"),
                                  QStringLiteral("Decode a compressed model into a dense .pth/.safetensors checkpoint"),
                                  runRestore});

}  // namespace
}  // namespace birkhoff::cli
