// `birkhoff compare`: runs two SAM models (the original and a compressed one) on the same image
// and prompts, and reports how far apart their masks are (mask IoU), each model's predicted
// IoU and encoder/decoder times; optionally writes both masks side by side as a PNG.
// LibTorch headers must come before Qt's (Qt's "slots" macro breaks them).
#include "core/predict/image_io.h"
#include "core/predict/overlay.h"
#include "core/predict/predictor.h"

#include "cli/command.h"
#include "cli/sam_options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace birkhoff::cli {
namespace {

struct ModelRun {
    std::filesystem::path path;
    models::ModelFile layout;  ///< path, family and tensor shapes only (the model is released)
    std::string variant;
    models::ModelInfo info;
    predict::MaskOutput output = predict::MaskOutput::OnnxSingle;  ///< the rule this model used
    std::shared_ptr<const predict::ImageEmbedding> embedding;
    predict::Prediction prediction;
    std::size_t chosen = 0;
};

ModelRun runModel(const std::filesystem::path& path, const std::optional<std::filesystem::path>& config,
                  const cv::Mat& image, const predict::Prompt& prompt, const std::optional<predict::MaskOutput>& output,
                  bool hqTokenOnly, const models::ModelFile* mustMatch)
{
    ModelRun run;
    run.path = path;
    models::ModelFile file = openRunnableModelFile(path, config);
    if (mustMatch != nullptr) {
        try {
            models::checkCompressedMatches(*mustMatch, file);
        } catch (const Error& e) {
            throw Error(std::string(e.what()) + " (pass --any-models to compare them anyway)");
        }
    }
    run.layout.path = file.path;
    run.layout.family = file.family;
    run.layout.shapes = file.shapes;
    const std::shared_ptr<const models::SamModel> model = std::move(file.model);  // released on return: one model in memory at a time
    file = models::ModelFile{};
    predict::PredictOptions options;
    options.output = run.output = maskOutputFor(output, *model);
    options.hqTokenOnly = hqTokenOnly;
    run.variant = model->config().variant;
    run.info = model->info;
    predict::SamPredictor predictor(model);
    run.embedding = predictor.setImage(image);
    run.prediction = predictor.predict(prompt, options);
    run.chosen = chosenMask(run.prediction);
    return run;
}

nlohmann::json runJson(const ModelRun& run)
{
    nlohmann::json j;
    j["path"] = run.path.string();
    j["variant"] = run.variant;
    j["weight_bytes"] = run.info.weightBytes;
    j["compressed_linear_layers"] = run.info.compressedLinearLayers;
    j["mask_output"] = predict::maskOutputName(run.output);
    j["chosen"] = run.chosen;
    j["chosen_token"] = run.prediction.tokens[run.chosen];
    j["predicted_iou"] = run.prediction.iouPredictions[static_cast<std::int64_t>(run.chosen)].item<double>();
    j["masks"] = nlohmann::json::array();
    for (std::size_t k = 0; k < run.prediction.count(); ++k)
        j["masks"].push_back({{"token", run.prediction.tokens[k]},
                              {"predicted_iou", run.prediction.iouPredictions[static_cast<std::int64_t>(k)].item<double>()},
                              {"area_pixels", run.prediction.masks[static_cast<std::int64_t>(k)].sum().item<std::int64_t>()}});
    j["timings_ms"] = {{"load", run.info.loadMs},
                       {"preprocess", run.embedding->preprocessMs},
                       {"encoder", run.embedding->encoderMs},
                       {"decoder", run.prediction.decoderMs},
                       {"postprocess", run.prediction.postprocessMs}};
    return j;
}

std::string panelTitle(const char* name, const ModelRun& run)
{
    std::ostringstream s;
    s << name << ": predicted IoU " << std::fixed << std::setprecision(3)
      << run.prediction.iouPredictions[static_cast<std::int64_t>(run.chosen)].item<double>() << ", token "
      << run.prediction.tokens[run.chosen];
    return s.str();
}

int runCompare(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Compare the masks of an original and a compressed SAM model on one image and prompt.\n"
        "Example: birkhoff compare --model sam.pth --compressed sam_small.pth --image photo.jpg --point 320,240"));
    parser.addHelpOption();
    addModelOptions(parser);
    parser.addOption({QStringLiteral("compressed"), QStringLiteral("The model to compare against --model."),
                      QStringLiteral("C")});
    parser.addOption({QStringLiteral("compressed-config"),
                      QStringLiteral("config.json for --compressed (default: --config, or the one beside it)."),
                      QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("image"), QStringLiteral("Input image."), QStringLiteral("I")});
    addPromptOptions(parser);
    parser.addOption({QStringLiteral("side-by-side"),
                      QStringLiteral("Write both chosen masks over the image, side by side, to this PNG."),
                      QStringLiteral("OUT.png")});
    parser.addOption({QStringLiteral("any-models"),
                      QStringLiteral("Compare models of different families or tensor layouts (by default --compressed "
                                     "must have --model's layout, as a file compressed from it has).")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    auto usage = [&](const QString& message) {
        std::fprintf(stderr, "birkhoff compare: %s\n\n%s", qPrintable(message), qPrintable(parser.helpText()));
        return kExitUsage;
    };
    if (!parser.isSet(QStringLiteral("compressed")))
        return usage(QStringLiteral("--compressed is required"));
    if (!parser.isSet(QStringLiteral("image")))
        return usage(QStringLiteral("--image is required"));
    predict::Prompt prompt;
    std::optional<predict::MaskOutput> output;
    QString error;
    if (!parsePromptOptions(parser, prompt, output, error))
        return usage(error);

    return runGuarded(QStringLiteral("compare"), [&] {
        std::optional<std::filesystem::path> config, compressedConfig;
        if (parser.isSet(QStringLiteral("config")))
            config = compressedConfig = parser.value(QStringLiteral("config")).toStdString();
        if (parser.isSet(QStringLiteral("compressed-config")))
            compressedConfig = parser.value(QStringLiteral("compressed-config")).toStdString();
        const std::filesystem::path imagePath = parser.value(QStringLiteral("image")).toStdString();
        const cv::Mat image = predict::readImageRgb(imagePath);
        const bool hqTokenOnly = parser.isSet(QStringLiteral("hq-token-only"));
        const ModelRun original = runModel(modelPathOption(parser), config, image, prompt, output, hqTokenOnly, nullptr);
        const ModelRun compressed =
            runModel(parser.value(QStringLiteral("compressed")).toStdString(), compressedConfig, image, prompt, output,
                     hqTokenOnly, parser.isSet(QStringLiteral("any-models")) ? nullptr : &original.layout);
        if (original.prediction.count() != compressed.prediction.count())
            throw Error("the two models returned different numbers of masks");

        const cv::Mat maskA = original.prediction.maskImage(original.chosen);
        const cv::Mat maskB = compressed.prediction.maskImage(compressed.chosen);
        const double chosenIou = predict::maskIou(maskA, maskB);
        std::vector<double> perToken;
        for (std::size_t k = 0; k < original.prediction.count(); ++k)
            perToken.push_back(predict::maskIou(original.prediction.maskImage(k), compressed.prediction.maskImage(k)));

        std::string sideBySidePath;
        if (parser.isSet(QStringLiteral("side-by-side"))) {
            sideBySidePath = parser.value(QStringLiteral("side-by-side")).toStdString();
            const cv::Mat left = predict::renderMaskOverlay(image, maskA, prompt, cv::Scalar(30, 144, 255));
            const cv::Mat right = predict::renderMaskOverlay(image, maskB, prompt, cv::Scalar(255, 140, 0));
            std::ostringstream rightTitle;
            rightTitle << panelTitle("compressed", compressed) << "; mask IoU " << std::fixed << std::setprecision(4)
                       << chosenIou;
            predict::writeRgbPng(sideBySidePath, predict::sideBySide(left, panelTitle("original", original), right,
                                                                     rightTitle.str()));
        }

        if (parser.isSet(QStringLiteral("json"))) {
            nlohmann::json j;
            j["image"] = imagePath.string();
            j["image_size"] = {image.cols, image.rows};
            j["prompt"] = promptJson(prompt);
            j["mask_output"] = predict::maskOutputName(original.output);
            j["original"] = runJson(original);
            j["compressed"] = runJson(compressed);
            j["mask_iou"] = chosenIou;
            j["mask_iou_per_candidate"] = perToken;
            j["side_by_side"] = sideBySidePath.empty() ? nlohmann::json(nullptr) : nlohmann::json(sideBySidePath);
            printJson(j);
            return kExitOk;
        }
        std::printf("image %s (%dx%d), %s masks\n", imagePath.string().c_str(), image.cols, image.rows,
                    predict::maskOutputName(original.output));
        std::printf("%-11s %-9s %-14s %-12s %-12s %s\n", "model", "token", "predicted IoU", "encoder ms", "decoder ms",
                    "file");
        for (const auto* run : {&original, &compressed})
            std::printf("%-11s %-9d %-14.4f %-12.0f %-12.1f %s\n", run == &original ? "original" : "compressed",
                        run->prediction.tokens[run->chosen],
                        run->prediction.iouPredictions[static_cast<std::int64_t>(run->chosen)].item<double>(),
                        run->embedding->encoderMs, run->prediction.decoderMs + run->prediction.postprocessMs,
                        run->path.string().c_str());
        std::printf("mask IoU between the models: %.4f\n", chosenIou);
        if (perToken.size() > 1) {
            std::printf("mask IoU per candidate:");
            for (std::size_t k = 0; k < perToken.size(); ++k)
                std::printf(" token %d %.4f", original.prediction.tokens[k], perToken[k]);
            std::printf("\n");
        }
        if (!sideBySidePath.empty())
            std::printf("side by side: %s\n", sideBySidePath.c_str());
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("compare"),
                                  QStringLiteral("Compare masks of an original and a compressed SAM model"), runCompare});

}  // namespace
}  // namespace birkhoff::cli
