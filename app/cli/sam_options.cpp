// Command-line pieces shared by the SAM sub-commands.
// LibTorch headers must come before Qt's (Qt's "slots" macro breaks them).
#include "core/util/error.h"
#include "core/util/paths.h"

#include "cli/sam_options.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {

void addModelOptions(QCommandLineParser& parser)
{
    parser.addOption({QStringLiteral("model"),
                      QStringLiteral("SAM checkpoint (.pth/.pt or .safetensors); default: the installed default model."),
                      QStringLiteral("M")});
    parser.addOption({QStringLiteral("config"),
                      QStringLiteral("config.json with official builder argument names (overrides the one beside the "
                                     "checkpoint)."),
                      QStringLiteral("FILE")});
}

void addPromptOptions(QCommandLineParser& parser)
{
    parser.addOption({QStringLiteral("point"),
                      QStringLiteral("A click x,y[,label] in image pixels; label 1 = foreground (default), 0 = "
                                     "background. Repeatable."),
                      QStringLiteral("x,y[,label]")});
    parser.addOption({QStringLiteral("box"), QStringLiteral("A box x0,y0,x1,y1 in image pixels (top-left, bottom-right)."),
                      QStringLiteral("x0,y0,x1,y1")});
    parser.addOption({QStringLiteral("multimask"),
                      QStringLiteral("Predict the 3 candidate masks (official multimask_output=True); -o gets the one "
                                     "with the highest predicted IoU.")});
    parser.addOption({QStringLiteral("single-mask-rule"),
                      QStringLiteral("Without --multimask: 'onnx' (SAM's ONNX export / web-demo rule: the best of "
                                     "tokens 1-3 for one click or a box alone, token 0 for 3+ prompt tokens) or "
                                     "'token0' (the official predictor's multimask_output=False: token 0; for SAM 2 "
                                     "models token 0 unless its stability score is below 0.98 (delta 0.05), then the "
                                     "best of tokens 1-3 by predicted IoU). Default by family: 'token0' for SAM 2 / "
                                     "2.1 (SAM 2's image predictor), 'onnx' for SAM, MedSAM, SlimSAM, MobileSAM/TinySAM, "
                                     "SAM-HQ, EdgeSAM, EfficientSAM and EfficientViT-SAM."),
                      QStringLiteral("onnx|token0")});
    parser.addOption({QStringLiteral("hq-token-only"),
                      QStringLiteral("SAM-HQ models: the HQ token's mask alone (official hq_token_only=True) instead "
                                     "of SAM's mask + the HQ mask.")});
}

std::filesystem::path modelPathOption(const QCommandLineParser& parser)
{
    if (parser.isSet(QStringLiteral("model")))
        return parser.value(QStringLiteral("model")).toStdString();
    const auto model = findDefaultModel();
    if (model.empty())
        throw Error(std::string("no --model given and the default model ") + kDefaultModelFileName +
                    " is not installed (run scripts/setup.sh, or see 'birkhoff info' for where it is looked for)");
    return model;
}

models::ModelFile openRunnableModelFile(const std::filesystem::path& path,
                                        const std::optional<std::filesystem::path>& configPath)
{
    models::OpenModelOptions options;
    options.load.configPath = configPath;
    models::ModelFile file = models::openModelFile(path, options);
    if (!file.model)
        throw Error(file.cannotRun);
    for (const std::string& note : file.model->info.notes)
        std::fprintf(stderr, "note: %s: %s\n", path.string().c_str(), note.c_str());
    return file;
}

std::shared_ptr<models::SamModel> loadModelFile(const std::filesystem::path& path,
                                                const std::optional<std::filesystem::path>& configPath)
{
    return openRunnableModelFile(path, configPath).model;
}

namespace {

bool parseNumbers(const QString& text, int minCount, int maxCount, std::vector<double>& out)
{
    out.clear();
    const QStringList parts = text.split(QLatin1Char(','));
    if (parts.size() < minCount || parts.size() > maxCount)
        return false;
    for (const QString& part : parts) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok)
            return false;
        out.push_back(v);
    }
    return true;
}

}  // namespace

bool parsePromptOptions(const QCommandLineParser& parser, predict::Prompt& prompt,
                        std::optional<predict::MaskOutput>& output, QString& error)
{
    std::vector<double> v;
    for (const QString& text : parser.values(QStringLiteral("point"))) {
        if (!parseNumbers(text, 2, 3, v)) {
            error = QStringLiteral("--point needs x,y or x,y,label (numbers), got '%1'").arg(text);
            return false;
        }
        const int label = v.size() == 3 ? static_cast<int>(v[2]) : 1;
        if (v.size() == 3 && (v[2] != 0.0 && v[2] != 1.0)) {
            error = QStringLiteral("--point label must be 1 (foreground) or 0 (background), got '%1'").arg(text);
            return false;
        }
        prompt.points.push_back({v[0], v[1], label});
    }
    if (parser.isSet(QStringLiteral("box"))) {
        const QString text = parser.value(QStringLiteral("box"));
        if (!parseNumbers(text, 4, 4, v)) {
            error = QStringLiteral("--box needs x0,y0,x1,y1 (numbers), got '%1'").arg(text);
            return false;
        }
        prompt.box = predict::BoxPrompt{v[0], v[1], v[2], v[3]};
    }
    if (prompt.points.empty() && !prompt.box) {
        error = QStringLiteral("no prompt: give at least one --point or a --box");
        return false;
    }
    if (parser.isSet(QStringLiteral("multimask"))) {
        output = predict::MaskOutput::Multimask;
    } else if (parser.isSet(QStringLiteral("single-mask-rule"))) {
        const QString rule = parser.value(QStringLiteral("single-mask-rule"));
        if (rule == QLatin1String("onnx")) {
            output = predict::MaskOutput::OnnxSingle;
        } else if (rule == QLatin1String("token0")) {
            output = predict::MaskOutput::Token0;
        } else {
            error = QStringLiteral("--single-mask-rule must be 'onnx' or 'token0', got '%1'").arg(rule);
            return false;
        }
    }
    return true;
}

predict::MaskOutput maskOutputFor(const std::optional<predict::MaskOutput>& chosen, const models::SamModel& model)
{
    return chosen.value_or(predict::defaultSingleMaskOutput(model.config()));
}

nlohmann::json promptJson(const predict::Prompt& prompt)
{
    nlohmann::json j;
    j["points"] = nlohmann::json::array();
    for (const auto& p : prompt.points)
        j["points"].push_back({{"x", p.x}, {"y", p.y}, {"label", p.label}});
    j["box"] = prompt.box ? nlohmann::json{prompt.box->x0, prompt.box->y0, prompt.box->x1, prompt.box->y1}
                          : nlohmann::json(nullptr);
    return j;
}

std::size_t chosenMask(const predict::Prediction& prediction)
{
    return prediction.bestIndex();
}

}  // namespace birkhoff::cli
