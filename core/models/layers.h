// Small building blocks shared by the SAM-family modules: convolutions, normalisations and
// embedding tables whose parameter and buffer names equal PyTorch's (weight, bias,
// running_mean, ...), so a checkpoint loads by a name-for-name copy. Every forward() is const
// and free of hidden state, so one model can serve several threads at once (inference only).
#pragma once

#include "core/models/linear.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace birkhoff::models {

/// nn.Conv2d: parameters "weight" [out, in/groups, k, k] and optionally "bias" [out].
class Conv2dImpl : public torch::nn::Module {
public:
    struct Options {
        std::int64_t in = 0;
        std::int64_t out = 0;
        std::int64_t kernel = 1;
        std::int64_t stride = 1;
        std::int64_t padding = 0;
        std::int64_t groups = 1;
        bool bias = true;
    };
    explicit Conv2dImpl(const Options& options);
    at::Tensor forward(const at::Tensor& x) const;

    at::Tensor weight;
    at::Tensor bias;

private:
    Options options_;
};
TORCH_MODULE(Conv2d);

/// nn.ConvTranspose2d with stride == kernel and no padding (the SAM upscaling layers):
/// "weight" [in, out, k, k] and "bias" [out].
class ConvTranspose2dImpl : public torch::nn::Module {
public:
    ConvTranspose2dImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride);
    at::Tensor forward(const at::Tensor& x) const;
    /// The same layer on channels-last input: x [B, H, W, in] -> [B, H*k, W*k, out]
    /// (stride == kernel only).
    at::Tensor forwardChannelsLast(const at::Tensor& x) const;

    at::Tensor weight;
    at::Tensor bias;

private:
    std::int64_t stride_;
};
TORCH_MODULE(ConvTranspose2d);

/// nn.LayerNorm over the last dimension: "weight" [C], "bias" [C].
class LayerNormImpl : public torch::nn::Module {
public:
    LayerNormImpl(std::int64_t channels, double eps);
    at::Tensor forward(const at::Tensor& x) const;

    at::Tensor weight;
    at::Tensor bias;

private:
    std::int64_t channels_;
    double eps_;
};
TORCH_MODULE(LayerNorm);

/// SAM's LayerNorm2d: per-pixel normalisation over the channels of an NCHW tensor,
/// computed as the official module does (mean, biased variance, (x-u)/sqrt(s+eps)).
class LayerNorm2dImpl : public torch::nn::Module {
public:
    explicit LayerNorm2dImpl(std::int64_t channels, double eps = 1e-6);
    at::Tensor forward(const at::Tensor& x) const;
    /// The same normalisation on channels-last input [..., C] (one fused layer_norm).
    at::Tensor forwardChannelsLast(const at::Tensor& x) const;

    at::Tensor weight;
    at::Tensor bias;

private:
    double eps_;
};
TORCH_MODULE(LayerNorm2d);

/// nn.BatchNorm2d in inference mode (running statistics): "weight", "bias", and the buffers
/// "running_mean", "running_var", "num_batches_tracked" (int64 scalar, unused).
class BatchNorm2dImpl : public torch::nn::Module {
public:
    explicit BatchNorm2dImpl(std::int64_t channels, double eps = 1e-5);
    at::Tensor forward(const at::Tensor& x) const;

    at::Tensor weight;
    at::Tensor bias;
    at::Tensor runningMean;
    at::Tensor runningVar;
    at::Tensor numBatchesTracked;

private:
    double eps_;
};
TORCH_MODULE(BatchNorm2d);

/// nn.Embedding(rows, dim): "weight" [rows, dim]; SAM only reads the table directly.
class EmbeddingImpl : public torch::nn::Module {
public:
    EmbeddingImpl(std::int64_t rows, std::int64_t dim);
    at::Tensor weight;
};
TORCH_MODULE(Embedding);

/// SAM's MLPBlock: lin1 -> activation -> lin2 (GELU in the ViT encoder, ReLU in the decoder).
class MlpBlockImpl : public torch::nn::Module {
public:
    enum class Activation { Gelu, Relu };
    MlpBlockImpl(std::int64_t dim, std::int64_t hidden, Activation activation);
    at::Tensor forward(const at::Tensor& x) const;

    Linear lin1{nullptr};
    Linear lin2{nullptr};

private:
    Activation activation_;
};
TORCH_MODULE(MlpBlock);

/// The mask decoder's MLP: "layers.{i}" Linear layers with ReLU between them.
class MultiLayerPerceptronImpl : public torch::nn::Module {
public:
    MultiLayerPerceptronImpl(std::int64_t in, std::int64_t hidden, std::int64_t out, std::int64_t numLayers);
    at::Tensor forward(const at::Tensor& x) const;

private:
    std::vector<Linear> layers_;
};
TORCH_MODULE(MultiLayerPerceptron);

/// Exact (erf) GELU, as nn.GELU().
at::Tensor geluExact(const at::Tensor& x);

}  // namespace birkhoff::models
