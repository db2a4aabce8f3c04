// SAM-HQ's mask decoder (sam-hq segment_anything/modeling/mask_decoder_hq.py MaskDecoderHQ):
// SAM's decoder (inherited: the same modules, registered first, as the official class does) plus an HQ output token (hf_token) with its own hypernetwork MLP (hf_mlp), and
// HQ features fused from the image embedding (embedding_encoder) and the encoder's early
// features (compress_vit_feat: the first global-attention block of a ViT, TinyViT's stage 1).
// The HQ features depend only on the image, so they are computed once per image
// (hqFeatures()). forward() returns all four SAM tokens and the HQ token's logits; combining
// them (SAM mask + HQ mask, or the HQ mask alone with hq_token_only) is the predictor's job.
// Parameter names equal the official ones below "mask_decoder.".
#pragma once

#include "core/models/mask_decoder.h"

namespace birkhoff::models {

class HqMaskDecoderImpl : public MaskDecoderImpl {
public:
    explicit HqMaskDecoderImpl(const HeadConfig& config);

    /// embedding_encoder(imageEmbedding) + compress_vit_feat(earlyFeatures) [1, D/8, 4g, 4g];
    /// earlyFeatures [1, vitDim, g, g]. @throws Error for a wrong early-feature width.
    at::Tensor hqFeatures(const at::Tensor& imageEmbedding, const at::Tensor& earlyFeatures) const;

    /// imageEmbedding [1, D, g, g]; imagePe [1, D, g, g]; sparse [B, T, D]; dense [B, D, g, g];
    /// hq = hqFeatures(). lowResLogits/iouPredictions: the SAM tokens; hqLogits: the HQ token.
    DecoderOutput forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe, const at::Tensor& sparse,
                          const at::Tensor& dense, const at::Tensor& hq) const;
    /// forward() on a prepared image; same results.
    DecoderOutput forward(const DecoderImageCache& image, const at::Tensor& sparse, const at::Tensor& hq) const;

    // prepareImage() and numMaskTokens() (SAM tokens, without the HQ token) are SAM's.

private:
    DecoderOutput predict(const at::Tensor& keys, const at::Tensor& keyPe, std::int64_t height, std::int64_t width,
                          const at::Tensor& sparse, const ImageSideProjections* firstLayer, const at::Tensor& hq) const;

    std::int64_t vitDim_;
    Embedding hfToken_{nullptr};
    MultiLayerPerceptron hfMlp_{nullptr};
    ConvTranspose2d compress1_{nullptr};
    LayerNorm2d compressNorm_{nullptr};
    ConvTranspose2d compress2_{nullptr};
    ConvTranspose2d embedEncoder1_{nullptr};
    LayerNorm2d embedEncoderNorm_{nullptr};
    ConvTranspose2d embedEncoder2_{nullptr};
    Conv2d maskFeature1_{nullptr};
    LayerNorm2d maskFeatureNorm_{nullptr};
    Conv2d maskFeature2_{nullptr};
};
TORCH_MODULE(HqMaskDecoder);

}  // namespace birkhoff::models
