// Image input for the predictor: reading files into 8-bit RGB as users expect (grayscale,
// 16-bit and alpha images converted), the PIL-exact antialiased bilinear resize that the
// official SAM preprocessing uses, and mask PNG output.
//
// Why not cv::resize: segment_anything's ResizeLongestSide resizes through torchvision ->
// PIL Image.resize(BILINEAR), which when downscaling widens the triangle filter by the scale
// factor (antialiasing) and works in 8-bit fixed point, horizontal pass first. cv::resize's
// INTER_LINEAR uses a 2-tap kernel at any scale and INTER_AREA a box filter, so neither gives
// PIL's pixels. Measured against Pillow 9.4 on the golden images: upscaling dog.jpg 800x534 ->
// 1024x684, INTER_LINEAR differs by at most 1 level in 15.8 % of the samples; downscaling
// truck.jpg 1800x1200 -> 1024x683, INTER_LINEAR differs in 52.6 % of the samples by up to 64
// levels (mean 1.7) and INTER_AREA in 39.6 % by up to 33. resizeLikePil() reproduces Pillow's
// ImagingResample arithmetic and matches its output byte for byte on all golden images.
#pragma once

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>

namespace birkhoff::predict {

/// The largest image readImageRgb() decodes: 50 megapixels (8192 x 6104; decoding a 16-bit image
/// of that size peaks near 1 GB). SAM sees every image at 1024 pixels on its long side, so larger
/// photos gain nothing; a 30000 x 30000 PNG (a 2.6 MB file) would need 11 GB.
constexpr std::int64_t kMaxImagePixels = 50'000'000;

/// The width and height an image file's header states (PNG, JPEG, BMP, WebP, GIF), without
/// decoding it; nothing for other or unreadable formats.
std::optional<cv::Size> imageDimensions(const std::filesystem::path& path);

/// Reads an image file as 8-bit RGB (CV_8UC3, R,G,B order). EXIF orientation is applied (as
/// cv2.imread does); grayscale is replicated to 3 channels; 16-bit images are scaled to 8 bits
/// (v / 257, rounded); an alpha channel is dropped (as PIL's convert("RGB") does).
/// @throws Error naming the file when it is missing, states more than kMaxImagePixels pixels
///         (checked from the header before decoding; OpenCV's own limit is set to the same
///         value for formats whose header is not read here), or OpenCV cannot decode it.
cv::Mat readImageRgb(const std::filesystem::path& path);

/// Converts an in-memory image to 8-bit RGB. Accepts CV_8U/CV_16U/CV_32F with 1, 3 or 4
/// channels; 3/4-channel inputs are taken as RGB(A) (not OpenCV's BGR); float images are
/// taken as 0..1. @throws Error for empty images or other types.
cv::Mat toRgb8(const cv::Mat& image);

/// Pillow's Image.resize(size, BILINEAR) on 8-bit images (any channel count), bit-exact:
/// triangle filter with support scaled by max(1, in/out), coefficients normalised per output
/// pixel and quantised to 22-bit fixed point, horizontal pass then vertical pass, each rounded
/// and clamped to 8 bits. @throws Error for non-8-bit input or a non-positive size.
cv::Mat resizeLikePil(const cv::Mat& image, cv::Size size);

/// Writes a single-channel mask (non-zero = inside) as an 8-bit PNG with 255 inside, 0 outside,
/// atomically. @throws Error on I/O failure.
void writeMaskPng(const std::filesystem::path& path, const cv::Mat& mask);

/// Reads a mask PNG (non-zero = inside) as CV_8UC1 0/1. @throws Error if unreadable.
cv::Mat readMaskPng(const std::filesystem::path& path);

/// Intersection over union of two same-sized masks (non-zero = inside); 1 when both are empty.
double maskIou(const cv::Mat& a, const cv::Mat& b);

}  // namespace birkhoff::predict
