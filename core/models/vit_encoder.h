// SAM v1 image encoder (segment_anything ImageEncoderViT): patch embedding, absolute position
// embedding, transformer blocks with windowed or global multi-head attention and decomposed
// relative position (MViTv2, with linear interpolation of the tables when their length does not
// fit), and the convolutional neck. One implementation serves SAM ViT-B/L/H, MedSAM, SlimSAM and
// the small test configurations; the sizes come from VitEncoderConfig.
// Parameter names equal the official ones below "image_encoder." (pos_embed, patch_embed.proj,
// blocks.{i}.{norm1,attn.{qkv,proj,rel_pos_h,rel_pos_w},norm2,mlp.{lin1,lin2}}, neck.{0..3}).
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/layers.h"
#include "core/models/sam_config.h"

#include <vector>

namespace birkhoff::models {

/// Relative-position embeddings for a query/key length pair (get_rel_pos): the table
/// [L, C] is linearly interpolated (align_corners=False) to 2*max(q,k)-1 rows when L differs,
/// then gathered into [q, k, C].
at::Tensor relativePositionTable(std::int64_t querySize, std::int64_t keySize, const at::Tensor& table);

/// Multi-head self-attention over a [B, H, W, C] token grid with optional decomposed rel-pos.
/// `attentionDim` is the width of q, k and v (= dim, except in pruned encoders).
class VitAttentionImpl : public torch::nn::Module {
public:
    VitAttentionImpl(std::int64_t dim, std::int64_t attentionDim, std::int64_t numHeads, bool qkvBias, bool useRelPos,
                     std::int64_t relPosLength);
    at::Tensor forward(const at::Tensor& x) const;

    Linear qkv{nullptr};
    Linear proj{nullptr};
    at::Tensor relPosH;
    at::Tensor relPosW;

private:
    std::int64_t numHeads_;
    bool useRelPos_;
};
TORCH_MODULE(VitAttention);

class VitBlockImpl : public torch::nn::Module {
public:
    /// Block `index` of `config` (its widths); windowSize 0 = global attention. relPosLength:
    /// rows of the rel-pos tables.
    VitBlockImpl(const VitEncoderConfig& config, std::int64_t index, std::int64_t windowSize,
                 std::int64_t relPosLength);
    at::Tensor forward(const at::Tensor& x) const;  ///< [B, H, W, C] -> same

    std::int64_t windowSize() const { return windowSize_; }

private:
    LayerNorm norm1_{nullptr};
    VitAttention attn_{nullptr};
    LayerNorm norm2_{nullptr};
    MlpBlock mlp_{nullptr};
    std::int64_t windowSize_;
};
TORCH_MODULE(VitBlock);

/// Outputs of the encoder's stages, for numerical comparison with the official code.
struct VitTrace {
    at::Tensor patchEmbed;          ///< [B, g, g, C] before pos_embed
    at::Tensor tokensPlusPos;       ///< [B, g, g, C] input of blocks.0
    std::vector<at::Tensor> blocks; ///< output of each block, [B, g, g, C]
};

class VitImageEncoder : public ImageEncoder {
public:
    /// `imageSize`: encoder input side; the token grid is imageSize / patchSize.
    VitImageEncoder(const VitEncoderConfig& config, std::int64_t imageSize);

    at::Tensor forward(const at::Tensor& image) const override;
    /// With config.outputEarlyFeatures, highRes = {first global block's tokens as [B, C, g, g]}
    /// (SAM-HQ's interm_embeddings[0]).
    ImageFeatures forwardFeatures(const at::Tensor& image) const override;
    /// forward() that also records each stage's output into `trace`.
    at::Tensor forwardTraced(const at::Tensor& image, VitTrace* trace) const;

    const VitEncoderConfig& config() const { return config_; }

private:
    /// forward(); `early` (optional) receives the first global block's output [B, g, g, C].
    at::Tensor run(const at::Tensor& image, VitTrace* trace, at::Tensor* early) const;

    VitEncoderConfig config_;
    at::Tensor posEmbed_;
    Conv2d patchProj_{nullptr};
    std::vector<VitBlock> blocks_;
    Conv2d neckConv1_{nullptr};
    LayerNorm2d neckNorm1_{nullptr};
    Conv2d neckConv2_{nullptr};
    LayerNorm2d neckNorm2_{nullptr};
};

}  // namespace birkhoff::models
