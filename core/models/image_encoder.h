// The interface every SAM-family image encoder implements (ViT, TinyViT, ...): a normalised,
// padded square image in, the image embedding out. The predictor and the model know encoders
// only through it.
#pragma once

#include <torch/nn/module.h>

namespace birkhoff::models {

class ImageEncoder : public torch::nn::Module {
public:
    /// image: [B, 3, S, S] float32 (normalised, zero-padded). Returns [B, C, g, g] float32.
    /// Must be safe to call from several threads at once (no mutable state).
    virtual at::Tensor forward(const at::Tensor& image) const = 0;
};

}  // namespace birkhoff::models
