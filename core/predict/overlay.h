// Mask visualisation shared by the CLI and the GUI: a mask blended over the image with its
// outline, the prompts drawn on top, and two such panels side by side with titles.
#pragma once

#include "core/predict/predictor.h"

#include <opencv2/core/mat.hpp>

#include <filesystem>
#include <string>

namespace birkhoff::predict {

/// `rgb` (CV_8UC3) with `mask` (non-zero = inside, same size) tinted in `color` (RGB) at
/// `alpha` and outlined; the prompt's points (green = foreground, red = background) and box on top.
cv::Mat renderMaskOverlay(const cv::Mat& rgb, const cv::Mat& mask, const Prompt& prompt,
                          const cv::Scalar& color = cv::Scalar(30, 144, 255), double alpha = 0.45);

/// The two panels next to each other, each with a title bar above it (RGB).
cv::Mat sideBySide(const cv::Mat& left, const std::string& leftTitle, const cv::Mat& right,
                   const std::string& rightTitle);

/// Writes an RGB image as PNG atomically. @throws Error on failure.
void writeRgbPng(const std::filesystem::path& path, const cv::Mat& rgb);

}  // namespace birkhoff::predict
