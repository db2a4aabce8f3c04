// The interface every SAM-family image encoder implements (ViT, TinyViT, Hiera, RepViT, ...): a
// normalised square image in, the image embedding (and, for SAM 2 and SAM-HQ, extra feature
// maps) out. The predictor and the model know encoders only through it.
#pragma once

#include <torch/nn/module.h>

#include <vector>

namespace birkhoff::models {

/// What an image encoder hands to the rest of the model for one image.
struct ImageFeatures {
    at::Tensor embedding;              ///< [B, C, g, g] image embedding
    /// Extra NCHW maps the family's decoder consumes, highest resolution first: SAM 2's FPN
    /// levels 0 and 1 (or, after SamModel::encodeFeatures, conv_s0/conv_s1 of them), SAM-HQ's
    /// early encoder features (after SamModel::encodeFeatures, the fused HQ features). Empty
    /// for the other families.
    std::vector<at::Tensor> highRes;
};

class ImageEncoder : public torch::nn::Module {
public:
    /// image: [B, 3, S, S] float32 (normalised, zero-padded). Returns [B, C, g, g] float32.
    /// Must be safe to call from several threads at once (no mutable state).
    virtual at::Tensor forward(const at::Tensor& image) const = 0;
    /// forward() plus the extra maps the decoder needs (default: none).
    virtual ImageFeatures forwardFeatures(const at::Tensor& image) const { return {forward(image), {}}; }
};

}  // namespace birkhoff::models
