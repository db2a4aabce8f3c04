// EfficientViT-SAM's image encoder (mit-han-lab/efficientvit efficientvit/models/efficientvit/
// sam.py EfficientViTSamImageEncoder): an EfficientViTLargeBackbone, the SamNeck, and a final
// LayerNorm2d.
//
// Backbone (backbone.py EfficientViTLargeBackbone): stage 0 = stride-2 ConvLayer + residual
// ResBlocks; every further stage = a stride-2 downsampling block without shortcut (MBConv or
// FusedMBConv) followed by residual local blocks (ResBlock / FusedMBConv / MBConv) or
// EfficientViT blocks (LiteMLA multi-scale ReLU linear attention with depthwise aggregation of
// q/k/v, then a residual MBConv). "Fewer norm" blocks have biased first convs and no BatchNorm
// there. Neck (SamNeck, a DAGBlock): 1x1 ConvLayer + bicubic resize to the embedding grid for
// each input stage, summed; residual FusedMBConvs; a biased 1x1 conv. Activations are GELU with
// the tanh approximation (the library's "gelu"); BatchNorms run on running statistics with the
// model zoo's eps (1e-6).
// Block kinds, widths and stages come from the checkpoint's shapes (EfficientVitConfig), so
// L0/L1/L2/XL0/XL1 and other sizes share one implementation. Parameter names equal the official
// ones below "image_encoder." (backbone.stages.{s}.op_list.{j}..., neck.input_ops.{k}.op_list.0,
// neck.middle.op_list.{i}.main..., neck.output_ops.0.op_list.0.conv, norm).
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/layers.h"
#include "core/models/sam_config.h"

#include <vector>

namespace birkhoff::models {

class EfficientVitConvLayerImpl;
class EfficientVitBlockImpl;

class EfficientVitEncoder : public ImageEncoder {
public:
    /// embeddingSize: side of the grid the neck resizes every input to (64 for the official models).
    EfficientVitEncoder(const EfficientVitConfig& config, std::int64_t embeddingSize);
    at::Tensor forward(const at::Tensor& image) const override;

    const EfficientVitConfig& config() const { return config_; }

private:
    EfficientVitConfig config_;
    std::int64_t embeddingSize_;
    std::shared_ptr<EfficientVitConvLayerImpl> stem_;
    std::vector<std::vector<std::shared_ptr<EfficientVitBlockImpl>>> stages_;
    std::vector<std::shared_ptr<EfficientVitConvLayerImpl>> neckInputs_;
    std::vector<std::shared_ptr<EfficientVitBlockImpl>> neckMiddle_;
    std::shared_ptr<EfficientVitConvLayerImpl> neckOutput_;
    LayerNorm2d norm_{nullptr};
};

/// LiteMLA's attention on the concatenated multi-scale q/k/v [B, G*3*dim, H, W]: ReLU linear
/// attention (relu_linear_att) when H*W > dim, else the quadratic form (relu_quadratic_att).
/// Returns [B, G*dim, H, W].
at::Tensor liteMlaAttention(const at::Tensor& qkv, std::int64_t dim, double eps = 1e-15);

}  // namespace birkhoff::models
