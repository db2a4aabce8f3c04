// The image pipelines of the SAM families (models::ImagePipeline): how an RGB image becomes the
// encoder input, and how low-resolution mask logits become masks at the original resolution.
// One function each, switched on the model's configuration, so the predictor has no
// family-specific code paths of its own for pre/post-processing.
//
//   Sam           Pillow-exact bilinear resize of the 8-bit image (longest side), (x - mean)/std
//                 on 0..255 values, zero padding; logits -> square -> crop -> original (bilinear).
//   Sam2          torchvision Resize((S, S), antialias=True) on the [0, 1] float image
//                 (ATen's antialiased bilinear), ImageNet mean/std; logits bilinear to original.
//   EfficientSam  F.interpolate((S, S), bilinear, no antialias) on [0, 1] floats, ImageNet
//                 mean/std; logits bicubic to original; mask = logit >= threshold.
//   MedSam        skimage resize (order 3, anti_aliasing) to (S, S) then min-max to [0, 1]; here
//                 approximated (see medSamResize); sigmoid -> bilinear to original -> > 0.5.
#pragma once

#include "core/models/sam_config.h"

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

namespace birkhoff::predict {

/// Encoder input [1, 3, E, E] (E = config.encoderSize()) for an RGB8 image. `inputSize`
/// receives the size of the resized image in the prompt frame (config.imageSize): the part of
/// the square holding the image for Sam, the whole square for the other pipelines.
at::Tensor preprocessImage(const cv::Mat& rgb8, const models::SamConfig& config, cv::Size& inputSize);

/// MedSAM's resize of an 8-bit RGB image to `size` x `size`, returned as 8-bit (the official
/// skimage.transform.resize(order=3, preserve_range=True, anti_aliasing=True).astype(uint8)).
/// Approximation: Gaussian anti-aliasing with skimage's sigma = max(0, (scale - 1) / 2), then
/// OpenCV bicubic (Keys a = -0.75) instead of skimage's cubic spline, then truncation to 8 bits;
/// pixel values can differ from skimage's by a few levels.
cv::Mat medSamResize(const cv::Mat& rgb8, int size);

/// Low-res logits [K, h, w] -> per-pixel scores [K, H, W] at the original size under the
/// pipeline (MedSam: probabilities; the others: logits).
at::Tensor upscaleMasks(const at::Tensor& lowRes, const models::SamConfig& config, cv::Size inputSize,
                        cv::Size originalSize);

/// Binary masks of upscaleMasks() output: > threshold (Sam, Sam2), >= threshold (EfficientSam),
/// > 0.5 (MedSam probabilities).
at::Tensor thresholdMasks(const at::Tensor& scores, const models::SamConfig& config);

}  // namespace birkhoff::predict
