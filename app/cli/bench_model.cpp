// `birkhoff bench model`: encoder time, decoder time per click and peak memory of the original
// model and (with --compressed) a compressed one, measured side by side in one run.
// LibTorch headers must come before Qt's (Qt's "slots" macro breaks them).
#include "core/bench/model_bench.h"
#include "core/predict/image_io.h"
#include "core/predict/pipeline.h"
#include "core/util/atomic_file.h"
#include "core/util/runtime.h"

#include "cli/bench.h"
#include "cli/command.h"
#include "cli/sam_options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

namespace birkhoff::cli {
namespace {

/// 1-minute load average (other work competing for the CPUs), or -1 if unknown.
double loadAverage()
{
    double load[1] = {-1.0};
    return getloadavg(load, 1) == 1 ? load[0] : -1.0;
}

nlohmann::json resultJson(const bench::ModelBenchResult& r)
{
    return {{"label", r.label},
            {"path", r.path},
            {"variant", r.variant},
            {"parameters", r.parameterCount},
            {"weight_bytes", r.weightBytes},
            {"compressed_linear_layers", r.compressedLinearLayers},
            {"threads", r.threads},
            {"load_ms", r.loadMs},
            {"preprocess_ms", r.preprocessMs},
            {"encoder_ms", r.encoderMs},
            {"encoder_min_ms", r.encoderMinMs},
            {"decoder_ms_per_click", r.decoderMs},
            {"postprocess_ms_per_click", r.postprocessMs},
            {"click_ms", r.clickMs},
            {"click_p90_ms", r.clickP90Ms},
            {"encoder_cpu_ms", r.encoderCpuMs},
            {"click_cpu_ms", r.clickCpuMs},
            {"rss_after_load_bytes", r.rssAfterLoadBytes},
            {"peak_rss_bytes", r.peakRssBytes}};
}

int runBenchModel(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Time the image encoder and the per-click decoder (prompt encoder + mask decoder + upscaling) and\n"
        "measure peak memory, for the original model and optionally a compressed one, in one run."));
    parser.addHelpOption();
    addModelOptions(parser);
    parser.addOption({QStringLiteral("compressed"), QStringLiteral("A second model measured after --model."),
                      QStringLiteral("C")});
    parser.addOption({QStringLiteral("image"),
                      QStringLiteral("Image to run on (default: a synthetic 1024x768 picture)."), QStringLiteral("I")});
    parser.addOption({QStringLiteral("encoder-runs"), QStringLiteral("Timed image encodings (default 3)."),
                      QStringLiteral("N"), QStringLiteral("3")});
    parser.addOption({QStringLiteral("clicks"), QStringLiteral("Timed single-click decodes (default 20)."),
                      QStringLiteral("N"), QStringLiteral("20")});
    parser.addOption({QStringLiteral("multimask"),
                      QStringLiteral("Per click, upscale the 3 candidate masks (default: the single mask of a live "
                                     "preview, ONNX rule).")});
    parser.addOption({QStringLiteral("save-input"),
                      QStringLiteral("Also write the original model's encoder input for the image (float32 NCHW, "
                                     "little-endian, raw) to FILE, so another runtime can be timed on the same "
                                     "tensor (scripts/bench_onnxruntime.sh)."),
                      QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    bench::ModelBenchOptions options;
    if (parser.isSet(QStringLiteral("multimask")))
        options.output = predict::MaskOutput::Multimask;
    bool okRuns = false, okClicks = false;
    options.encoderRuns = parser.value(QStringLiteral("encoder-runs")).toInt(&okRuns);
    options.clicks = parser.value(QStringLiteral("clicks")).toInt(&okClicks);
    if (!okRuns || !okClicks || options.encoderRuns < 1 || options.clicks < 1) {
        std::fprintf(stderr, "birkhoff bench model: --encoder-runs and --clicks need positive numbers\n");
        return kExitUsage;
    }

    return runGuarded(QStringLiteral("bench model"), [&] {
        std::optional<std::filesystem::path> config;
        if (parser.isSet(QStringLiteral("config")))
            config = parser.value(QStringLiteral("config")).toStdString();
        std::vector<bench::ModelUnderTest> models;
        const auto original = modelPathOption(parser);
        models.push_back({"original", original.string(), [original, config] { return loadModelFile(original, config); }});
        if (parser.isSet(QStringLiteral("compressed"))) {
            const std::filesystem::path compressed = parser.value(QStringLiteral("compressed")).toStdString();
            models.push_back({"compressed", compressed.string(), [compressed] { return loadModelFile(compressed, {}); }});
        }
        const cv::Mat image = parser.isSet(QStringLiteral("image"))
                                  ? predict::readImageRgb(parser.value(QStringLiteral("image")).toStdString())
                                  : bench::syntheticBenchImage({1024, 768});
        if (parser.isSet(QStringLiteral("save-input"))) {
            const auto model = loadModelFile(original, config);
            cv::Size inputSize;
            const at::Tensor input = predict::preprocessImage(image, model->config(), inputSize).contiguous();
            writeFileAtomically(parser.value(QStringLiteral("save-input")).toStdString(), [&](AtomicFileWriter& out) {
                out.write(input.data_ptr<float>(), static_cast<std::size_t>(input.numel()) * sizeof(float));
            });
        }
        const bool json = parser.isSet(QStringLiteral("json"));
        const auto results = bench::benchmarkModels(models, image, options, consoleProgress(json));

        if (json) {
            nlohmann::json j;
            j["image_size"] = {image.cols, image.rows};
            j["encoder_runs"] = options.encoderRuns;
            j["clicks"] = options.clicks;
            j["masks_per_click"] = predict::maskOutputName(options.output);
            j["load_average_1min"] = loadAverage();
            j["allocator"] = allocatorReport();
            j["models"] = nlohmann::json::array();
            for (const auto& r : results)
                j["models"].push_back(resultJson(r));
            if (results.size() == 2) {
                j["ratios"] = {{"encoder", results[1].encoderMs / results[0].encoderMs},
                               {"click", results[1].clickMs / results[0].clickMs},
                               {"peak_rss", static_cast<double>(results[1].peakRssBytes) / results[0].peakRssBytes},
                               {"weight_bytes", static_cast<double>(results[1].weightBytes) / results[0].weightBytes}};
            }
            printJson(j);
            return kExitOk;
        }
        std::printf("image %dx%d, %d encoder runs, %d clicks (%s masks), %d threads, load average %.2f\n", image.cols,
                    image.rows, options.encoderRuns, options.clicks, predict::maskOutputName(options.output),
                    results.front().threads, loadAverage());
        std::printf("allocator: %s\n", allocatorReport().c_str());
        std::printf("%-11s %-11s %8s %11s %11s %11s %11s %9s %10s %9s\n", "model", "variant", "load ms", "encoder ms",
                    "decoder ms", "postproc ms", "click ms", "click cpu", "weights MB", "peak MB");
        for (const auto& r : results)
            std::printf("%-11s %-11s %8.0f %11.0f %11.1f %11.1f %11.1f %9.1f %10.1f %9.1f\n", r.label.c_str(),
                        r.variant.c_str(), r.loadMs, r.encoderMs, r.decoderMs, r.postprocessMs, r.clickMs, r.clickCpuMs,
                        r.weightBytes / 1048576.0, r.peakRssBytes / 1048576.0);
        if (results.size() == 2)
            std::printf("compressed / original: encoder %.2fx, click %.2fx, weights %.2fx, peak memory %.2fx\n",
                        results[1].encoderMs / results[0].encoderMs, results[1].clickMs / results[0].clickMs,
                        static_cast<double>(results[1].weightBytes) / results[0].weightBytes,
                        static_cast<double>(results[1].peakRssBytes) / results[0].peakRssBytes);
        return kExitOk;
    });
}

const BenchmarkRegistrar registrar({QStringLiteral("model"),
                                    QStringLiteral("SAM encoder / per-click decoder time and peak memory"),
                                    runBenchModel});

}  // namespace
}  // namespace birkhoff::cli
