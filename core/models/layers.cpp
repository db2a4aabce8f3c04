// Small building blocks shared by the SAM-family modules (PyTorch parameter names, const forward).
#include "core/models/layers.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

#include <string>

namespace birkhoff::models {

Conv2dImpl::Conv2dImpl(const Options& options) : options_(options)
{
    weight = register_parameter(
        "weight", at::zeros({options.out, options.in / options.groups, options.kernel, options.kernel}), false);
    if (options.bias)
        bias = register_parameter("bias", at::zeros({options.out}), false);
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) const
{
    return at::conv2d(x, weight, bias, {options_.stride, options_.stride}, {options_.padding, options_.padding},
                      {1, 1}, options_.groups);
}

ConvTranspose2dImpl::ConvTranspose2dImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride)
    : stride_(stride)
{
    weight = register_parameter("weight", at::zeros({in, out, kernel, kernel}), false);
    bias = register_parameter("bias", at::zeros({out}), false);
}

at::Tensor ConvTranspose2dImpl::forward(const at::Tensor& x) const
{
    if (weight.size(2) != stride_ || weight.size(3) != stride_)
        return at::conv_transpose2d(x, weight, bias, {stride_, stride_});
    return forwardChannelsLast(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

at::Tensor ConvTranspose2dImpl::forwardChannelsLast(const at::Tensor& x) const
{
    // Non-overlapping patches (stride == kernel): every input pixel writes its own k x k block,
    // so the layer is one GEMM [B*H*W, in] x [in, out*k*k] and a pixel shuffle. LibTorch's CPU
    // conv_transpose2d goes through a much slower im2col path.
    const std::int64_t k = weight.size(2);
    if (k != stride_ || weight.size(3) != k)
        throw Error("ConvTranspose2d: the channels-last path needs stride == kernel");
    const std::int64_t b = x.size(0), h = x.size(1), w = x.size(2), in = x.size(3), out = weight.size(1);
    const at::Tensor rows = x.reshape({b * h * w, in});
    // weight [in, out, k, k] -> [in, k, k, out] so each pixel's block comes out channels-last.
    const at::Tensor kernel = weight.permute({0, 2, 3, 1}).reshape({in, k * k * out});
    const at::Tensor blocks = at::matmul(rows, kernel).view({b, h, w, k, k, out});
    at::Tensor y = blocks.permute({0, 1, 3, 2, 4, 5}).reshape({b, h * k, w * k, out});
    if (bias.defined())
        y = y + bias;
    return y;
}

LayerNormImpl::LayerNormImpl(std::int64_t channels, double eps) : channels_(channels), eps_(eps)
{
    weight = register_parameter("weight", at::ones({channels}), false);
    bias = register_parameter("bias", at::zeros({channels}), false);
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) const
{
    return at::layer_norm(x, {channels_}, weight, bias, eps_);
}

LayerNorm2dImpl::LayerNorm2dImpl(std::int64_t channels, double eps) : eps_(eps)
{
    weight = register_parameter("weight", at::ones({channels}), false);
    bias = register_parameter("bias", at::zeros({channels}), false);
}

at::Tensor LayerNorm2dImpl::forward(const at::Tensor& x) const
{
    const at::Tensor mean = x.mean(1, true);
    const at::Tensor centred = x - mean;
    const at::Tensor variance = centred.pow(2).mean(1, true);
    const at::Tensor normalised = centred / at::sqrt(variance + eps_);
    return weight.view({-1, 1, 1}) * normalised + bias.view({-1, 1, 1});
}

BatchNorm2dImpl::BatchNorm2dImpl(std::int64_t channels, double eps) : eps_(eps)
{
    weight = register_parameter("weight", at::ones({channels}), false);
    bias = register_parameter("bias", at::zeros({channels}), false);
    runningMean = register_buffer("running_mean", at::zeros({channels}));
    runningVar = register_buffer("running_var", at::ones({channels}));
    numBatchesTracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& x) const
{
    return at::batch_norm(x, weight, bias, runningMean, runningVar, /*training=*/false, 0.0, eps_,
                          /*cudnn_enabled=*/false);
}

at::Tensor LayerNorm2dImpl::forwardChannelsLast(const at::Tensor& x) const
{
    return at::layer_norm(x, {weight.size(0)}, weight, bias, eps_);
}

EmbeddingImpl::EmbeddingImpl(std::int64_t rows, std::int64_t dim)
{
    weight = register_parameter("weight", at::zeros({rows, dim}), false);
}

MlpBlockImpl::MlpBlockImpl(std::int64_t dim, std::int64_t hidden, Activation activation) : activation_(activation)
{
    lin1 = register_module("lin1", Linear(dim, hidden));
    lin2 = register_module("lin2", Linear(hidden, dim));
}

at::Tensor MlpBlockImpl::forward(const at::Tensor& x) const
{
    at::Tensor h = lin1->forward(x);
    h = activation_ == Activation::Gelu ? geluExact(h) : at::relu(h);
    return lin2->forward(h);
}

MultiLayerPerceptronImpl::MultiLayerPerceptronImpl(std::int64_t in, std::int64_t hidden, std::int64_t out,
                                                   std::int64_t numLayers)
{
    auto list = register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < numLayers; ++i) {
        const std::int64_t layerIn = i == 0 ? in : hidden;
        const std::int64_t layerOut = i + 1 == numLayers ? out : hidden;
        Linear layer(layerIn, layerOut);
        list->push_back(layer);
        layers_.push_back(layer);
    }
}

at::Tensor MultiLayerPerceptronImpl::forward(const at::Tensor& x) const
{
    at::Tensor h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        h = layers_[i]->forward(h);
        if (i + 1 < layers_.size())
            h = at::relu(h);
    }
    return h;
}

at::Tensor geluExact(const at::Tensor& x)
{
    return at::gelu(x);
}

}  // namespace birkhoff::models
