// SAM-HQ mask decoder.
#include "core/models/sam_hq.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

namespace birkhoff::models {

HqMaskDecoderImpl::HqMaskDecoderImpl(const HeadConfig& c) : MaskDecoderImpl(c), vitDim_(c.hq.vitDim)
{
    const std::int64_t d = c.promptEmbedDim;
    hfToken_ = register_module("hf_token", Embedding(1, d));
    hfMlp_ = register_module("hf_mlp", MultiLayerPerceptron(d, d, d / 8, 3));
    auto compress = register_module("compress_vit_feat", std::make_shared<torch::nn::Module>());
    compress1_ = compress->register_module("0", ConvTranspose2d(vitDim_, d, 2, 2));
    compressNorm_ = compress->register_module("1", LayerNorm2d(d));
    compress2_ = compress->register_module("3", ConvTranspose2d(d, d / 8, 2, 2));
    auto encoder = register_module("embedding_encoder", std::make_shared<torch::nn::Module>());
    embedEncoder1_ = encoder->register_module("0", ConvTranspose2d(d, d / 4, 2, 2));
    embedEncoderNorm_ = encoder->register_module("1", LayerNorm2d(d / 4));
    embedEncoder2_ = encoder->register_module("3", ConvTranspose2d(d / 4, d / 8, 2, 2));
    auto maskFeature = register_module("embedding_maskfeature", std::make_shared<torch::nn::Module>());
    maskFeature1_ = maskFeature->register_module("0", Conv2d(Conv2dImpl::Options{d / 8, d / 4, 3, 1, 1, 1, true}));
    maskFeatureNorm_ = maskFeature->register_module("1", LayerNorm2d(d / 4));
    maskFeature2_ = maskFeature->register_module("3", Conv2d(Conv2dImpl::Options{d / 4, d / 8, 3, 1, 1, 1, true}));
}

at::Tensor HqMaskDecoderImpl::hqFeatures(const at::Tensor& imageEmbedding, const at::Tensor& earlyFeatures) const
{
    if (earlyFeatures.dim() != 4 || earlyFeatures.size(1) != vitDim_)
        throw Error("SAM-HQ mask decoder: the early encoder features have " +
                    std::to_string(earlyFeatures.dim() == 4 ? earlyFeatures.size(1) : -1) +
                    " channels, compress_vit_feat expects " + std::to_string(vitDim_));
    const at::Tensor fromEmbedding =
        embedEncoder2_->forward(geluExact(embedEncoderNorm_->forward(embedEncoder1_->forward(imageEmbedding))));
    const at::Tensor fromEncoder =
        compress2_->forward(geluExact(compressNorm_->forward(compress1_->forward(earlyFeatures))));
    return fromEmbedding + fromEncoder;
}

DecoderOutput HqMaskDecoderImpl::forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                         const at::Tensor& sparse, const at::Tensor& dense, const at::Tensor& hq) const
{
    const std::int64_t batch = sparse.size(0);
    at::Tensor src = imageEmbedding.size(0) == batch ? imageEmbedding : imageEmbedding.expand({batch, -1, -1, -1});
    src = src + dense;
    const at::Tensor keys = src.flatten(2).permute({0, 2, 1});
    const at::Tensor keyPe = imagePe.flatten(2).permute({0, 2, 1});
    return predict(keys, keyPe, src.size(2), src.size(3), sparse, nullptr, hq);
}

DecoderOutput HqMaskDecoderImpl::forward(const DecoderImageCache& image, const at::Tensor& sparse,
                                         const at::Tensor& hq) const
{
    return predict(image.keys, image.keyPe, image.height, image.width, sparse, &image.firstLayer, hq);
}

DecoderOutput HqMaskDecoderImpl::predict(const at::Tensor& keys, const at::Tensor& keyPe, std::int64_t height,
                                         std::int64_t width, const at::Tensor& sparse,
                                         const ImageSideProjections* firstLayer, const at::Tensor& hq) const
{
    if (!hq.defined())
        throw Error("SAM-HQ mask decoder: the image has no HQ features (encode it with this model)");
    const std::int64_t batch = sparse.size(0);
    const at::Tensor outputTokens =
        at::cat({iouToken_->weight, maskTokens_->weight, hfToken_->weight}, 0).unsqueeze(0).expand({batch, -1, -1});
    const at::Tensor tokens = at::cat({outputTokens, sparse}, 1);

    auto [hs, updatedKeys] = transformer_->forward(keys, keyPe, tokens, firstLayer);
    const std::int64_t d = updatedKeys.size(2);
    const at::Tensor grid = updatedKeys.transpose(1, 2).reshape({batch, d, height, width});
    const at::Tensor upscaledSam = geluExact(upscale2_->forward(geluExact(upscaleNorm_->forward(upscale1_->forward(grid)))));
    const at::Tensor upscaledHq =
        maskFeature2_->forward(geluExact(maskFeatureNorm_->forward(maskFeature1_->forward(upscaledSam)))) + hq;

    std::vector<at::Tensor> hyperIn;
    for (std::int64_t i = 0; i < numMaskTokens_; ++i)
        hyperIn.push_back(hypernetworks_[static_cast<std::size_t>(i)]->forward(hs.select(1, 1 + i)));
    const at::Tensor hyper = at::stack(hyperIn, 1);                                         // [B, M, D/8]
    const at::Tensor hyperHq = hfMlp_->forward(hs.select(1, 1 + numMaskTokens_)).unsqueeze(1);  // [B, 1, D/8]
    const std::int64_t uc = upscaledSam.size(1), uh = upscaledSam.size(2), uw = upscaledSam.size(3);
    DecoderOutput out;
    out.lowResLogits = at::matmul(hyper, upscaledSam.reshape({batch, uc, uh * uw})).view({batch, -1, uh, uw});
    const at::Tensor hqMap = upscaledHq.expand({batch, -1, -1, -1}).reshape({batch, uc, uh * uw});
    out.hqLogits = at::matmul(hyperHq, hqMap).view({batch, 1, uh, uw});
    out.iouPredictions = iouHead_->forward(hs.select(1, 0));
    return out;
}

}  // namespace birkhoff::models
