// MobileSAM / TinySAM TinyViT image encoder.
#include "core/models/tiny_vit.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

namespace birkhoff::models {
namespace {

class MbConvImpl : public torch::nn::Module {
public:
    MbConvImpl(std::int64_t dim, std::int64_t hidden)
    {
        conv1_ = register_module("conv1", Conv2dBn(dim, hidden, 1, 1, 0, 1));
        conv2_ = register_module("conv2", Conv2dBn(hidden, hidden, 3, 1, 1, hidden));
        conv3_ = register_module("conv3", Conv2dBn(hidden, dim, 1, 1, 0, 1));
    }
    at::Tensor forward(const at::Tensor& x) const
    {
        at::Tensor y = geluExact(conv1_->forward(x));
        y = geluExact(conv2_->forward(y));
        y = conv3_->forward(y);
        return geluExact(y + x);
    }

private:
    Conv2dBn conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
};

class PatchMergingImpl : public torch::nn::Module {
public:
    PatchMergingImpl(std::int64_t dim, std::int64_t outDim, std::int64_t stride)
    {
        conv1_ = register_module("conv1", Conv2dBn(dim, outDim, 1, 1, 0, 1));
        conv2_ = register_module("conv2", Conv2dBn(outDim, outDim, 3, stride, 1, outDim));
        conv3_ = register_module("conv3", Conv2dBn(outDim, outDim, 1, 1, 0, 1));
    }
    /// x: [B, C, H, W]. Returns tokens [B, H'*W', C'] and the new grid in h, w.
    at::Tensor forward(const at::Tensor& x, std::int64_t& h, std::int64_t& w) const
    {
        at::Tensor y = geluExact(conv1_->forward(x));
        y = geluExact(conv2_->forward(y));
        y = conv3_->forward(y);
        h = y.size(2);
        w = y.size(3);
        return y.flatten(2).transpose(1, 2);
    }

private:
    Conv2dBn conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
};

class TinyVitMlpImpl : public torch::nn::Module {
public:
    TinyVitMlpImpl(std::int64_t dim, std::int64_t hidden, double eps)
    {
        norm_ = register_module("norm", LayerNorm(dim, eps));
        fc1_ = register_module("fc1", Linear(dim, hidden));
        fc2_ = register_module("fc2", Linear(hidden, dim));
    }
    at::Tensor forward(const at::Tensor& x) const { return fc2_->forward(geluExact(fc1_->forward(norm_->forward(x)))); }

private:
    LayerNorm norm_{nullptr};
    Linear fc1_{nullptr}, fc2_{nullptr};
};

class TinyVitBlockImpl : public torch::nn::Module {
public:
    TinyVitBlockImpl(std::int64_t dim, std::int64_t numHeads, std::int64_t window, std::int64_t mlpHidden,
                     std::int64_t localConvSize, double eps)
        : window_(window)
    {
        attn_ = register_module("attn", TinyVitAttention(dim, numHeads, window, eps));
        mlp_ = register_module("mlp", std::make_shared<TinyVitMlpImpl>(dim, mlpHidden, eps));
        localConv_ = register_module("local_conv", Conv2dBn(dim, dim, localConvSize, 1, localConvSize / 2, dim));
    }

    /// x: [B, L, C] tokens of an h x w grid.
    at::Tensor forward(const at::Tensor& x, std::int64_t h, std::int64_t w) const
    {
        const std::int64_t b = x.size(0), l = x.size(1), c = x.size(2);
        at::Tensor y;
        if (h == window_ && w == window_) {
            y = attn_->forward(x);
        } else {
            y = x.view({b, h, w, c});
            const std::int64_t padB = (window_ - h % window_) % window_;
            const std::int64_t padR = (window_ - w % window_) % window_;
            if (padB > 0 || padR > 0)
                y = at::constant_pad_nd(y, {0, 0, 0, padR, 0, padB}, 0.0);
            const std::int64_t ph = h + padB, pw = w + padR;
            const std::int64_t nh = ph / window_, nw = pw / window_;
            y = y.view({b, nh, window_, nw, window_, c}).transpose(2, 3).reshape({b * nh * nw, window_ * window_, c});
            y = attn_->forward(y);
            y = y.view({b, nh, nw, window_, window_, c}).transpose(2, 3).reshape({b, ph, pw, c});
            if (padB > 0 || padR > 0)
                y = y.slice(1, 0, h).slice(2, 0, w).contiguous();
            y = y.view({b, l, c});
        }
        at::Tensor z = x + y;
        z = z.transpose(1, 2).reshape({b, c, h, w});
        z = localConv_->forward(z);
        z = z.view({b, c, l}).transpose(1, 2);
        return z + mlp_->forward(z);
    }

private:
    TinyVitAttention attn_{nullptr};
    std::shared_ptr<TinyVitMlpImpl> mlp_;
    Conv2dBn localConv_{nullptr};
    std::int64_t window_;
};

}  // namespace

struct TinyVitEncoder::Stage {
    std::vector<std::shared_ptr<MbConvImpl>> convBlocks;
    std::vector<std::shared_ptr<TinyVitBlockImpl>> attentionBlocks;
    std::shared_ptr<PatchMergingImpl> merge;
};

Conv2dBnImpl::Conv2dBnImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                           std::int64_t padding, std::int64_t groups)
{
    conv_ = register_module("c", Conv2d(Conv2dImpl::Options{in, out, kernel, stride, padding, groups, false}));
    bn_ = register_module("bn", BatchNorm2d(out));
}

at::Tensor Conv2dBnImpl::forward(const at::Tensor& x) const
{
    return bn_->forward(conv_->forward(x));
}

TinyVitAttentionImpl::TinyVitAttentionImpl(std::int64_t dim, std::int64_t numHeads, std::int64_t window,
                                           double layerNormEps)
    : numHeads_(numHeads), keyDim_(dim / numHeads)
{
    const std::int64_t n = window * window;
    norm_ = register_module("norm", LayerNorm(dim, layerNormEps));
    qkv_ = register_module("qkv", Linear(dim, 3 * dim));
    proj_ = register_module("proj", Linear(dim, dim));
    attentionBiases = register_parameter("attention_biases", at::zeros({numHeads, n}), false);
    biasIndex_ = at::empty({n * n}, at::kLong);
    auto* index = biasIndex_.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j)
            index[i * n + j] = std::abs(i / window - j / window) * window + std::abs(i % window - j % window);
}

at::Tensor TinyVitAttentionImpl::gatheredBiases() const
{
    const std::int64_t n = attentionBiases.size(1);
    return attentionBiases.index_select(1, biasIndex_).view({numHeads_, n, n});
}

at::Tensor TinyVitAttentionImpl::forward(const at::Tensor& x) const
{
    const std::int64_t b = x.size(0), n = x.size(1);
    const at::Tensor qkv = qkv_->forward(norm_->forward(x)).view({b, n, numHeads_, 3 * keyDim_});
    const auto parts = qkv.split({keyDim_, keyDim_, keyDim_}, 3);
    const at::Tensor q = parts[0].permute({0, 2, 1, 3});
    const at::Tensor k = parts[1].permute({0, 2, 1, 3});
    const at::Tensor v = parts[2].permute({0, 2, 1, 3});
    const double scale = std::pow(static_cast<double>(keyDim_), -0.5);
    at::Tensor attn = at::matmul(q, k.transpose(-2, -1)) * scale + gatheredBiases();
    attn = at::softmax(attn, -1);
    return proj_->forward(at::matmul(attn, v).transpose(1, 2).reshape({b, n, numHeads_ * keyDim_}));
}

TinyVitEncoder::TinyVitEncoder(const TinyVitConfig& config) : config_(config)
{
    const auto& dims = config.embedDims;
    auto patchEmbed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    auto seq = patchEmbed->register_module("seq", std::make_shared<torch::nn::Module>());
    stem1_ = seq->register_module("0", Conv2dBn(config.inChans, dims[0] / 2, 3, 2, 1, 1));
    stem2_ = seq->register_module("2", Conv2dBn(dims[0] / 2, dims[0], 3, 2, 1, 1));

    auto layers = register_module("layers", torch::nn::ModuleList());
    for (std::size_t s = 0; s < dims.size(); ++s) {
        auto stageModule = std::make_shared<torch::nn::Module>();
        auto blocks = stageModule->register_module("blocks", torch::nn::ModuleList());
        auto stage = std::make_shared<Stage>();
        for (std::int64_t j = 0; j < config.depths[s]; ++j) {
            if (s == 0) {
                auto block = std::make_shared<MbConvImpl>(dims[0], config.mbconvHidden);
                blocks->push_back(block);
                stage->convBlocks.push_back(block);
            } else {
                auto block = std::make_shared<TinyVitBlockImpl>(dims[s], config.numHeads[s], config.windowSizes[s],
                                                                config.mlpDims[s], config.localConvSize,
                                                                config.layerNormEps);
                blocks->push_back(block);
                stage->attentionBlocks.push_back(block);
            }
        }
        if (s + 1 < dims.size())
            stage->merge = stageModule->register_module(
                "downsample", std::make_shared<PatchMergingImpl>(dims[s], dims[s + 1], config.mergeStrides[s]));
        layers->push_back(stageModule);
        stages_.push_back(stage);
    }
    if (config.numClasses > 0) {
        register_module("norm_head", LayerNorm(dims.back(), config.layerNormEps));
        register_module("head", Linear(dims.back(), config.numClasses));
    }
    auto neck = register_module("neck", std::make_shared<torch::nn::Module>());
    neckConv1_ = neck->register_module("0", Conv2d(Conv2dImpl::Options{dims.back(), config.outChans, 1, 1, 0, 1, false}));
    neckNorm1_ = neck->register_module("1", LayerNorm2d(config.outChans));
    neckConv2_ = neck->register_module("2", Conv2d(Conv2dImpl::Options{config.outChans, config.outChans, 3, 1, 1, 1, false}));
    neckNorm2_ = neck->register_module("3", LayerNorm2d(config.outChans));
}

at::Tensor TinyVitEncoder::forward(const at::Tensor& image) const
{
    return run(image, nullptr);
}

ImageFeatures TinyVitEncoder::forwardFeatures(const at::Tensor& image) const
{
    if (!config_.outputEarlyFeatures)
        return {run(image, nullptr), {}};
    if (stages_.size() < 2)
        throw Error("TinyViT image encoder: SAM-HQ needs a second stage, but the encoder has one");
    at::Tensor early;
    ImageFeatures features;
    features.embedding = run(image, &early);
    features.highRes.push_back(early);
    return features;
}

at::Tensor TinyVitEncoder::run(const at::Tensor& image, at::Tensor* early) const
{
    at::Tensor x = stem2_->forward(geluExact(stem1_->forward(image)));  // [B, C0, H/4, W/4]
    const std::int64_t batch = x.size(0);
    std::int64_t h = x.size(2), w = x.size(3);
    for (std::size_t s = 0; s < stages_.size(); ++s) {
        const auto& stage = stages_[s];
        for (const auto& block : stage->convBlocks)
            x = block->forward(x);
        for (const auto& block : stage->attentionBlocks)
            x = block->forward(x, h, w);
        if (stage->merge) {
            if (x.dim() == 3)
                x = x.view({batch, h, w, -1}).permute({0, 3, 1, 2});
            x = stage->merge->forward(x, h, w);
        }
        if (early && s == 1)  // sam-hq tiny_vit_sam.py: the output of layers[1] (after its downsampling)
            *early = (x.dim() == 3 ? x.view({batch, h, w, x.size(2)}).permute({0, 3, 1, 2}) : x);
    }
    if (x.dim() == 3)
        x = x.view({batch, h, w, x.size(2)}).permute({0, 3, 1, 2});
    x = neckNorm1_->forward(neckConv1_->forward(x));
    return neckNorm2_->forward(neckConv2_->forward(x));
}

}  // namespace birkhoff::models
