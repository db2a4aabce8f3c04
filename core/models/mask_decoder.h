// SAM's mask decoder (segment_anything MaskDecoder + TwoWayTransformer), shared by the SAM v1
// family: a two-way transformer between prompt tokens and the image embedding, transposed-conv
// upscaling, per-token hypernetwork MLPs, and the IoU prediction head. It always computes every
// mask token (token 0 = single-mask output, tokens 1..N = multimask outputs); selecting the
// tokens to return is the predictor's job. Parameter names equal the official ones below
// "mask_decoder.".
#pragma once

#include "core/models/layers.h"
#include "core/models/sam_config.h"

#include <vector>

namespace birkhoff::models {

/// Attention with an optional down-projection of the embedding (segment_anything Attention).
class DecoderAttentionImpl : public torch::nn::Module {
public:
    DecoderAttentionImpl(std::int64_t dim, std::int64_t numHeads, std::int64_t downsampleRate);
    at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const;

private:
    Linear qProj_{nullptr}, kProj_{nullptr}, vProj_{nullptr}, outProj_{nullptr};
    std::int64_t numHeads_;
};
TORCH_MODULE(DecoderAttention);

class TwoWayBlockImpl : public torch::nn::Module {
public:
    TwoWayBlockImpl(const HeadConfig& config, bool skipFirstLayerPe);
    /// Updates queries [B, T, D] and keys [B, HW, D] in place of the inputs.
    void forward(at::Tensor& queries, at::Tensor& keys, const at::Tensor& queryPe, const at::Tensor& keyPe) const;

private:
    DecoderAttention selfAttn_{nullptr};
    LayerNorm norm1_{nullptr};
    DecoderAttention crossTokenToImage_{nullptr};
    LayerNorm norm2_{nullptr};
    MlpBlock mlp_{nullptr};
    LayerNorm norm3_{nullptr};
    LayerNorm norm4_{nullptr};
    DecoderAttention crossImageToToken_{nullptr};
    bool skipFirstLayerPe_;
};
TORCH_MODULE(TwoWayBlock);

class TwoWayTransformerImpl : public torch::nn::Module {
public:
    explicit TwoWayTransformerImpl(const HeadConfig& config);
    /// image [B, D, h, w], imagePe [B or 1, D, h, w], tokens [B, T, D].
    /// Returns (queries [B, T, D], keys [B, h*w, D]).
    std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& image, const at::Tensor& imagePe,
                                              const at::Tensor& tokens) const;

private:
    std::vector<TwoWayBlock> layers_;
    DecoderAttention finalAttn_{nullptr};
    LayerNorm normFinal_{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

/// Every mask token's output.
struct DecoderOutput {
    at::Tensor lowResLogits;    ///< [B, numMaskTokens, 4g, 4g]
    at::Tensor iouPredictions;  ///< [B, numMaskTokens]
};

class MaskDecoderImpl : public torch::nn::Module {
public:
    explicit MaskDecoderImpl(const HeadConfig& config);

    /// imageEmbedding [1 or B, D, g, g]; imagePe [1, D, g, g]; sparse [B, T, D];
    /// dense [B, D, g, g]. Returns the logits and IoU of all mask tokens.
    DecoderOutput forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe, const at::Tensor& sparse,
                          const at::Tensor& dense) const;

    std::int64_t numMaskTokens() const { return numMaskTokens_; }

private:
    std::int64_t numMaskTokens_;
    TwoWayTransformer transformer_{nullptr};
    Embedding iouToken_{nullptr};
    Embedding maskTokens_{nullptr};
    ConvTranspose2d upscale1_{nullptr};
    LayerNorm2d upscaleNorm_{nullptr};
    ConvTranspose2d upscale2_{nullptr};
    std::vector<MultiLayerPerceptron> hypernetworks_;
    MultiLayerPerceptron iouHead_{nullptr};
};
TORCH_MODULE(MaskDecoder);

}  // namespace birkhoff::models
