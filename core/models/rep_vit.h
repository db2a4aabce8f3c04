// EdgeSAM's image encoder (chongzhou96/EdgeSAM edge_sam/modeling/rep_vit.py, RepViT-m1 with
// fuse=True): a two-conv stem (stride 4), RepViT blocks (token mixer = RepVGG-style depthwise
// 3x3 + 1x1 + identity, or a stride-2 depthwise conv + 1x1 projection when downsampling, with an
// optional squeeze-excite; channel mixer = residual 1x1 expansion, GELU, 1x1), then
// fuse_stage2(stage 2) + x2-bicubic(fuse_stage3(stage 3)) and SAM's neck. Every Conv2d_BN keeps
// its BatchNorm (".c" + ".bn", evaluated on running statistics), which is what the unfused
// official module computes in eval mode. Block sizes come from the checkpoint's shapes
// (RepVitConfig), so other RepViT widths load too.
// Parameter names equal the official ones below "image_encoder." (features.{i}.token_mixer...,
// features.{i}.channel_mixer.m.{0,2}, fuse_stage2, fuse_stage3.op_list.0, neck.{0..3}).
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/layers.h"
#include "core/models/sam_config.h"
#include "core/models/tiny_vit.h"

#include <vector>

namespace birkhoff::models {

class RepVitBlockImpl;

class RepVitEncoder : public ImageEncoder {
public:
    explicit RepVitEncoder(const RepVitConfig& config);
    at::Tensor forward(const at::Tensor& image) const override;

    const RepVitConfig& config() const { return config_; }

private:
    RepVitConfig config_;
    Conv2dBn stem1_{nullptr};  ///< Conv2d_BN modules are shared with TinyViT (".c" + ".bn")
    Conv2dBn stem2_{nullptr};
    std::vector<std::shared_ptr<RepVitBlockImpl>> blocks_;
    Conv2d fuseStage2_{nullptr};
    Conv2d fuseStage3_{nullptr};
    Conv2d neckConv1_{nullptr};
    LayerNorm2d neckNorm1_{nullptr};
    Conv2d neckConv2_{nullptr};
    LayerNorm2d neckNorm2_{nullptr};
};

/// The official stage_idx of a RepViT: the block index before every width change, and the last.
std::vector<std::int64_t> repVitStageEnds(const RepVitConfig& config);

}  // namespace birkhoff::models
