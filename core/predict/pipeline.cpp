// Family image pipelines: preprocessing and mask post-processing.
#include "core/predict/pipeline.h"

#include "core/predict/image_io.h"
#include "core/predict/upsample.h"
#include "core/util/error.h"

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace birkhoff::predict {
namespace {

/// [1, 3, H, W] float32 of an RGB8 image, values as stored (0..255).
at::Tensor pixelsOf(const cv::Mat& rgb8)
{
    return at::from_blob(const_cast<std::uint8_t*>(rgb8.ptr<std::uint8_t>()), {rgb8.rows, rgb8.cols, 3},
                         {static_cast<std::int64_t>(rgb8.step[0]), 3, 1}, at::kByte)
        .permute({2, 0, 1})
        .to(at::kFloat)
        .unsqueeze(0);
}

at::Tensor channelVector(const std::array<double, 3>& values, double scale)
{
    return at::tensor({static_cast<float>(values[0] * scale), static_cast<float>(values[1] * scale),
                       static_cast<float>(values[2] * scale)})
        .view({1, 3, 1, 1});
}

cv::Size longestSide(cv::Size original, std::int64_t longSide)
{
    const double scale = static_cast<double>(longSide) / std::max(original.width, original.height);
    return {static_cast<int>(original.width * scale + 0.5), static_cast<int>(original.height * scale + 0.5)};
}

}  // namespace

cv::Mat medSamResize(const cv::Mat& rgb8, int size)
{
    cv::Mat image;
    rgb8.convertTo(image, CV_32FC3);
    const double sigmaX = std::max(0.0, (static_cast<double>(rgb8.cols) / size - 1.0) / 2.0);
    const double sigmaY = std::max(0.0, (static_cast<double>(rgb8.rows) / size - 1.0) / 2.0);
    if (sigmaX > 0 || sigmaY > 0)
        cv::GaussianBlur(image, image, cv::Size(0, 0), std::max(sigmaX, 1e-6), std::max(sigmaY, 1e-6), cv::BORDER_REFLECT);
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
    cv::Mat clipped = cv::max(cv::min(resized, 255.0), 0.0);
    cv::Mat out(clipped.size(), CV_8UC3);
    for (int y = 0; y < clipped.rows; ++y) {
        const float* src = clipped.ptr<float>(y);
        std::uint8_t* dst = out.ptr<std::uint8_t>(y);
        for (int x = 0; x < clipped.cols * 3; ++x)
            dst[x] = static_cast<std::uint8_t>(src[x]);  // astype(np.uint8) truncates
    }
    return out;
}

at::Tensor preprocessImage(const cv::Mat& rgb8, const models::SamConfig& config, cv::Size& inputSize)
{
    const std::int64_t encoderSize = config.encoderSize();
    const auto& pre = config.preprocess;
    const int side = static_cast<int>(encoderSize);
    switch (pre.pipeline) {
    case models::ImagePipeline::Sam: {
        const cv::Size resizedSize = longestSide(rgb8.size(), encoderSize);
        inputSize = longestSide(rgb8.size(), config.imageSize);
        const cv::Mat resized = resizeLikePil(rgb8, resizedSize);
        const at::Tensor normalised = (pixelsOf(resized) - channelVector(pre.pixelMean, 1.0)) /
                                      channelVector(pre.pixelStd, 1.0);
        at::Tensor input = at::zeros({1, 3, encoderSize, encoderSize}, at::kFloat);
        input.narrow(2, 0, resized.rows).narrow(3, 0, resized.cols).copy_(normalised);
        return input;
    }
    case models::ImagePipeline::Sam2:
    case models::ImagePipeline::EfficientSam: {
        inputSize = cv::Size(static_cast<int>(config.imageSize), static_cast<int>(config.imageSize));
        const at::Tensor unit = pixelsOf(rgb8) / 255.0;
        const std::vector<std::int64_t> size{encoderSize, encoderSize};
        const at::Tensor resized = pre.pipeline == models::ImagePipeline::Sam2
                                       ? at::_upsample_bilinear2d_aa(unit, at::IntArrayRef(size), /*align_corners=*/false)
                                       : at::upsample_bilinear2d(unit, at::IntArrayRef(size), /*align_corners=*/false);
        return ((resized - channelVector(pre.pixelMean, 1.0 / 255.0)) / channelVector(pre.pixelStd, 1.0 / 255.0))
            .contiguous();
    }
    case models::ImagePipeline::MedSam: {
        inputSize = cv::Size(static_cast<int>(config.imageSize), static_cast<int>(config.imageSize));
        const at::Tensor pixels = pixelsOf(medSamResize(rgb8, side));
        const at::Tensor low = pixels.min(), high = pixels.max();
        return ((pixels - low) / at::clamp_min(high - low, 1e-8)).contiguous();
    }
    }
    throw Error("unknown image pipeline");
}

at::Tensor upscaleMasks(const at::Tensor& lowRes, const models::SamConfig& config, cv::Size inputSize,
                        cv::Size originalSize)
{
    const float h = static_cast<float>(lowRes.size(-2)), w = static_cast<float>(lowRes.size(-1));
    const auto directBilinear = [&](const at::Tensor& maps) {
        return resizeBilinear(maps.contiguous(), originalSize.height, originalSize.width,
                              h / static_cast<float>(originalSize.height), w / static_cast<float>(originalSize.width));
    };
    switch (config.preprocess.pipeline) {
    case models::ImagePipeline::Sam: {
        // Bilinear to the padded square, crop to the resized image, bilinear to the original; only
        // the part of the square that survives the crop is computed (same values).
        const float squareRatio = w / static_cast<float>(config.imageSize);
        const at::Tensor square = resizeBilinear(lowRes.contiguous(), inputSize.height, inputSize.width, squareRatio,
                                                 squareRatio);
        return resizeBilinear(square, originalSize.height, originalSize.width,
                              static_cast<float>(inputSize.height) / static_cast<float>(originalSize.height),
                              static_cast<float>(inputSize.width) / static_cast<float>(originalSize.width));
    }
    case models::ImagePipeline::Sam2: return directBilinear(lowRes);
    case models::ImagePipeline::EfficientSam: {
        const std::vector<std::int64_t> size{originalSize.height, originalSize.width};
        return at::upsample_bicubic2d(lowRes.unsqueeze(0), at::IntArrayRef(size), /*align_corners=*/false).squeeze(0);
    }
    case models::ImagePipeline::MedSam: return directBilinear(at::sigmoid(lowRes));
    }
    throw Error("unknown image pipeline");
}

at::Tensor thresholdMasks(const at::Tensor& scores, const models::SamConfig& config)
{
    const double threshold = config.preprocess.maskThreshold;
    switch (config.preprocess.pipeline) {
    case models::ImagePipeline::EfficientSam: return scores.ge(threshold);
    case models::ImagePipeline::MedSam: return scores.gt(0.5);
    case models::ImagePipeline::Sam:
    case models::ImagePipeline::Sam2: break;
    }
    return scores.gt(threshold);
}

}  // namespace birkhoff::predict
