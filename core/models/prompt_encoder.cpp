// SAM prompt encoder (points, boxes, mask input).
#include "core/models/prompt_encoder.h"

#include <ATen/ATen.h>

#include <cmath>

namespace birkhoff::models {

PromptEncoderImpl::PromptEncoderImpl(std::int64_t embedDim, std::int64_t embeddingSize, std::int64_t imageSize,
                                     std::int64_t maskInChans)
    : embedDim_(embedDim), embeddingSize_(embeddingSize), imageSize_(imageSize)
{
    auto peLayer = register_module("pe_layer", std::make_shared<torch::nn::Module>());
    gaussianMatrix_ = peLayer->register_buffer("positional_encoding_gaussian_matrix", at::zeros({2, embedDim / 2}));
    auto points = register_module("point_embeddings", torch::nn::ModuleList());
    for (int i = 0; i < 4; ++i) {
        Embedding table(1, embedDim);
        points->push_back(table);
        pointEmbeddings_.push_back(table);
    }
    notAPointEmbed_ = register_module("not_a_point_embed", Embedding(1, embedDim));
    auto down = register_module("mask_downscaling", std::make_shared<torch::nn::Module>());
    maskConv1_ = down->register_module("0", Conv2d(Conv2dImpl::Options{1, maskInChans / 4, 2, 2, 0, 1, true}));
    maskNorm1_ = down->register_module("1", LayerNorm2d(maskInChans / 4));
    maskConv2_ = down->register_module("3", Conv2d(Conv2dImpl::Options{maskInChans / 4, maskInChans, 2, 2, 0, 1, true}));
    maskNorm2_ = down->register_module("4", LayerNorm2d(maskInChans));
    maskConv3_ = down->register_module("6", Conv2d(Conv2dImpl::Options{maskInChans, embedDim, 1, 1, 0, 1, true}));
    noMaskEmbed_ = register_module("no_mask_embed", Embedding(1, embedDim));
}

at::Tensor randomFourierEncoding(const at::Tensor& normalised, const at::Tensor& gaussianMatrix)
{
    at::Tensor c = normalised * 2 - 1;
    c = at::matmul(c, gaussianMatrix);
    c = c * (2.0 * M_PI);
    return at::cat({at::sin(c), at::cos(c)}, -1);
}

at::Tensor gridFourierEncoding(const at::Tensor& gaussianMatrix, std::int64_t g)
{
    const at::Tensor centres = (at::arange(g, at::kFloat) + 0.5) / static_cast<double>(g);
    const at::Tensor y = centres.view({g, 1}).expand({g, g});
    const at::Tensor x = centres.view({1, g}).expand({g, g});
    return randomFourierEncoding(at::stack({x, y}, -1), gaussianMatrix).permute({2, 0, 1}).unsqueeze(0).contiguous();
}

at::Tensor PromptEncoderImpl::encodeNormalised(const at::Tensor& coords) const
{
    return randomFourierEncoding(coords, gaussianMatrix_);
}

at::Tensor PromptEncoderImpl::embedPoints(const at::Tensor& coords, const at::Tensor& labels) const
{
    at::Tensor normalised = (coords + 0.5) / static_cast<double>(imageSize_);
    at::Tensor embedding = encodeNormalised(normalised);
    const at::Tensor labelsLong = labels.to(at::kLong).unsqueeze(-1);
    const at::Tensor padding = labelsLong.eq(kPaddingPoint);
    embedding = at::where(padding, at::zeros({}, embedding.options()), embedding);
    embedding = embedding + padding.to(at::kFloat) * notAPointEmbed_->weight;
    for (int i = 0; i < 4; ++i)
        embedding = embedding + labelsLong.eq(i).to(at::kFloat) * pointEmbeddings_[static_cast<std::size_t>(i)]->weight;
    return embedding;
}

at::Tensor PromptEncoderImpl::embedMask(const at::Tensor& mask) const
{
    at::Tensor x = geluExact(maskNorm1_->forward(maskConv1_->forward(mask)));
    x = geluExact(maskNorm2_->forward(maskConv2_->forward(x)));
    return maskConv3_->forward(x);
}

at::Tensor PromptEncoderImpl::noMaskEmbedding(std::int64_t batch) const
{
    return noMaskEmbed_->weight.reshape({1, -1, 1, 1}).expand({batch, -1, embeddingSize_, embeddingSize_});
}

at::Tensor PromptEncoderImpl::denseEncoding() const
{
    return gridFourierEncoding(gaussianMatrix_, embeddingSize_);
}

}  // namespace birkhoff::models
