// SAM 2 Hiera trunk and FPN neck.
#include "core/models/hiera.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace birkhoff::models {
namespace {

/// Largest attention-logit block computed at once (bytes), as in the ViT encoder.
constexpr std::int64_t kAttentionChunkBytes = 256ll * 1024 * 1024;

/// [B, H, W, C] -> [B * nWindows, window, window, C], zero-padding H and W up to multiples.
at::Tensor partition(const at::Tensor& x, std::int64_t window, std::int64_t& paddedH, std::int64_t& paddedW)
{
    const std::int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
    const std::int64_t padH = (window - h % window) % window;
    const std::int64_t padW = (window - w % window) % window;
    const at::Tensor padded = (padH > 0 || padW > 0) ? at::constant_pad_nd(x, {0, 0, 0, padW, 0, padH}, 0.0) : x;
    paddedH = h + padH;
    paddedW = w + padW;
    return padded.reshape({b, paddedH / window, window, paddedW / window, window, c})
        .permute({0, 1, 3, 2, 4, 5})
        .reshape({-1, window, window, c});
}

/// Inverse of partition(), cropping the padding away.
at::Tensor unpartition(const at::Tensor& windows, std::int64_t window, std::int64_t paddedH, std::int64_t paddedW,
                       std::int64_t h, std::int64_t w)
{
    const std::int64_t b = windows.size(0) / (paddedH * paddedW / window / window);
    at::Tensor x = windows.reshape({b, paddedH / window, paddedW / window, window, window, -1})
                       .permute({0, 1, 3, 2, 4, 5})
                       .reshape({b, paddedH, paddedW, -1});
    if (paddedH > h || paddedW > w)
        x = x.slice(1, 0, h).slice(2, 0, w);
    return x;
}

bool contains(const std::vector<std::int64_t>& list, std::int64_t value)
{
    return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::vector<HieraBlockPlan> planHieraBlocks(const HieraConfig& c)
{
    if (c.stages.empty() || c.windowSpec.size() != c.stages.size())
        throw Error("Hiera: window_spec needs one entry per stage (" + std::to_string(c.stages.size()) + " stages, " +
                    std::to_string(c.windowSpec.size()) + " windows)");
    std::vector<std::int64_t> stageEnds;
    std::int64_t total = 0;
    for (const auto n : c.stages) {
        if (n <= 0)
            throw Error("Hiera: every stage needs at least one block");
        total += n;
        stageEnds.push_back(total - 1);
    }
    if (c.qPool < 0 || c.qPool > static_cast<std::int64_t>(stageEnds.size()) - 1)
        throw Error("Hiera: q_pool " + std::to_string(c.qPool) + " must be between 0 and the number of stages - 1");
    std::vector<std::int64_t> qPoolBlocks;
    for (std::size_t i = 0; i + 1 < stageEnds.size() && static_cast<std::int64_t>(i) < c.qPool; ++i)
        qPoolBlocks.push_back(stageEnds[i] + 1);

    std::vector<HieraBlockPlan> plan;
    std::int64_t dim = c.embedDim, heads = c.numHeads, stage = 1;
    for (std::int64_t i = 0; i < total; ++i) {
        HieraBlockPlan block;
        block.dim = dim;
        block.dimOut = dim;
        // The window lags by one block: a stage's first block uses the previous stage's window.
        block.window = contains(c.globalAttBlocks, i) ? 0 : c.windowSpec[static_cast<std::size_t>(stage - 1)];
        if (contains(stageEnds, i - 1)) {
            block.dimOut = static_cast<std::int64_t>(static_cast<double>(dim) * c.dimMul);
            heads = static_cast<std::int64_t>(static_cast<double>(heads) * c.headMul);
            ++stage;
        }
        block.heads = heads;
        block.qPool = contains(qPoolBlocks, i);
        if (block.heads <= 0 || block.dimOut % block.heads != 0)
            throw Error("Hiera block " + std::to_string(i) + ": " + std::to_string(block.heads) +
                        " heads do not divide width " + std::to_string(block.dimOut));
        if (block.qPool && block.window > 0 && block.window % c.qStride != 0)
            throw Error("Hiera block " + std::to_string(i) + ": window " + std::to_string(block.window) +
                        " is not a multiple of q_stride " + std::to_string(c.qStride));
        plan.push_back(block);
        dim = block.dimOut;
    }
    return plan;
}

HieraBlockImpl::HieraBlockImpl(std::int64_t dim, std::int64_t dimOut, std::int64_t numHeads, double mlpRatio,
                               std::int64_t qStride, std::int64_t window, double layerNormEps)
    : dim_(dim), dimOut_(dimOut), numHeads_(numHeads), qStride_(qStride), window_(window)
{
    norm1_ = register_module("norm1", LayerNorm(dim, layerNormEps));
    auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
    qkv_ = attn->register_module("qkv", Linear(dim, dimOut * 3));
    attnProj_ = attn->register_module("proj", Linear(dimOut, dimOut));
    norm2_ = register_module("norm2", LayerNorm(dimOut, layerNormEps));
    mlp_ = register_module("mlp", MlpBlock(dimOut, static_cast<std::int64_t>(static_cast<double>(dimOut) * mlpRatio),
                                           MlpBlockImpl::Activation::Gelu, /*layersNames=*/true));
    if (dim != dimOut)
        proj_ = register_module("proj", Linear(dim, dimOut));
}

at::Tensor HieraBlockImpl::pool(const at::Tensor& x) const
{
    return at::max_pool2d(x.permute({0, 3, 1, 2}), {qStride_, qStride_}, {qStride_, qStride_}).permute({0, 2, 3, 1});
}

at::Tensor HieraBlockImpl::attend(const at::Tensor& x) const
{
    const std::int64_t b = x.size(0);
    std::int64_t h = x.size(1), w = x.size(2);
    const std::int64_t headDim = dimOut_ / numHeads_;
    const at::Tensor qkv = qkv_->forward(x).reshape({b, h * w, 3, numHeads_, headDim});
    at::Tensor q = qkv.select(2, 0);  // [B, HW, heads, hd]
    const at::Tensor k = qkv.select(2, 1).transpose(1, 2).reshape({b * numHeads_, h * w, headDim});
    const at::Tensor v = qkv.select(2, 2).transpose(1, 2).reshape({b * numHeads_, h * w, headDim});
    if (qStride_ > 0) {
        q = pool(q.reshape({b, h, w, dimOut_}));
        h = q.size(1);
        w = q.size(2);
        q = q.reshape({b, h * w, numHeads_, headDim});
    }
    q = q.transpose(1, 2).reshape({b * numHeads_, h * w, headDim});
    const double scale = 1.0 / std::sqrt(static_cast<double>(headDim));

    const std::int64_t rows = b * numHeads_;
    const std::int64_t queries = q.size(1), keys = k.size(1);
    const std::int64_t chunk = std::max<std::int64_t>(1, kAttentionChunkBytes / std::max<std::int64_t>(1, queries * keys * 4));
    at::Tensor out;
    if (chunk >= rows) {
        out = at::matmul(at::softmax(at::matmul(q * scale, k.transpose(-2, -1)), -1), v);
    } else {
        out = at::empty({rows, queries, headDim}, q.options());
        for (std::int64_t start = 0; start < rows; start += chunk) {
            const std::int64_t len = std::min(chunk, rows - start);
            const at::Tensor logits = at::matmul(q.narrow(0, start, len) * scale, k.narrow(0, start, len).transpose(-2, -1));
            out.narrow(0, start, len).copy_(at::matmul(at::softmax(logits, -1), v.narrow(0, start, len)));
        }
    }
    out = out.reshape({b, numHeads_, h, w, headDim}).permute({0, 2, 3, 1, 4}).reshape({b, h, w, dimOut_});
    return attnProj_->forward(out);
}

at::Tensor HieraBlockImpl::forward(const at::Tensor& input) const
{
    at::Tensor shortcut = input;
    at::Tensor x = norm1_->forward(input);
    if (dim_ != dimOut_) {
        shortcut = proj_->forward(x);
        if (qStride_ > 0)
            shortcut = pool(shortcut);
    }
    const std::int64_t h = x.size(1), w = x.size(2);
    std::int64_t paddedH = h, paddedW = w;
    if (window_ > 0)
        x = partition(x, window_, paddedH, paddedW);
    x = attend(x);
    if (window_ > 0) {
        std::int64_t window = window_;
        std::int64_t outH = h, outW = w;
        if (qStride_ > 0) {
            // Q pooling shrank the windows: unpartition with the pooled window size and the
            // pooled grid (padded up to a multiple of it), as the official block does.
            window = window_ / qStride_;
            outH = shortcut.size(1);
            outW = shortcut.size(2);
            paddedH = outH + (window - outH % window) % window;
            paddedW = outW + (window - outW % window) % window;
        }
        x = unpartition(x, window, paddedH, paddedW, outH, outW);
    }
    x = shortcut + x;
    return x + mlp_->forward(norm2_->forward(x));
}

HieraImageEncoder::HieraImageEncoder(const HieraConfig& config) : config_(config)
{
    const auto plan = planHieraBlocks(config);
    std::int64_t end = -1;
    for (const auto n : config.stages) {
        end += n;
        stageEnds_.push_back(end);
    }
    auto trunk = register_module("trunk", std::make_shared<torch::nn::Module>());
    posEmbed_ = trunk->register_parameter(
        "pos_embed", at::zeros({1, config.embedDim, config.posEmbedBackground[0], config.posEmbedBackground[1]}), false);
    const std::int64_t window0 = config.windowSpec.front();
    posEmbedWindow_ = trunk->register_parameter("pos_embed_window", at::zeros({1, config.embedDim, window0, window0}), false);
    auto patchEmbed = trunk->register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patchProj_ = patchEmbed->register_module(
        "proj", Conv2d(Conv2dImpl::Options{config.inChans, config.embedDim, config.patchKernel, config.patchStride,
                                           config.patchPadding, 1, true}));
    auto blockList = trunk->register_module("blocks", torch::nn::ModuleList());
    for (const auto& b : plan) {
        HieraBlock block(b.dim, b.dimOut, b.heads, config.mlpRatio, b.qPool ? config.qStride : 0, b.window,
                         config.layerNormEps);
        blockList->push_back(block);
        blocks_.push_back(block);
    }

    // The neck's convs run from the lowest resolution (the last stage) to the highest.
    std::vector<std::int64_t> channels;
    for (auto it = stageEnds_.rbegin(); it != stageEnds_.rend(); ++it)
        channels.push_back(plan[static_cast<std::size_t>(*it)].dimOut);
    if (!config.backboneChannels.empty() && config.backboneChannels != channels)
        throw Error("Hiera: the neck's backbone_channel_list does not match the trunk's stage widths");
    auto neck = register_module("neck", std::make_shared<torch::nn::Module>());
    auto convs = neck->register_module("convs", torch::nn::ModuleList());
    for (const auto in : channels) {
        auto level = std::make_shared<torch::nn::Module>();
        neckConvs_.push_back(level->register_module("conv", Conv2d(Conv2dImpl::Options{in, config.dModel, 1, 1, 0, 1, true})));
        convs->push_back(level);
    }
    if (config.scalp < 0 || config.scalp >= static_cast<std::int64_t>(channels.size()))
        throw Error("Hiera: scalp " + std::to_string(config.scalp) + " must leave at least one neck level");
}

at::Tensor HieraImageEncoder::positionEmbedding(std::int64_t h, std::int64_t w) const
{
    const std::int64_t window = posEmbedWindow_.size(2);
    if (h % window != 0 || w % window != 0)
        throw Error("Hiera: the " + std::to_string(h) + "x" + std::to_string(w) +
                    " token grid is not a multiple of pos_embed_window (" + std::to_string(window) + ")");
    const at::Tensor background = at::upsample_bicubic2d(posEmbed_, {h, w}, /*align_corners=*/false);
    return (background + posEmbedWindow_.repeat({1, 1, h / window, w / window})).permute({0, 2, 3, 1});
}

at::Tensor HieraImageEncoder::forward(const at::Tensor& image) const
{
    return forwardTraced(image, nullptr).embedding;
}

ImageFeatures HieraImageEncoder::forwardFeatures(const at::Tensor& image) const
{
    return forwardTraced(image, nullptr);
}

ImageFeatures HieraImageEncoder::forwardTraced(const at::Tensor& image, HieraTrace* trace) const
{
    at::Tensor x = patchProj_->forward(image).permute({0, 2, 3, 1});
    x = x + positionEmbedding(x.size(1), x.size(2));
    if (trace)
        trace->tokensPlusPos = x;
    std::vector<at::Tensor> stageOutputs;  // high resolution first
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        x = blocks_[i]->forward(x);
        if (trace)
            trace->blocks.push_back(x);
        if (contains(stageEnds_, static_cast<std::int64_t>(i)))
            stageOutputs.push_back(x.permute({0, 3, 1, 2}));
    }

    // FpnNeck: top-down from the lowest resolution; top-down features only into the listed levels.
    const std::int64_t n = static_cast<std::int64_t>(stageOutputs.size()) - 1;
    std::vector<at::Tensor> levels(stageOutputs.size());
    at::Tensor previous;
    for (std::int64_t i = n; i >= 0; --i) {
        const at::Tensor lateral = neckConvs_[static_cast<std::size_t>(n - i)]->forward(stageOutputs[static_cast<std::size_t>(i)]);
        if (contains(config_.fpnTopDownLevels, i) && previous.defined()) {
            const std::int64_t h = previous.size(2) * 2, w = previous.size(3) * 2;
            const at::Tensor topDown = config_.fpnNearest
                                           ? at::upsample_nearest2d(previous, {h, w}, 2.0, 2.0)
                                           : at::upsample_bilinear2d(previous, {h, w}, /*align_corners=*/false, 2.0, 2.0);
            previous = lateral + topDown;
            if (config_.fuseAverage)
                previous = previous / 2;
        } else {
            previous = lateral;
        }
        levels[static_cast<std::size_t>(i)] = previous;
    }
    if (trace)
        trace->fpn = levels;
    levels.resize(levels.size() - static_cast<std::size_t>(config_.scalp));
    ImageFeatures features;
    features.embedding = levels.back();
    levels.pop_back();
    features.highRes = std::move(levels);
    return features;
}

}  // namespace birkhoff::models
