// `birkhoff bench model`: how fast a SAM model runs in this process, measured the way users
// feel it: model load, image encoder (once per image), and one prompt decode + post-processing
// to the original resolution per click, plus the peak resident memory of each model's phase.
// Several models measured by one call run one after the other in the same process, each with
// its own peak (the kernel's high-water mark is reset between models), so original and
// compressed models are compared side by side in one run.
#pragma once

#include "core/models/sam_model.h"
#include "core/predict/predictor.h"
#include "core/util/progress.h"

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace birkhoff::bench {

struct ModelBenchOptions {
    int encoderRuns = 3;  ///< image encodings timed (the median is reported)
    int clicks = 20;      ///< single-point prompts decoded (the median is reported)
    int warmup = 1;       ///< untimed runs of each before measuring
    /// Masks per click: the single mask of a live preview (ONNX rule, default) or the three
    /// multimask candidates, each upscaled to the original size.
    predict::MaskOutput output = predict::MaskOutput::OnnxSingle;
};

struct ModelBenchResult {
    std::string label;             ///< "original", "compressed", ...
    std::string path;
    std::string variant;
    std::int64_t parameterCount = 0;
    std::int64_t weightBytes = 0;
    std::int64_t compressedLinearLayers = 0;
    double loadMs = 0;
    double preprocessMs = 0;       ///< resize + normalise (median)
    double encoderMs = 0;          ///< median
    double encoderMinMs = 0;
    double decoderMs = 0;          ///< per click: prompt encoder + mask decoder (median)
    double postprocessMs = 0;      ///< per click: upscaling to the original size + threshold (median)
    double clickMs = 0;            ///< per click, decoder + post-processing (median)
    double clickP90Ms = 0;
    /// Process CPU time (all threads) per encoding / per click (median): on a machine shared
    /// with other work this shows the cost independently of how much CPU the process got.
    double encoderCpuMs = 0;
    double clickCpuMs = 0;
    std::int64_t peakRssBytes = 0; ///< peak resident memory while loading and running this model
    std::int64_t rssAfterLoadBytes = 0;
    int threads = 0;
};

/// A model to measure: a label and how to load it (so each is loaded inside its own
/// measured phase and released before the next).
struct ModelUnderTest {
    std::string label;
    std::string path;
    std::function<std::shared_ptr<models::SamModel>()> load;
};

/// A deterministic test picture (gradients and shapes) of the given size, RGB8.
cv::Mat syntheticBenchImage(cv::Size size);

/// Measures each model in turn on `image` (RGB8) with `options`; clicks are spread over the
/// image on a fixed grid. @throws Error from loading; CancelledError when cancelled.
std::vector<ModelBenchResult> benchmarkModels(const std::vector<ModelUnderTest>& models, const cv::Mat& image,
                                              const ModelBenchOptions& options, const Progress& progress = {});

/// CPU time consumed by this process so far (all threads), in milliseconds.
double processCpuMs();

/// Current and peak resident set size of this process (bytes), from /proc/self/status.
std::int64_t currentRssBytes();
std::int64_t peakRssBytes();
/// Resets the peak resident set size to the current size (Linux >= 4.0; no-op elsewhere).
void resetPeakRss();

}  // namespace birkhoff::bench
