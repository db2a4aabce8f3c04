// `birkhoff segment`: runs a SAM model on one image with point/box prompts and writes the mask
// PNG(s); prints the predicted IoU and the encoder/decoder times (text or JSON).
// LibTorch headers must come before Qt's (Qt's "slots" macro breaks them).
#include "core/predict/image_io.h"
#include "core/predict/predictor.h"

#include "cli/command.h"
#include "cli/sam_options.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

int runSegment(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Segment an image with a SAM model from point and/or box prompts.\n"
        "Example: birkhoff segment --image photo.jpg --point 320,240 --multimask -o mask.png"));
    parser.addHelpOption();
    addModelOptions(parser);
    parser.addOption({QStringLiteral("image"), QStringLiteral("Input image (any format OpenCV reads)."), QStringLiteral("I")});
    addPromptOptions(parser);
    parser.addOption({{QStringLiteral("o"), QStringLiteral("output")},
                      QStringLiteral("Mask PNG to write (255 inside, 0 outside; the best-IoU candidate with --multimask)."),
                      QStringLiteral("mask.png")});
    parser.addOption({QStringLiteral("all-masks"),
                      QStringLiteral("Also write every returned mask as DIR/mask_<k>_token<t>.png."), QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    auto usage = [&](const QString& message) {
        std::fprintf(stderr, "birkhoff segment: %s\n\n%s", qPrintable(message), qPrintable(parser.helpText()));
        return kExitUsage;
    };
    if (!parser.isSet(QStringLiteral("image")))
        return usage(QStringLiteral("--image is required"));
    if (!parser.isSet(QStringLiteral("output")) && !parser.isSet(QStringLiteral("all-masks")))
        return usage(QStringLiteral("give -o mask.png and/or --all-masks DIR"));
    predict::Prompt prompt;
    std::optional<predict::MaskOutput> chosenOutput;
    QString error;
    if (!parsePromptOptions(parser, prompt, chosenOutput, error))
        return usage(error);

    return runGuarded(QStringLiteral("segment"), [&] {
        const auto modelPath = modelPathOption(parser);
        std::optional<std::filesystem::path> configPath;
        if (parser.isSet(QStringLiteral("config")))
            configPath = parser.value(QStringLiteral("config")).toStdString();
        const auto model = loadModelFile(modelPath, configPath);
        const predict::MaskOutput output = maskOutputFor(chosenOutput, *model);
        const std::filesystem::path imagePath = parser.value(QStringLiteral("image")).toStdString();
        const cv::Mat image = predict::readImageRgb(imagePath);

        predict::SamPredictor predictor(model);
        const auto embedding = predictor.setImage(image);
        predict::PredictOptions options;
        options.output = output;
        options.hqTokenOnly = parser.isSet(QStringLiteral("hq-token-only"));
        const predict::Prediction prediction = predictor.predict(prompt, options);
        const std::size_t chosen = chosenMask(prediction);

        std::vector<std::string> written(prediction.count());
        if (parser.isSet(QStringLiteral("all-masks"))) {
            const std::filesystem::path dir = parser.value(QStringLiteral("all-masks")).toStdString();
            std::error_code ec;
            std::filesystem::create_directories(dir, ec);
            if (ec)
                throw Error("cannot create directory " + dir.string() + ": " + ec.message());
            for (std::size_t k = 0; k < prediction.count(); ++k) {
                const auto file = dir / ("mask_" + std::to_string(k) + "_token" + std::to_string(prediction.tokens[k]) + ".png");
                predict::writeMaskPng(file, prediction.maskImage(k));
                written[k] = file.string();
            }
        }
        std::string outputFile;
        if (parser.isSet(QStringLiteral("output"))) {
            outputFile = parser.value(QStringLiteral("output")).toStdString();
            predict::writeMaskPng(outputFile, prediction.maskImage(chosen));
        }

        if (parser.isSet(QStringLiteral("json"))) {
            nlohmann::json j;
            j["model"] = modelPath.string();
            j["variant"] = model->config().variant;
            j["image"] = imagePath.string();
            j["image_size"] = {image.cols, image.rows};
            j["prompt"] = promptJson(prompt);
            j["mask_output"] = predict::maskOutputName(output);
            j["masks"] = nlohmann::json::array();
            for (std::size_t k = 0; k < prediction.count(); ++k) {
                nlohmann::json m;
                m["token"] = prediction.tokens[k];
                m["predicted_iou"] = prediction.iouPredictions[static_cast<std::int64_t>(k)].item<double>();
                m["area_pixels"] = prediction.masks[static_cast<std::int64_t>(k)].sum().item<std::int64_t>();
                m["file"] = written[k].empty() ? nlohmann::json(nullptr) : nlohmann::json(written[k]);
                j["masks"].push_back(m);
            }
            j["chosen"] = chosen;
            j["output"] = outputFile.empty() ? nlohmann::json(nullptr) : nlohmann::json(outputFile);
            j["timings_ms"] = {{"load", model->info.loadMs},
                               {"preprocess", embedding->preprocessMs},
                               {"encoder", embedding->encoderMs},
                               {"decoder", prediction.decoderMs},
                               {"postprocess", prediction.postprocessMs}};
            printJson(j);
        } else {
            std::printf("model %s (%s), image %s (%dx%d)\n", modelPath.string().c_str(), model->config().variant.c_str(),
                        imagePath.string().c_str(), image.cols, image.rows);
            for (std::size_t k = 0; k < prediction.count(); ++k)
                std::printf("mask %zu: token %d, predicted IoU %.4f, %lld pixels%s%s\n", k, prediction.tokens[k],
                            prediction.iouPredictions[static_cast<std::int64_t>(k)].item<double>(),
                            static_cast<long long>(prediction.masks[static_cast<std::int64_t>(k)].sum().item<std::int64_t>()),
                            k == chosen && !outputFile.empty() ? " -> " : "", k == chosen ? outputFile.c_str() : "");
            std::printf("times: load %.0f ms, preprocess %.0f ms, encoder %.0f ms, decoder %.1f ms, postprocess %.1f ms\n",
                        model->info.loadMs, embedding->preprocessMs, embedding->encoderMs, prediction.decoderMs,
                        prediction.postprocessMs);
        }
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("segment"),
                                  QStringLiteral("Segment an image with a SAM model from point/box prompts"),
                                  runSegment});

}  // namespace
}  // namespace birkhoff::cli
