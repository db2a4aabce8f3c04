// SAM mask decoder: two-way transformer, upscaling, hypernetwork MLPs, IoU head.
#include "core/models/mask_decoder.h"

#include <ATen/ATen.h>

#include <cmath>

namespace birkhoff::models {

DecoderAttentionImpl::DecoderAttentionImpl(std::int64_t dim, std::int64_t numHeads, std::int64_t downsampleRate)
    : numHeads_(numHeads)
{
    const std::int64_t internal = dim / downsampleRate;
    qProj_ = register_module("q_proj", Linear(dim, internal));
    kProj_ = register_module("k_proj", Linear(dim, internal));
    vProj_ = register_module("v_proj", Linear(dim, internal));
    outProj_ = register_module("out_proj", Linear(internal, dim));
}

at::Tensor DecoderAttentionImpl::forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const
{
    return attendProjected(qProj_->forward(q), kProj_->forward(k), vProj_->forward(v));
}

at::Tensor DecoderAttentionImpl::attendProjected(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const
{
    auto separate = [this](const at::Tensor& x) {
        return x.reshape({x.size(0), x.size(1), numHeads_, x.size(2) / numHeads_}).transpose(1, 2);
    };
    const at::Tensor qh = separate(q);
    const at::Tensor kh = separate(k);
    const at::Tensor vh = separate(v);
    const double norm = std::sqrt(static_cast<double>(qh.size(3)));
    at::Tensor out;
    if (qh.size(2) > 4 * kh.size(2)) {
        // Many queries, few keys (image tokens attending to the prompt tokens): compute the
        // logits transposed, [keys, queries], and normalise over the key axis. Same values;
        // LibTorch's bmm and softmax are far faster on this layout than on [4096, ~7].
        const at::Tensor logits = at::matmul(kh, qh.transpose(-2, -1)) / norm;
        out = at::matmul(at::softmax(logits, -2).transpose(-2, -1), vh);
    } else {
        const at::Tensor logits = at::matmul(qh, kh.transpose(-2, -1)) / norm;
        out = at::matmul(at::softmax(logits, -1), vh);
    }
    const std::int64_t b = out.size(0), tokens = out.size(2);
    return outProj_->forward(out.transpose(1, 2).reshape({b, tokens, -1}));
}

TwoWayBlockImpl::TwoWayBlockImpl(const HeadConfig& c, bool skipFirstLayerPe) : skipFirstLayerPe_(skipFirstLayerPe)
{
    const std::int64_t d = c.promptEmbedDim;
    selfAttn_ = register_module("self_attn", DecoderAttention(d, c.transformerNumHeads, 1));
    norm1_ = register_module("norm1", LayerNorm(d, 1e-5));
    crossTokenToImage_ = register_module("cross_attn_token_to_image",
                                         DecoderAttention(d, c.transformerNumHeads, c.attentionDownsampleRate));
    norm2_ = register_module("norm2", LayerNorm(d, 1e-5));
    mlp_ = register_module("mlp", MlpBlock(d, c.transformerMlpDim, MlpBlockImpl::Activation::Relu));
    norm3_ = register_module("norm3", LayerNorm(d, 1e-5));
    norm4_ = register_module("norm4", LayerNorm(d, 1e-5));
    crossImageToToken_ = register_module("cross_attn_image_to_token",
                                         DecoderAttention(d, c.transformerNumHeads, c.attentionDownsampleRate));
}

ImageSideProjections TwoWayBlockImpl::projectImageSide(const at::Tensor& keys, const at::Tensor& keyPe) const
{
    ImageSideProjections p;
    p.keysWithPe = keys + keyPe;
    p.tokenToImageKey = crossTokenToImage_->projectK(p.keysWithPe);
    p.tokenToImageValue = crossTokenToImage_->projectV(keys);
    p.imageToTokenQuery = crossImageToToken_->projectQ(p.keysWithPe);
    return p;
}

void TwoWayBlockImpl::forward(at::Tensor& queries, at::Tensor& keys, const at::Tensor& queryPe,
                              const at::Tensor& keyPe, const ImageSideProjections* image) const
{
    if (skipFirstLayerPe_) {
        queries = selfAttn_->forward(queries, queries, queries);
    } else {
        const at::Tensor q = queries + queryPe;
        queries = queries + selfAttn_->forward(q, q, queries);
    }
    queries = norm1_->forward(queries);

    // The image side of both cross attentions only depends on `keys`, which this block updates
    // only at its end.
    const ImageSideProjections own = image ? ImageSideProjections{} : projectImageSide(keys, keyPe);
    const ImageSideProjections& side = image ? *image : own;

    at::Tensor q = queries + queryPe;
    const at::Tensor attn = crossTokenToImage_->attendProjected(crossTokenToImage_->projectQ(q), side.tokenToImageKey,
                                                                side.tokenToImageValue);
    queries = norm2_->forward(queries + attn);
    queries = norm3_->forward(queries + mlp_->forward(queries));

    q = queries + queryPe;
    const at::Tensor back = crossImageToToken_->attendProjected(side.imageToTokenQuery, crossImageToToken_->projectK(q),
                                                                crossImageToToken_->projectV(queries));
    keys = norm4_->forward(keys + back);
}

TwoWayTransformerImpl::TwoWayTransformerImpl(const HeadConfig& c)
{
    auto list = register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.transformerDepth; ++i) {
        TwoWayBlock block(c, i == 0);
        list->push_back(block);
        layers_.push_back(block);
    }
    finalAttn_ = register_module("final_attn_token_to_image",
                                 DecoderAttention(c.promptEmbedDim, c.transformerNumHeads, c.attentionDownsampleRate));
    normFinal_ = register_module("norm_final_attn", LayerNorm(c.promptEmbedDim, 1e-5));
}

ImageSideProjections TwoWayTransformerImpl::projectFirstLayer(const at::Tensor& keys, const at::Tensor& keyPe) const
{
    return layers_.front()->projectImageSide(keys, keyPe);
}

std::pair<at::Tensor, at::Tensor> TwoWayTransformerImpl::forward(const at::Tensor& keysIn, const at::Tensor& keyPe,
                                                                 const at::Tensor& tokens,
                                                                 const ImageSideProjections* firstLayer) const
{
    at::Tensor keys = keysIn;
    at::Tensor queries = tokens;
    for (std::size_t i = 0; i < layers_.size(); ++i)
        layers_[i]->forward(queries, keys, tokens, keyPe, i == 0 ? firstLayer : nullptr);
    const at::Tensor q = queries + tokens;
    const at::Tensor k = keys + keyPe;
    queries = normFinal_->forward(queries + finalAttn_->forward(q, k, keys));
    return {queries, keys};
}

MaskDecoderImpl::MaskDecoderImpl(const HeadConfig& c) : numMaskTokens_(c.numMultimaskOutputs + 1)
{
    const std::int64_t d = c.promptEmbedDim;
    transformer_ = register_module("transformer", TwoWayTransformer(c));
    iouToken_ = register_module("iou_token", Embedding(1, d));
    maskTokens_ = register_module("mask_tokens", Embedding(numMaskTokens_, d));
    auto up = register_module("output_upscaling", std::make_shared<torch::nn::Module>());
    upscale1_ = up->register_module("0", ConvTranspose2d(d, d / 4, 2, 2));
    upscaleNorm_ = up->register_module("1", LayerNorm2d(d / 4));
    upscale2_ = up->register_module("3", ConvTranspose2d(d / 4, d / 8, 2, 2));
    auto hyper = register_module("output_hypernetworks_mlps", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < numMaskTokens_; ++i) {
        MultiLayerPerceptron mlp(d, d, d / 8, 3);
        hyper->push_back(mlp);
        hypernetworks_.push_back(mlp);
    }
    iouHead_ = register_module("iou_prediction_head",
                               MultiLayerPerceptron(d, c.iouHeadHiddenDim, numMaskTokens_, c.iouHeadDepth));
}

DecoderOutput MaskDecoderImpl::forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                       const at::Tensor& sparse, const at::Tensor& dense) const
{
    const std::int64_t batch = sparse.size(0);
    at::Tensor src = imageEmbedding.size(0) == batch ? imageEmbedding : imageEmbedding.expand({batch, -1, -1, -1});
    src = src + dense;
    const at::Tensor keys = src.flatten(2).permute({0, 2, 1});
    const at::Tensor keyPe = imagePe.flatten(2).permute({0, 2, 1});
    return predict(keys, keyPe, src.size(2), src.size(3), sparse, nullptr);
}

DecoderImageCache MaskDecoderImpl::prepareImage(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                                const at::Tensor& dense) const
{
    DecoderImageCache cache;
    const at::Tensor src = imageEmbedding + dense;
    cache.height = src.size(2);
    cache.width = src.size(3);
    cache.keys = src.flatten(2).permute({0, 2, 1}).contiguous();
    cache.keyPe = imagePe.flatten(2).permute({0, 2, 1}).contiguous();
    cache.firstLayer = transformer_->projectFirstLayer(cache.keys, cache.keyPe);
    return cache;
}

DecoderOutput MaskDecoderImpl::forward(const DecoderImageCache& image, const at::Tensor& sparse) const
{
    return predict(image.keys, image.keyPe, image.height, image.width, sparse, &image.firstLayer);
}

DecoderOutput MaskDecoderImpl::predict(const at::Tensor& keys, const at::Tensor& keyPe, std::int64_t height,
                                       std::int64_t width, const at::Tensor& sparse,
                                       const ImageSideProjections* firstLayer) const
{
    const std::int64_t batch = sparse.size(0);
    const at::Tensor outputTokens =
        at::cat({iouToken_->weight, maskTokens_->weight}, 0).unsqueeze(0).expand({batch, -1, -1});
    const at::Tensor tokens = at::cat({outputTokens, sparse}, 1);

    auto [hs, updatedKeys] = transformer_->forward(keys, keyPe, tokens, firstLayer);
    const at::Tensor iouTokenOut = hs.select(1, 0);

    // The image tokens are already channels-last ([B, h*w, D]); the upscaling runs on that
    // layout (GEMM transposed convolutions, fused layer norm) to avoid NCHW transposes.
    const at::Tensor grid = updatedKeys.reshape({batch, height, width, updatedKeys.size(2)});
    at::Tensor upscaled = geluExact(upscaleNorm_->forwardChannelsLast(upscale1_->forwardChannelsLast(grid)));
    upscaled = geluExact(upscale2_->forwardChannelsLast(upscaled));  // [B, 4h, 4w, D/8]

    std::vector<at::Tensor> hyperIn;
    hyperIn.reserve(static_cast<std::size_t>(numMaskTokens_));
    for (std::int64_t i = 0; i < numMaskTokens_; ++i)
        hyperIn.push_back(hypernetworks_[static_cast<std::size_t>(i)]->forward(hs.select(1, 1 + i)));
    const at::Tensor hyper = at::stack(hyperIn, 1);  // [B, M, D/8]
    const std::int64_t uh = upscaled.size(1), uw = upscaled.size(2), uc = upscaled.size(3);
    const at::Tensor masks =
        at::matmul(hyper, upscaled.reshape({batch, uh * uw, uc}).transpose(1, 2)).view({batch, -1, uh, uw});
    return {masks, iouHead_->forward(iouTokenOut)};
}

}  // namespace birkhoff::models
