// SAM 2 / SAM 2.1 image encoder (sam2 ImageEncoder = Hiera trunk + FpnNeck + scalp): one
// configurable implementation for Hiera-T/S/B+/L and small test sizes (HieraConfig).
//
// Trunk (hieradet.py): 7x7 stride-4 patch embedding, pos_embed bicubic-interpolated to the token
// grid plus pos_embed_window tiled over it, then MultiScaleBlocks: windowed or global attention
// (no rel-pos), the first block of a new stage widens the width (dim_mul, with a Linear "proj"
// on the shortcut) and the heads (head_mul), and the first block of the first q_pool stage
// transitions max-pools the queries (and the shortcut) by q_stride. The output of every stage
// end goes to the neck.
// Neck (FpnNeck): a 1x1 conv per level, top-down nearest (or bilinear) x2 fusion only into the
// levels listed in fpn_top_down_levels, and `scalp` lowest-resolution levels dropped. The sine
// position encoding of the neck is not computed: the image path never uses it (only SAM 2's
// video memory attention does).
// Parameter names equal the official ones below "image_encoder." (trunk.pos_embed,
// trunk.pos_embed_window, trunk.patch_embed.proj, trunk.blocks.{i}.{norm1,attn.{qkv,proj},norm2,
// mlp.layers.{0,1},proj}, neck.convs.{i}.conv).
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/layers.h"
#include "core/models/sam_config.h"

#include <vector>

namespace birkhoff::models {

/// One Hiera MultiScaleBlock.
class HieraBlockImpl : public torch::nn::Module {
public:
    /// qStride 0: no query pooling; window 0: global attention.
    HieraBlockImpl(std::int64_t dim, std::int64_t dimOut, std::int64_t numHeads, double mlpRatio, std::int64_t qStride,
                   std::int64_t window, double layerNormEps);
    at::Tensor forward(const at::Tensor& x) const;  ///< [B, H, W, dim] -> [B, H', W', dimOut]

    std::int64_t window() const { return window_; }
    std::int64_t qStride() const { return qStride_; }

private:
    /// Multi-scale attention on [B', h, w, dim] windows (query pooling when qStride_ > 0).
    at::Tensor attend(const at::Tensor& x) const;
    /// 2-D max pooling of a [B, H, W, C] grid by qStride_.
    at::Tensor pool(const at::Tensor& x) const;

    std::int64_t dim_, dimOut_, numHeads_, qStride_, window_;
    LayerNorm norm1_{nullptr};
    Linear qkv_{nullptr};
    Linear attnProj_{nullptr};
    LayerNorm norm2_{nullptr};
    MlpBlock mlp_{nullptr};
    Linear proj_{nullptr};  ///< shortcut projection when dim != dimOut
};
TORCH_MODULE(HieraBlock);

/// Intermediate tensors of one encoder run, for comparison with the official code.
struct HieraTrace {
    at::Tensor tokensPlusPos;          ///< [B, H, W, C] input of blocks.0
    std::vector<at::Tensor> blocks;    ///< output of each block, [B, H, W, C]
    std::vector<at::Tensor> fpn;       ///< every neck level before scalp, [B, d, h, w], high res first
};

class HieraImageEncoder : public ImageEncoder {
public:
    explicit HieraImageEncoder(const HieraConfig& config);

    /// The lowest-resolution level kept after scalp (SAM 2's vision_features), [B, d, g, g].
    at::Tensor forward(const at::Tensor& image) const override;
    /// embedding = forward(); highRes = the kept higher-resolution levels, highest first
    /// (backbone_fpn[0], backbone_fpn[1] for the default scalp 1).
    ImageFeatures forwardFeatures(const at::Tensor& image) const override;
    /// forwardFeatures() that also records intermediate tensors into `trace`.
    ImageFeatures forwardTraced(const at::Tensor& image, HieraTrace* trace) const;

    const HieraConfig& config() const { return config_; }
    /// Block indexes whose outputs go to the neck (stage ends).
    const std::vector<std::int64_t>& stageEnds() const { return stageEnds_; }

private:
    at::Tensor positionEmbedding(std::int64_t h, std::int64_t w) const;

    HieraConfig config_;
    std::vector<std::int64_t> stageEnds_;
    at::Tensor posEmbed_;
    at::Tensor posEmbedWindow_;
    Conv2d patchProj_{nullptr};
    std::vector<HieraBlock> blocks_;
    std::vector<Conv2d> neckConvs_;  ///< neck.convs.{i}.conv, i = 0 for the lowest resolution
};

/// Widths, heads, windows and q-pooling of every Hiera block, as the official constructor
/// derives them from HieraConfig.
struct HieraBlockPlan {
    std::int64_t dim = 0;
    std::int64_t dimOut = 0;
    std::int64_t heads = 0;
    std::int64_t window = 0;
    bool qPool = false;
};
std::vector<HieraBlockPlan> planHieraBlocks(const HieraConfig& config);

}  // namespace birkhoff::models
