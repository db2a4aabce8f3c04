// EfficientSAM encoder, prompt encoder and mask decoder.
#include "core/models/efficient_sam.h"

#include "core/models/prompt_encoder.h"
#include "core/util/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace birkhoff::models {
namespace {

/// Largest attention-logit block computed at once (bytes), as in the SAM ViT encoder.
constexpr std::int64_t kAttentionChunkBytes = 256ll * 1024 * 1024;

/// softmax(q k^T * scale) v over [R, N, hd] rows, in chunks of rows bounded by kAttentionChunkBytes.
at::Tensor chunkedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale)
{
    const std::int64_t rows = q.size(0), n = q.size(1), m = k.size(1);
    const std::int64_t chunk = std::max<std::int64_t>(1, kAttentionChunkBytes / std::max<std::int64_t>(1, n * m * 4));
    if (chunk >= rows)
        return at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
    at::Tensor out = at::empty({rows, n, v.size(2)}, q.options());
    for (std::int64_t start = 0; start < rows; start += chunk) {
        const std::int64_t len = std::min(chunk, rows - start);
        const at::Tensor logits = at::matmul(q.narrow(0, start, len), k.narrow(0, start, len).transpose(-2, -1)) * scale;
        out.narrow(0, start, len).copy_(at::matmul(at::softmax(logits, -1), v.narrow(0, start, len)));
    }
    return out;
}

}  // namespace

/// EfficientSAM's MLPBlock: num_layers x (Linear + GELU) named layers.{i}.0, then Linear "fc".
class EfficientSamMlpImpl : public torch::nn::Module {
public:
    EfficientSamMlpImpl(std::int64_t in, std::int64_t hidden, std::int64_t out, std::int64_t numLayers)
    {
        auto list = register_module("layers", torch::nn::ModuleList());
        for (std::int64_t i = 0; i < numLayers; ++i) {
            auto sequential = std::make_shared<torch::nn::Module>();
            layers_.push_back(sequential->register_module("0", Linear(i == 0 ? in : hidden, hidden)));
            list->push_back(sequential);
        }
        fc_ = register_module("fc", Linear(hidden, out));
    }

    at::Tensor forward(const at::Tensor& x) const
    {
        at::Tensor h = x;
        for (const auto& layer : layers_)
            h = geluExact(layer->forward(h));
        return fc_->forward(h);
    }

private:
    std::vector<Linear> layers_;
    Linear fc_{nullptr};
};

/// One encoder block: x + attn(norm1(x)), then + mlp(norm2(x)), on [B, N, C] tokens.
class EfficientSamBlockImpl : public torch::nn::Module {
public:
    EfficientSamBlockImpl(std::int64_t dim, std::int64_t numHeads, std::int64_t mlpDim, double eps) : numHeads_(numHeads)
    {
        norm1_ = register_module("norm1", LayerNorm(dim, eps));
        auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
        qkv_ = attn->register_module("qkv", Linear(dim, dim * 3));
        proj_ = attn->register_module("proj", Linear(dim, dim));
        norm2_ = register_module("norm2", LayerNorm(dim, eps));
        auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
        fc1_ = mlp->register_module("fc1", Linear(dim, mlpDim));
        fc2_ = mlp->register_module("fc2", Linear(mlpDim, dim));
    }

    at::Tensor forward(const at::Tensor& x) const
    {
        const std::int64_t b = x.size(0), n = x.size(1), c = x.size(2);
        const std::int64_t headDim = c / numHeads_;
        const at::Tensor qkv =
            qkv_->forward(norm1_->forward(x)).reshape({b, n, 3, numHeads_, headDim}).permute({2, 0, 3, 1, 4});
        const at::Tensor q = qkv[0].reshape({b * numHeads_, n, headDim});
        const at::Tensor k = qkv[1].reshape({b * numHeads_, n, headDim});
        const at::Tensor v = qkv[2].reshape({b * numHeads_, n, headDim});
        const at::Tensor attended = chunkedAttention(q, k, v, std::pow(static_cast<double>(headDim), -0.5))
                                        .view({b, numHeads_, n, headDim})
                                        .transpose(1, 2)
                                        .reshape({b, n, c});
        const at::Tensor mid = x + proj_->forward(attended);
        return mid + fc2_->forward(geluExact(fc1_->forward(norm2_->forward(mid))));
    }

private:
    std::int64_t numHeads_;
    LayerNorm norm1_{nullptr};
    Linear qkv_{nullptr};
    Linear proj_{nullptr};
    LayerNorm norm2_{nullptr};
    Linear fc1_{nullptr};
    Linear fc2_{nullptr};
};

/// EfficientSAM's TwoWayAttentionBlock (see the file comment for how it differs from SAM's).
class EfficientSamTwoWayBlockImpl : public torch::nn::Module {
public:
    EfficientSamTwoWayBlockImpl(const HeadConfig& c, bool skipFirstLayerPe) : skipFirstLayerPe_(skipFirstLayerPe)
    {
        const std::int64_t d = c.promptEmbedDim;
        selfAttn_ = register_module("self_attn", DecoderAttention(d, c.transformerNumHeads, 1));
        norm1_ = register_module("norm1", LayerNorm(d, c.layerNormEps));
        crossTokenToImage_ = register_module("cross_attn_token_to_image",
                                             DecoderAttention(d, c.transformerNumHeads, c.attentionDownsampleRate));
        norm2_ = register_module("norm2", LayerNorm(d, c.layerNormEps));
        mlp_ = register_module("mlp", std::make_shared<EfficientSamMlpImpl>(d, c.transformerMlpDim, d, 1));
        norm3_ = register_module("norm3", LayerNorm(d, c.layerNormEps));
        norm4_ = register_module("norm4", LayerNorm(d, c.layerNormEps));
        crossImageToToken_ = register_module("cross_attn_image_to_token",
                                             DecoderAttention(d, c.transformerNumHeads, c.attentionDownsampleRate));
    }

    void forward(at::Tensor& queries, at::Tensor& keys, const at::Tensor& queryPe, const at::Tensor& keyPe) const
    {
        if (!skipFirstLayerPe_)
            queries = queries + queryPe;
        queries = norm1_->forward(queries + selfAttn_->forward(queries, queries, queries));
        at::Tensor q = queries + queryPe;
        at::Tensor k = keys + keyPe;
        queries = norm2_->forward(queries + crossTokenToImage_->forward(q, k, keys));
        queries = norm3_->forward(queries + mlp_->forward(queries));
        q = queries + queryPe;
        k = keys + keyPe;
        keys = norm4_->forward(keys + crossImageToToken_->forward(k, q, queries));
    }

private:
    bool skipFirstLayerPe_;
    DecoderAttention selfAttn_{nullptr};
    LayerNorm norm1_{nullptr};
    DecoderAttention crossTokenToImage_{nullptr};
    LayerNorm norm2_{nullptr};
    std::shared_ptr<EfficientSamMlpImpl> mlp_;
    LayerNorm norm3_{nullptr};
    LayerNorm norm4_{nullptr};
    DecoderAttention crossImageToToken_{nullptr};
};

EfficientSamVitEncoder::EfficientSamVitEncoder(const EfficientSamVitConfig& config, std::int64_t imageSize)
    : config_(config)
{
    if (imageSize % config.patchSize != 0)
        throw Error("EfficientSAM encoder: image size " + std::to_string(imageSize) + " is not a multiple of the patch size " +
                    std::to_string(config.patchSize));
    const std::int64_t positions = config.posEmbedGrid * config.posEmbedGrid + (config.posEmbedHasCls ? 1 : 0);
    posEmbed_ = register_parameter("pos_embed", at::zeros({1, positions, config.embedDim}), false);
    auto patchEmbed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patchProj_ = patchEmbed->register_module(
        "proj", Conv2d(Conv2dImpl::Options{config.inChans, config.embedDim, config.patchSize, config.patchSize, 0, 1, true}));
    auto list = register_module("blocks", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < config.depth; ++i) {
        auto block = std::make_shared<EfficientSamBlockImpl>(config.embedDim, config.numHeads, config.mlpDim,
                                                             config.layerNormEps);
        list->push_back(block);
        blocks_.push_back(block);
    }
    auto neck = register_module("neck", std::make_shared<torch::nn::Module>());
    neckConv1_ = neck->register_module("0", Conv2d(Conv2dImpl::Options{config.embedDim, config.neckDim, 1, 1, 0, 1, false}));
    neckNorm1_ = neck->register_module("1", LayerNorm2d(config.neckDim));
    neckConv2_ = neck->register_module("2", Conv2d(Conv2dImpl::Options{config.neckDim, config.neckDim, 3, 1, 1, 1, false}));
    neckNorm2_ = neck->register_module("3", LayerNorm2d(config.neckDim));
}

at::Tensor EfficientSamVitEncoder::forward(const at::Tensor& image) const
{
    return forwardTraced(image, nullptr);
}

at::Tensor EfficientSamVitEncoder::forwardTraced(const at::Tensor& image, EfficientSamTrace* trace) const
{
    const at::Tensor patches = patchProj_->forward(image);  // [B, C, g, g]
    if (trace)
        trace->patchEmbed = patches;
    at::Tensor x = patches.permute({0, 2, 3, 1});  // [B, g, g, C]
    const std::int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
    at::Tensor pos = config_.posEmbedHasCls ? posEmbed_.slice(1, 1) : posEmbed_;
    const std::int64_t grid = config_.posEmbedGrid;
    pos = pos.reshape({1, grid, grid, c});
    if (grid != h || grid != w)
        pos = at::upsample_bicubic2d(pos.permute({0, 3, 1, 2}), {h, w}, /*align_corners=*/false).permute({0, 2, 3, 1});
    x = (x + pos).reshape({b, h * w, c});
    for (const auto& block : blocks_) {
        x = block->forward(x);
        if (trace)
            trace->blocks.push_back(x);
    }
    x = x.reshape({b, h, w, c}).permute({0, 3, 1, 2});
    x = neckNorm1_->forward(neckConv1_->forward(x));
    return neckNorm2_->forward(neckConv2_->forward(x));
}

EfficientSamPromptEncoderImpl::EfficientSamPromptEncoderImpl(std::int64_t embedDim, std::int64_t embeddingSize,
                                                             std::int64_t imageSize)
    : embeddingSize_(embeddingSize), imageSize_(imageSize)
{
    auto peLayer = register_module("pe_layer", std::make_shared<torch::nn::Module>());
    gaussianMatrix_ = peLayer->register_buffer("positional_encoding_gaussian_matrix", at::zeros({2, embedDim / 2}));
    invalidPoints_ = register_module("invalid_points", Embedding(1, embedDim));
    pointEmbeddings_ = register_module("point_embeddings", Embedding(1, embedDim));
    topLeft_ = register_module("bbox_top_left_embeddings", Embedding(1, embedDim));
    bottomRight_ = register_module("bbox_bottom_right_embeddings", Embedding(1, embedDim));
}

at::Tensor EfficientSamPromptEncoderImpl::embedPoints(const at::Tensor& coords, const at::Tensor& labels) const
{
    at::Tensor embedding = randomFourierEncoding((coords + 0.5) / static_cast<double>(imageSize_), gaussianMatrix_);
    const at::Tensor l = labels.to(at::kLong).unsqueeze(-1);
    embedding = embedding + l.eq(-1).to(at::kFloat) * invalidPoints_->weight;
    embedding = embedding + l.eq(1).to(at::kFloat) * pointEmbeddings_->weight;
    embedding = embedding + l.eq(2).to(at::kFloat) * topLeft_->weight;
    return embedding + l.eq(3).to(at::kFloat) * bottomRight_->weight;
}

at::Tensor EfficientSamPromptEncoderImpl::denseEncoding() const
{
    return gridFourierEncoding(gaussianMatrix_, embeddingSize_);
}

EfficientSamMaskDecoderImpl::EfficientSamMaskDecoderImpl(const HeadConfig& c)
    : numMaskTokens_(c.numMultimaskOutputs > 1 ? c.numMultimaskOutputs + 1 : 1)
{
    const std::int64_t d = c.promptEmbedDim;
    auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
    auto list = transformer->register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.transformerDepth; ++i) {
        auto block = std::make_shared<EfficientSamTwoWayBlockImpl>(c, i == 0);
        list->push_back(block);
        layers_.push_back(block);
    }
    finalAttn_ = transformer->register_module("final_attn_token_to_image",
                                              DecoderAttention(d, c.transformerNumHeads, c.attentionDownsampleRate));
    normFinal_ = transformer->register_module("norm_final_attn", LayerNorm(d, c.layerNormEps));
    iouToken_ = register_module("iou_token", Embedding(1, d));
    maskTokens_ = register_module("mask_tokens", Embedding(numMaskTokens_, d));

    const auto& dims = c.efficientSam.upscalingDims;
    auto upscaling = register_module("final_output_upscaling_layers", torch::nn::ModuleList());
    std::int64_t width = d;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        auto layer = std::make_shared<torch::nn::Module>();
        upscaleConvs_.push_back(layer->register_module("0", ConvTranspose2d(width, dims[i], 2, 2)));
        if (i + 1 < dims.size()) {
            auto norm = layer->register_module("1", std::make_shared<torch::nn::Module>());
            upscaleNormWeights_.push_back(norm->register_parameter("weight", at::ones({dims[i]}), false));
            upscaleNormBiases_.push_back(norm->register_parameter("bias", at::zeros({dims[i]}), false));
        }
        upscaling->push_back(layer);
        width = dims[i];
    }
    auto hyper = register_module("output_hypernetworks_mlps", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < numMaskTokens_; ++i) {
        auto mlp = std::make_shared<EfficientSamMlpImpl>(d, d, width, c.efficientSam.hypernetworkLayers);
        hyper->push_back(mlp);
        hypernetworks_.push_back(mlp);
    }
    iouHead_ = register_module("iou_prediction_head", std::make_shared<EfficientSamMlpImpl>(
                                                          d, c.iouHeadHiddenDim, numMaskTokens_, c.iouHeadDepth - 1));
}

DecoderOutput EfficientSamMaskDecoderImpl::forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                                   const at::Tensor& sparse) const
{
    const std::int64_t batch = sparse.size(0);
    const at::Tensor image = imageEmbedding.size(0) == batch ? imageEmbedding : imageEmbedding.expand({batch, -1, -1, -1});
    const std::int64_t c = image.size(1), h = image.size(2), w = image.size(3);
    const at::Tensor tokens =
        at::cat({at::cat({iouToken_->weight, maskTokens_->weight}, 0).unsqueeze(0).expand({batch, -1, -1}), sparse}, 1);

    at::Tensor keys = image.flatten(2).permute({0, 2, 1});
    const at::Tensor keyPe = imagePe.flatten(2).permute({0, 2, 1});
    at::Tensor queries = tokens;
    for (const auto& layer : layers_)
        layer->forward(queries, keys, tokens, keyPe);
    queries = normFinal_->forward(queries + finalAttn_->forward(queries + tokens, keys + keyPe, keys));

    at::Tensor upscaled = keys.transpose(1, 2).reshape({batch, c, h, w});
    for (std::size_t i = 0; i < upscaleConvs_.size(); ++i) {
        upscaled = upscaleConvs_[i]->forward(upscaled);
        if (i < upscaleNormWeights_.size())
            upscaled = at::group_norm(upscaled, 1, upscaleNormWeights_[i], upscaleNormBiases_[i], 1e-5);
        upscaled = geluExact(upscaled);
    }
    std::vector<at::Tensor> hyperIn;
    for (std::int64_t i = 0; i < numMaskTokens_; ++i)
        hyperIn.push_back(hypernetworks_[static_cast<std::size_t>(i)]->forward(queries.select(1, 1 + i)));
    const at::Tensor hyper = at::stack(hyperIn, 1);
    const std::int64_t uc = upscaled.size(1), uh = upscaled.size(2), uw = upscaled.size(3);
    DecoderOutput out;
    out.lowResLogits = at::matmul(hyper, upscaled.reshape({batch, uc, uh * uw})).view({batch, -1, uh, uw});
    out.iouPredictions = iouHead_->forward(queries.select(1, 0));
    return out;
}

}  // namespace birkhoff::models
