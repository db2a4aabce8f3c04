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
    /// forward() on already projected inputs (q_proj(q), k_proj(k), v_proj(v)).
    at::Tensor attendProjected(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const;

    at::Tensor projectQ(const at::Tensor& x) const { return qProj_->forward(x); }
    at::Tensor projectK(const at::Tensor& x) const { return kProj_->forward(x); }
    at::Tensor projectV(const at::Tensor& x) const { return vProj_->forward(x); }

private:
    Linear qProj_{nullptr}, kProj_{nullptr}, vProj_{nullptr}, outProj_{nullptr};
    std::int64_t numHeads_;
};
TORCH_MODULE(DecoderAttention);

/// What a two-way block computes from the image side alone (before the image tokens are
/// updated by the prompt tokens): valid for every prompt on one image as long as the dense
/// prompt embedding (no mask input) is the same.
struct ImageSideProjections {
    at::Tensor keysWithPe;          ///< keys + key_pe [1, HW, D]
    at::Tensor tokenToImageKey;     ///< cross_attn_token_to_image.k_proj(keys + key_pe)
    at::Tensor tokenToImageValue;   ///< cross_attn_token_to_image.v_proj(keys)
    at::Tensor imageToTokenQuery;   ///< cross_attn_image_to_token.q_proj(keys + key_pe)
};

class TwoWayBlockImpl : public torch::nn::Module {
public:
    TwoWayBlockImpl(const HeadConfig& config, bool skipFirstLayerPe);
    /// Updates queries [B, T, D] and keys [B, HW, D] in place of the inputs. `image` (optional)
    /// holds this block's image-side projections of the current `keys`.
    void forward(at::Tensor& queries, at::Tensor& keys, const at::Tensor& queryPe, const at::Tensor& keyPe,
                 const ImageSideProjections* image = nullptr) const;
    ImageSideProjections projectImageSide(const at::Tensor& keys, const at::Tensor& keyPe) const;

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

/// Per-image decoder work that does not depend on the sparse prompt (see
/// MaskDecoderImpl::prepareImage); reused by every click without a mask input.
struct DecoderImageCache {
    at::Tensor keys;   ///< (image embedding + dense embedding) as tokens [1, HW, D]
    at::Tensor keyPe;  ///< dense positional encoding as tokens [1, HW, D]
    ImageSideProjections firstLayer;
    std::int64_t height = 0, width = 0;
};

class TwoWayTransformerImpl : public torch::nn::Module {
public:
    explicit TwoWayTransformerImpl(const HeadConfig& config);
    /// keys [B, HW, D] (image tokens), keyPe [1, HW, D], tokens [B, T, D]; `firstLayer`
    /// (optional) holds layer 0's image-side projections of `keys`.
    /// Returns (queries [B, T, D], keys [B, HW, D]).
    std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& keys, const at::Tensor& keyPe, const at::Tensor& tokens,
                                              const ImageSideProjections* firstLayer = nullptr) const;
    ImageSideProjections projectFirstLayer(const at::Tensor& keys, const at::Tensor& keyPe) const;

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
    at::Tensor hqLogits;        ///< SAM-HQ only: the HQ token's logits [B, 1, 4g, 4g]
    at::Tensor objectScoreLogits;  ///< SAM 2 only: [B, 1] (not used by the image path)
};

class MaskDecoderImpl : public torch::nn::Module {
public:
    explicit MaskDecoderImpl(const HeadConfig& config);

    /// imageEmbedding [1 or B, D, g, g]; imagePe [1, D, g, g]; sparse [B, T, D];
    /// dense [B, D, g, g]. Returns the logits and IoU of all mask tokens.
    DecoderOutput forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe, const at::Tensor& sparse,
                          const at::Tensor& dense) const;
    /// The prompt-independent part of forward() for one image and one dense embedding [1, D, g, g].
    DecoderImageCache prepareImage(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                   const at::Tensor& dense) const;
    /// forward() for sparse [B, T, D] on a prepared image; same results as forward().
    DecoderOutput forward(const DecoderImageCache& image, const at::Tensor& sparse) const;

    std::int64_t numMaskTokens() const { return numMaskTokens_; }

private:
    DecoderOutput predict(const at::Tensor& keys, const at::Tensor& keyPe, std::int64_t height, std::int64_t width,
                          const at::Tensor& sparse, const ImageSideProjections* firstLayer) const;

protected:
    // SAM's decoder modules, shared with SAM-HQ's decoder (HqMaskDecoderImpl adds its own).
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
