// `birkhoff info`: what this installation runs on (threads, BLAS, vector ISA, CUDA) and where
// it looks for the default model.
#include "cli/command.h"

#include "core/util/paths.h"
#include "core/util/runtime.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

int runInfo(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Show the runtime configuration and the default model location."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    return runGuarded(QStringLiteral("info"), [&] {
        const auto model = findDefaultModel();
        if (parser.isSet(QStringLiteral("json"))) {
            nlohmann::json j;
            j["version"] = versionString();
            j["runtime"] = runtimeReport();
            j["default_model"] = model.empty() ? nlohmann::json(nullptr) : nlohmann::json(model.string());
            nlohmann::json candidates = nlohmann::json::array();
            for (const auto& c : defaultModelCandidates())
                candidates.push_back(c.string());
            j["default_model_candidates"] = candidates;
            printJson(j);
            return kExitOk;
        }
        std::fputs(runtimeReport().c_str(), stdout);
        if (model.empty()) {
            std::printf("default model: not installed (run scripts/setup.sh); looked in:\n");
            for (const auto& c : defaultModelCandidates())
                std::printf("  %s\n", c.string().c_str());
        } else {
            std::printf("default model: %s\n", model.string().c_str());
        }
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("info"),
                                  QStringLiteral("Show threads, BLAS, CPU/CUDA support and the default model"),
                                  runInfo});

}  // namespace
}  // namespace birkhoff::cli
