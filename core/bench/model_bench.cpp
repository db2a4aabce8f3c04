// Model benchmark: load, encoder and per-click decoder timings and peak memory per model.
#include "core/bench/model_bench.h"

#include "core/predict/predictor.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>

namespace birkhoff::bench {
namespace {

double msSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double percentile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

std::int64_t statusField(const char* field)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string key = std::string(field) + ":";
    while (std::getline(in, line)) {
        if (line.compare(0, key.size(), key) == 0) {
            std::istringstream s(line.substr(key.size()));
            std::int64_t kb = 0;
            s >> kb;
            return kb * 1024;
        }
    }
    return 0;
}

}  // namespace

double processCpuMs()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

std::int64_t currentRssBytes()
{
    return statusField("VmRSS");
}

std::int64_t peakRssBytes()
{
    return statusField("VmHWM");
}

void resetPeakRss()
{
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
}

cv::Mat syntheticBenchImage(cv::Size size)
{
    cv::Mat image(size, CV_8UC3);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 255 / std::max(1, size.width - 1)),
                                                  static_cast<uchar>(y * 255 / std::max(1, size.height - 1)), 96);
    const int unit = std::max(1, std::min(size.width, size.height) / 8);
    cv::circle(image, {size.width / 3, size.height / 2}, 2 * unit, cv::Scalar(220, 40, 40), cv::FILLED);
    cv::rectangle(image, cv::Rect(size.width / 2, size.height / 4, 3 * unit, 2 * unit), cv::Scalar(30, 200, 60),
                  cv::FILLED);
    cv::ellipse(image, {3 * size.width / 4, 3 * size.height / 4}, {2 * unit, unit}, 30, 0, 360,
                cv::Scalar(250, 250, 250), cv::FILLED);
    return image;
}

std::vector<ModelBenchResult> benchmarkModels(const std::vector<ModelUnderTest>& models, const cv::Mat& image,
                                              const ModelBenchOptions& options, const Progress& progress)
{
    if (options.encoderRuns < 1 || options.clicks < 1)
        throw Error("bench model: encoder runs and clicks must be at least 1");
    std::vector<ModelBenchResult> results;
    const double steps = static_cast<double>(models.size());
    for (std::size_t m = 0; m < models.size(); ++m) {
        const auto& entry = models[m];
        progress.checkCancelled();
        progress.report(static_cast<double>(m) / steps, "loading " + entry.label + " model " + entry.path);
        resetPeakRss();
        ModelBenchResult r;
        r.label = entry.label;
        r.path = entry.path;
        r.threads = at::get_num_threads();
        const auto loadStart = std::chrono::steady_clock::now();
        std::shared_ptr<models::SamModel> model = entry.load();
        r.loadMs = msSince(loadStart);
        r.rssAfterLoadBytes = currentRssBytes();
        r.variant = model->config().variant;
        r.parameterCount = model->info.parameterCount;
        r.weightBytes = model->info.weightBytes;
        r.compressedLinearLayers = model->info.compressedLinearLayers;

        predict::SamPredictor predictor(model);
        std::vector<double> encoder, preprocess, encoderCpu;
        for (int i = 0; i < options.warmup + options.encoderRuns; ++i) {
            progress.checkCancelled();
            progress.report((static_cast<double>(m) + 0.5 * i / (options.warmup + options.encoderRuns)) / steps,
                            entry.label + ": image encoder");
            const double cpuStart = processCpuMs();
            const auto embedding = predictor.setImage(image);
            if (i >= options.warmup) {
                encoder.push_back(embedding->encoderMs);
                preprocess.push_back(embedding->preprocessMs);
                encoderCpu.push_back(processCpuMs() - cpuStart);
            }
        }
        predict::PredictOptions predictOptions;
        predictOptions.output = options.output;
        std::vector<double> decoder, post, click, clickCpu;
        const int grid = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(options.clicks))));
        for (int i = 0; i < options.warmup + options.clicks; ++i) {
            progress.checkCancelled();
            const int k = i % (grid * grid);
            predict::Prompt prompt;
            prompt.points.push_back({(k % grid + 0.5) * image.cols / grid, (k / grid + 0.5) * image.rows / grid, 1});
            const double cpuStart = processCpuMs();
            const auto start = std::chrono::steady_clock::now();
            const predict::Prediction p = predictor.predict(prompt, predictOptions);
            const double total = msSince(start);
            if (i >= options.warmup) {
                decoder.push_back(p.decoderMs);
                post.push_back(p.postprocessMs);
                click.push_back(total);
                clickCpu.push_back(processCpuMs() - cpuStart);
            }
        }
        r.encoderMs = percentile(encoder, 0.5);
        r.encoderMinMs = *std::min_element(encoder.begin(), encoder.end());
        r.preprocessMs = percentile(preprocess, 0.5);
        r.decoderMs = percentile(decoder, 0.5);
        r.postprocessMs = percentile(post, 0.5);
        r.clickMs = percentile(click, 0.5);
        r.clickP90Ms = percentile(click, 0.9);
        r.encoderCpuMs = percentile(encoderCpu, 0.5);
        r.clickCpuMs = percentile(clickCpu, 0.5);
        r.peakRssBytes = peakRssBytes();
        results.push_back(r);
    }
    progress.report(1.0, "done");
    return results;
}

}  // namespace birkhoff::bench
