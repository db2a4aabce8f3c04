// MobileSAM / TinySAM image encoder (TinyViT, mobile_sam/modeling/tiny_vit_sam.py): a Conv2d_BN
// stem, an MBConv stage, then stages of windowed-attention blocks with learned attention biases
// and a depthwise local convolution, PatchMerging between stages (stride 1 into MobileSAM's last
// stage, so the output stays at 1/16), and SAM's neck. BatchNorm runs on its running statistics.
// Parameter names equal the official ones below "image_encoder." (patch_embed.seq.{0,2}.{c,bn},
// layers.{i}.blocks.{j}..., layers.{i}.downsample.conv{1,2,3}, norm_head, head, neck.{0..3}).
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/layers.h"
#include "core/models/sam_config.h"

#include <vector>

namespace birkhoff::models {

/// TinyViT's Conv2d_BN: a bias-free convolution "c" followed by a BatchNorm "bn".
class Conv2dBnImpl : public torch::nn::Module {
public:
    Conv2dBnImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                 std::int64_t groups);
    at::Tensor forward(const at::Tensor& x) const;

private:
    Conv2d conv_{nullptr};
    BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(Conv2dBn);

/// Window attention with learned per-offset biases: attention_biases [heads, R*R] is gathered
/// into [heads, N, N] by the offset index |r_i - r_j| * R + |c_i - c_j| at every forward, so the
/// table always reflects the loaded parameter (the official module caches it on eval(), which
/// goes stale when weights are loaded after eval()).
class TinyVitAttentionImpl : public torch::nn::Module {
public:
    TinyVitAttentionImpl(std::int64_t dim, std::int64_t numHeads, std::int64_t window, double layerNormEps);
    at::Tensor forward(const at::Tensor& x) const;  ///< [B, N, C] -> [B, N, C], N = window^2
    /// attention_biases gathered to [heads, N, N].
    at::Tensor gatheredBiases() const;

    at::Tensor attentionBiases;

private:
    LayerNorm norm_{nullptr};
    Linear qkv_{nullptr};
    Linear proj_{nullptr};
    at::Tensor biasIndex_;  ///< [N * N] int64 offset index (not a checkpoint tensor)
    std::int64_t numHeads_;
    std::int64_t keyDim_;
};
TORCH_MODULE(TinyVitAttention);

class TinyVitEncoder : public ImageEncoder {
public:
    explicit TinyVitEncoder(const TinyVitConfig& config);
    at::Tensor forward(const at::Tensor& image) const override;
    /// With config.outputEarlyFeatures, highRes = {stage 1's output as [B, C, h, w]} (SAM-HQ
    /// tiny's interm_embeddings[0]).
    ImageFeatures forwardFeatures(const at::Tensor& image) const override;

    const TinyVitConfig& config() const { return config_; }

private:
    struct Stage;
    /// forward(); `early` (optional) receives stage 1's output.
    at::Tensor run(const at::Tensor& image, at::Tensor* early) const;

    TinyVitConfig config_;
    Conv2dBn stem1_{nullptr};
    Conv2dBn stem2_{nullptr};
    std::vector<std::shared_ptr<Stage>> stages_;
    Conv2d neckConv1_{nullptr};
    LayerNorm2d neckNorm1_{nullptr};
    Conv2d neckConv2_{nullptr};
    LayerNorm2d neckNorm2_{nullptr};
};

}  // namespace birkhoff::models
