// SAM 2's mask decoder (sam2/modeling/sam/mask_decoder.py) for the image path: SAM's two-way
// transformer (MLPs named mlp.layers.{0,1}) with an extra object-score token in front of the
// IoU and mask tokens, high-resolution features fused into the upscaling
// (act1(ln1(dc1(x) + feat_s1)), act2(dc2(.) + feat_s0)), the IoU head with a sigmoid, and the
// object-score head. conv_s0/conv_s1 (applied once per image to the FPN levels 0 and 1, as
// SAM2Base.forward_image does) live here too because their weights belong to the decoder.
// Mask selection (multimask, dynamic multimask via stability) is the predictor's job.
// Parameter names equal the official ones below "sam_mask_decoder.".
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/mask_decoder.h"

#include <vector>

namespace birkhoff::models {

class Sam2MaskDecoderImpl : public torch::nn::Module {
public:
    explicit Sam2MaskDecoderImpl(const HeadConfig& config);

    /// conv_s0(levels[0]), conv_s1(levels[1]) (empty without high-resolution features).
    /// @throws Error when fewer than two levels are given.
    std::vector<at::Tensor> projectHighRes(const std::vector<at::Tensor>& levels) const;

    /// imageEmbedding [1, D, g, g]; imagePe [1, D, g, g]; sparse [B, T, D]; dense [B, D, g, g];
    /// highRes = projectHighRes() output. Returns every mask token's logits and (sigmoid) IoU,
    /// plus the object-score logits.
    DecoderOutput forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe, const at::Tensor& sparse,
                          const at::Tensor& dense, const std::vector<at::Tensor>& highRes) const;
    /// The prompt-independent part for one image and one dense embedding [1, D, g, g].
    DecoderImageCache prepareImage(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                   const at::Tensor& dense) const;
    /// forward() on a prepared image; same results.
    DecoderOutput forward(const DecoderImageCache& image, const at::Tensor& sparse,
                          const std::vector<at::Tensor>& highRes) const;

    std::int64_t numMaskTokens() const { return numMaskTokens_; }

private:
    DecoderOutput predict(const at::Tensor& keys, const at::Tensor& keyPe, std::int64_t height, std::int64_t width,
                          const at::Tensor& sparse, const ImageSideProjections* firstLayer,
                          const std::vector<at::Tensor>& highRes) const;

    Sam2HeadOptions options_;
    std::int64_t numMaskTokens_;
    TwoWayTransformer transformer_{nullptr};
    Embedding iouToken_{nullptr};
    Embedding maskTokens_{nullptr};
    Embedding objScoreToken_{nullptr};
    ConvTranspose2d upscale1_{nullptr};
    LayerNorm2d upscaleNorm_{nullptr};
    ConvTranspose2d upscale2_{nullptr};
    Conv2d convS0_{nullptr};
    Conv2d convS1_{nullptr};
    std::vector<MultiLayerPerceptron> hypernetworks_;
    MultiLayerPerceptron iouHead_{nullptr};
    MultiLayerPerceptron objScoreMlp_{nullptr};
    Linear objScoreLinear_{nullptr};
};
TORCH_MODULE(Sam2MaskDecoder);

}  // namespace birkhoff::models
