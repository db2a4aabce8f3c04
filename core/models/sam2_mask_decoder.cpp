// SAM 2 mask decoder (image path).
#include "core/models/sam2_mask_decoder.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

namespace birkhoff::models {

Sam2MaskDecoderImpl::Sam2MaskDecoderImpl(const HeadConfig& c)
    : options_(c.sam2), numMaskTokens_(c.numMultimaskOutputs + 1)
{
    const std::int64_t d = c.promptEmbedDim;
    transformer_ = register_module("transformer", TwoWayTransformer(c));
    iouToken_ = register_module("iou_token", Embedding(1, d));
    maskTokens_ = register_module("mask_tokens", Embedding(numMaskTokens_, d));
    if (options_.predObjScores)
        objScoreToken_ = register_module("obj_score_token", Embedding(1, d));
    auto up = register_module("output_upscaling", std::make_shared<torch::nn::Module>());
    upscale1_ = up->register_module("0", ConvTranspose2d(d, d / 4, 2, 2));
    upscaleNorm_ = up->register_module("1", LayerNorm2d(d / 4));
    upscale2_ = up->register_module("3", ConvTranspose2d(d / 4, d / 8, 2, 2));
    if (options_.useHighResFeatures) {
        convS0_ = register_module("conv_s0", Conv2d(Conv2dImpl::Options{d, d / 8, 1, 1, 0, 1, true}));
        convS1_ = register_module("conv_s1", Conv2d(Conv2dImpl::Options{d, d / 4, 1, 1, 0, 1, true}));
    }
    auto hyper = register_module("output_hypernetworks_mlps", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < numMaskTokens_; ++i) {
        MultiLayerPerceptron mlp(d, d, d / 8, 3);
        hyper->push_back(mlp);
        hypernetworks_.push_back(mlp);
    }
    iouHead_ = register_module("iou_prediction_head",
                               MultiLayerPerceptron(d, c.iouHeadHiddenDim, numMaskTokens_, c.iouHeadDepth));
    if (options_.predObjScores) {
        if (options_.predObjScoresMlp)
            objScoreMlp_ = register_module("pred_obj_score_head", MultiLayerPerceptron(d, d, 1, 3));
        else
            objScoreLinear_ = register_module("pred_obj_score_head", Linear(d, 1));
    }
}

std::vector<at::Tensor> Sam2MaskDecoderImpl::projectHighRes(const std::vector<at::Tensor>& levels) const
{
    if (!options_.useHighResFeatures)
        return {};
    if (levels.size() < 2)
        throw Error("SAM 2 mask decoder: high-resolution features need two FPN levels, the encoder gave " +
                    std::to_string(levels.size()));
    return {convS0_->forward(levels[0]), convS1_->forward(levels[1])};
}

DecoderOutput Sam2MaskDecoderImpl::forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                           const at::Tensor& sparse, const at::Tensor& dense,
                                           const std::vector<at::Tensor>& highRes) const
{
    const std::int64_t batch = sparse.size(0);
    at::Tensor src = imageEmbedding.size(0) == batch ? imageEmbedding : imageEmbedding.expand({batch, -1, -1, -1});
    src = src + dense;
    const at::Tensor keys = src.flatten(2).permute({0, 2, 1});
    const at::Tensor keyPe = imagePe.flatten(2).permute({0, 2, 1});
    return predict(keys, keyPe, src.size(2), src.size(3), sparse, nullptr, highRes);
}

DecoderImageCache Sam2MaskDecoderImpl::prepareImage(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
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

DecoderOutput Sam2MaskDecoderImpl::forward(const DecoderImageCache& image, const at::Tensor& sparse,
                                           const std::vector<at::Tensor>& highRes) const
{
    return predict(image.keys, image.keyPe, image.height, image.width, sparse, &image.firstLayer, highRes);
}

DecoderOutput Sam2MaskDecoderImpl::predict(const at::Tensor& keys, const at::Tensor& keyPe, std::int64_t height,
                                           std::int64_t width, const at::Tensor& sparse,
                                           const ImageSideProjections* firstLayer,
                                           const std::vector<at::Tensor>& highRes) const
{
    const std::int64_t batch = sparse.size(0);
    std::vector<at::Tensor> outputTokens;
    if (options_.predObjScores)
        outputTokens.push_back(objScoreToken_->weight);
    outputTokens.push_back(iouToken_->weight);
    outputTokens.push_back(maskTokens_->weight);
    const at::Tensor tokens = at::cat({at::cat(outputTokens, 0).unsqueeze(0).expand({batch, -1, -1}), sparse}, 1);
    const std::int64_t s = options_.predObjScores ? 1 : 0;

    auto [hs, updatedKeys] = transformer_->forward(keys, keyPe, tokens, firstLayer);
    const std::int64_t d = updatedKeys.size(2);
    const at::Tensor grid = updatedKeys.transpose(1, 2).reshape({batch, d, height, width});
    at::Tensor upscaled;
    if (options_.useHighResFeatures) {
        if (highRes.size() != 2)
            throw Error("SAM 2 mask decoder: the image has no high-resolution features (conv_s0/conv_s1)");
        upscaled = geluExact(upscaleNorm_->forward(upscale1_->forward(grid) + highRes[1]));
        upscaled = geluExact(upscale2_->forward(upscaled) + highRes[0]);
    } else {
        upscaled = geluExact(upscaleNorm_->forward(upscale1_->forward(grid)));
        upscaled = geluExact(upscale2_->forward(upscaled));
    }

    std::vector<at::Tensor> hyperIn;
    for (std::int64_t i = 0; i < numMaskTokens_; ++i)
        hyperIn.push_back(hypernetworks_[static_cast<std::size_t>(i)]->forward(hs.select(1, s + 1 + i)));
    const at::Tensor hyper = at::stack(hyperIn, 1);  // [B, M, D/8]
    const std::int64_t uc = upscaled.size(1), uh = upscaled.size(2), uw = upscaled.size(3);
    DecoderOutput out;
    out.lowResLogits = at::matmul(hyper, upscaled.reshape({batch, uc, uh * uw})).view({batch, -1, uh, uw});
    out.iouPredictions = iouHead_->forward(hs.select(1, s));
    if (options_.iouSigmoid)
        out.iouPredictions = at::sigmoid(out.iouPredictions);
    if (options_.predObjScores)
        out.objectScoreLogits = options_.predObjScoresMlp ? objScoreMlp_->forward(hs.select(1, 0))
                                                          : objScoreLinear_->forward(hs.select(1, 0));
    else
        out.objectScoreLogits = at::full({batch, 1}, 10.0, out.iouPredictions.options());
    return out;
}

}  // namespace birkhoff::models
