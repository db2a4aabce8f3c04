// SAM v1 ViT image encoder (windowed/global attention, decomposed rel-pos, neck).
#include "core/models/vit_encoder.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace birkhoff::models {
namespace {

/// Largest attention-logit block computed at once (bytes); global attention of ViT-H at 1024
/// would otherwise need 16 x 4096 x 4096 floats (1 GiB) per block.
constexpr std::int64_t kAttentionChunkBytes = 256ll * 1024 * 1024;

at::Tensor addDecomposedRelPos(const at::Tensor& attn, const at::Tensor& q, const at::Tensor& relPosH,
                               const at::Tensor& relPosW, std::int64_t height, std::int64_t width)
{
    const at::Tensor rh = relativePositionTable(height, height, relPosH);  // [H, H, C]
    const at::Tensor rw = relativePositionTable(width, width, relPosW);    // [W, W, C]
    const std::int64_t batch = q.size(0);
    const std::int64_t dim = q.size(2);
    const at::Tensor rq = q.reshape({batch, height, width, dim});
    const at::Tensor relH = at::matmul(rq, rh.permute({0, 2, 1}));                                    // [B,H,W,H]
    const at::Tensor relW = at::matmul(rq.permute({0, 2, 1, 3}), rw.permute({0, 2, 1})).permute({0, 2, 1, 3});  // [B,H,W,W]
    return (attn.view({batch, height, width, height, width}) + relH.unsqueeze(-1) + relW.unsqueeze(-2))
        .view({batch, height * width, height * width});
}

at::Tensor windowPartition(const at::Tensor& x, std::int64_t window, std::int64_t& paddedH, std::int64_t& paddedW)
{
    const std::int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
    const std::int64_t padH = (window - h % window) % window;
    const std::int64_t padW = (window - w % window) % window;
    at::Tensor padded = x;
    if (padH > 0 || padW > 0)
        padded = at::constant_pad_nd(x, {0, 0, 0, padW, 0, padH}, 0.0);
    paddedH = h + padH;
    paddedW = w + padW;
    return padded.view({b, paddedH / window, window, paddedW / window, window, c})
        .permute({0, 1, 3, 2, 4, 5})
        .contiguous()
        .view({-1, window, window, c});
}

at::Tensor windowUnpartition(const at::Tensor& windows, std::int64_t window, std::int64_t paddedH,
                             std::int64_t paddedW, std::int64_t h, std::int64_t w)
{
    const std::int64_t b = windows.size(0) / (paddedH * paddedW / window / window);
    at::Tensor x = windows.view({b, paddedH / window, paddedW / window, window, window, -1})
                       .permute({0, 1, 3, 2, 4, 5})
                       .contiguous()
                       .view({b, paddedH, paddedW, -1});
    if (paddedH > h || paddedW > w)
        x = x.slice(1, 0, h).slice(2, 0, w).contiguous();
    return x;
}

}  // namespace

at::Tensor relativePositionTable(std::int64_t querySize, std::int64_t keySize, const at::Tensor& table)
{
    const std::int64_t maxRelDist = 2 * std::max(querySize, keySize) - 1;
    at::Tensor resized = table;
    if (table.size(0) != maxRelDist) {
        resized = at::upsample_linear1d(table.reshape({1, table.size(0), -1}).permute({0, 2, 1}), {maxRelDist},
                                        /*align_corners=*/false)
                      .reshape({-1, maxRelDist})
                      .permute({1, 0});
    }
    const double qScale = std::max(static_cast<double>(keySize) / static_cast<double>(querySize), 1.0);
    const double kScale = std::max(static_cast<double>(querySize) / static_cast<double>(keySize), 1.0);
    at::Tensor index = at::empty({querySize * keySize}, at::kLong);
    auto* out = index.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < querySize; ++i)
        for (std::int64_t j = 0; j < keySize; ++j)
            out[i * keySize + j] = static_cast<std::int64_t>(static_cast<double>(i) * qScale -
                                                             static_cast<double>(j) * kScale +
                                                             static_cast<double>(keySize - 1) * kScale);
    return resized.index_select(0, index).view({querySize, keySize, resized.size(1)});
}

VitAttentionImpl::VitAttentionImpl(std::int64_t dim, std::int64_t attentionDim, std::int64_t numHeads, bool qkvBias,
                                   bool useRelPos, std::int64_t relPosLength)
    : numHeads_(numHeads), useRelPos_(useRelPos)
{
    const std::int64_t headDim = attentionDim / numHeads;
    if (useRelPos) {
        relPosH = register_parameter("rel_pos_h", at::zeros({relPosLength, headDim}), false);
        relPosW = register_parameter("rel_pos_w", at::zeros({relPosLength, headDim}), false);
    }
    qkv = register_module("qkv", Linear(dim, attentionDim * 3, qkvBias));
    proj = register_module("proj", Linear(attentionDim, dim));
}

at::Tensor VitAttentionImpl::forward(const at::Tensor& x) const
{
    const std::int64_t b = x.size(0), h = x.size(1), w = x.size(2);
    const std::int64_t n = h * w;
    const std::int64_t c = qkv->outFeatures() / 3;  // attention width
    const std::int64_t headDim = c / numHeads_;
    const double scale = std::pow(static_cast<double>(headDim), -0.5);
    const at::Tensor qkvAll =
        qkv->forward(x).reshape({b, n, 3, numHeads_, headDim}).permute({2, 0, 3, 1, 4}).reshape({3, b * numHeads_, n, headDim});
    const at::Tensor q = qkvAll[0];
    const at::Tensor k = qkvAll[1];
    const at::Tensor v = qkvAll[2];

    const std::int64_t rows = b * numHeads_;
    const std::int64_t chunk = std::max<std::int64_t>(1, kAttentionChunkBytes / (n * n * 4));
    at::Tensor out;
    if (chunk >= rows) {
        at::Tensor attn = at::matmul(q * scale, k.transpose(-2, -1));
        if (useRelPos_)
            attn = addDecomposedRelPos(attn, q, relPosH, relPosW, h, w);
        out = at::matmul(at::softmax(attn, -1), v);
    } else {
        out = at::empty({rows, n, headDim}, q.options());
        for (std::int64_t start = 0; start < rows; start += chunk) {
            const std::int64_t len = std::min(chunk, rows - start);
            const at::Tensor qc = q.narrow(0, start, len);
            at::Tensor attn = at::matmul(qc * scale, k.narrow(0, start, len).transpose(-2, -1));
            if (useRelPos_)
                attn = addDecomposedRelPos(attn, qc, relPosH, relPosW, h, w);
            out.narrow(0, start, len).copy_(at::matmul(at::softmax(attn, -1), v.narrow(0, start, len)));
        }
    }
    return proj->forward(out.view({b, numHeads_, h, w, headDim}).permute({0, 2, 3, 1, 4}).reshape({b, h, w, c}));
}

VitBlockImpl::VitBlockImpl(const VitEncoderConfig& config, std::int64_t index, std::int64_t windowSize,
                           std::int64_t relPosLength)
    : windowSize_(windowSize)
{
    const auto i = static_cast<std::size_t>(index);
    const std::int64_t attentionDim = i < config.blockAttentionDims.size() ? config.blockAttentionDims[i] : config.embedDim;
    const std::int64_t mlpDim = i < config.blockMlpDims.size() ? config.blockMlpDims[i] : config.mlpDim;
    const std::int64_t heads = i < config.blockNumHeads.size() ? config.blockNumHeads[i] : config.numHeads;
    norm1_ = register_module("norm1", LayerNorm(config.embedDim, config.layerNormEps));
    attn_ = register_module("attn", VitAttention(config.embedDim, attentionDim, heads, config.qkvBias, config.useRelPos,
                                                 relPosLength));
    norm2_ = register_module("norm2", LayerNorm(config.embedDim, config.layerNormEps));
    mlp_ = register_module("mlp", MlpBlock(config.embedDim, mlpDim, MlpBlockImpl::Activation::Gelu));
}

at::Tensor VitBlockImpl::forward(const at::Tensor& x) const
{
    at::Tensor y = norm1_->forward(x);
    if (windowSize_ > 0) {
        const std::int64_t h = y.size(1), w = y.size(2);
        std::int64_t paddedH = 0, paddedW = 0;
        y = windowPartition(y, windowSize_, paddedH, paddedW);
        y = attn_->forward(y);
        y = windowUnpartition(y, windowSize_, paddedH, paddedW, h, w);
    } else {
        y = attn_->forward(y);
    }
    const at::Tensor mid = x + y;
    return mid + mlp_->forward(norm2_->forward(mid));
}

VitImageEncoder::VitImageEncoder(const VitEncoderConfig& config, std::int64_t imageSize) : config_(config)
{
    const std::int64_t grid = imageSize / config.patchSize;
    if (config.useAbsPos)
        posEmbed_ = register_parameter("pos_embed", at::zeros({1, config.posEmbedGrid, config.posEmbedGrid, config.embedDim}),
                                       false);
    auto patchEmbed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patchProj_ = patchEmbed->register_module(
        "proj", Conv2d(Conv2dImpl::Options{config.inChans, config.embedDim, config.patchSize, config.patchSize, 0, 1, true}));

    auto blockList = register_module("blocks", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < config.depth; ++i) {
        const bool global = std::find(config.globalAttnIndexes.begin(), config.globalAttnIndexes.end(), i) !=
                            config.globalAttnIndexes.end();
        const std::int64_t window = global ? 0 : config.windowSize;
        std::int64_t relPosLength = 2 * (window > 0 ? window : grid) - 1;
        if (static_cast<std::size_t>(i) < config.relPosLengths.size())
            relPosLength = config.relPosLengths[static_cast<std::size_t>(i)];
        VitBlock block(config, i, window, relPosLength);
        blockList->push_back(block);
        blocks_.push_back(block);
    }

    auto neck = register_module("neck", std::make_shared<torch::nn::Module>());
    neckConv1_ = neck->register_module("0", Conv2d(Conv2dImpl::Options{config.embedDim, config.outChans, 1, 1, 0, 1, false}));
    neckNorm1_ = neck->register_module("1", LayerNorm2d(config.outChans));
    neckConv2_ = neck->register_module("2", Conv2d(Conv2dImpl::Options{config.outChans, config.outChans, 3, 1, 1, 1, false}));
    neckNorm2_ = neck->register_module("3", LayerNorm2d(config.outChans));
}

at::Tensor VitImageEncoder::forward(const at::Tensor& image) const
{
    return run(image, nullptr, nullptr);
}

ImageFeatures VitImageEncoder::forwardFeatures(const at::Tensor& image) const
{
    if (!config_.outputEarlyFeatures)
        return {run(image, nullptr, nullptr), {}};
    at::Tensor early;
    ImageFeatures features;
    features.embedding = run(image, nullptr, &early);
    if (!early.defined())
        throw Error("ViT image encoder: SAM-HQ needs a global-attention block, but the encoder has none");
    features.highRes.push_back(early.permute({0, 3, 1, 2}));
    return features;
}

at::Tensor VitImageEncoder::forwardTraced(const at::Tensor& image, VitTrace* trace) const
{
    return run(image, trace, nullptr);
}

at::Tensor VitImageEncoder::run(const at::Tensor& image, VitTrace* trace, at::Tensor* early) const
{
    at::Tensor x = patchProj_->forward(image).permute({0, 2, 3, 1});
    if (trace)
        trace->patchEmbed = x.contiguous();
    if (posEmbed_.defined()) {
        if (x.size(1) != posEmbed_.size(1) || x.size(2) != posEmbed_.size(2))
            throw Error("ViT image encoder: the input gives a " + std::to_string(x.size(1)) + "x" +
                        std::to_string(x.size(2)) + " token grid but pos_embed is " +
                        std::to_string(posEmbed_.size(1)) + "x" + std::to_string(posEmbed_.size(2)));
        x = x + posEmbed_;
    }
    if (trace)
        trace->tokensPlusPos = x;
    for (const auto& block : blocks_) {
        x = block->forward(x);
        if (trace)
            trace->blocks.push_back(x);
        if (early && !early->defined() && block->windowSize() == 0)
            *early = x;
    }
    x = x.permute({0, 3, 1, 2});
    x = neckNorm1_->forward(neckConv1_->forward(x));
    return neckNorm2_->forward(neckConv2_->forward(x));
}

}  // namespace birkhoff::models
