// Hyper-parameters of the SAM-family models beyond SAM v1's ViT and TinyViT (which live in
// sam_config.h): SAM 2's Hiera trunk and FPN neck, EfficientSAM's plain ViT, EdgeSAM's RepViT,
// EfficientViT-SAM's EfficientViT-L backbone and SamNeck, and the decoder extensions of SAM 2
// and SAM-HQ. Each struct mirrors the official constructor arguments; sam_config.cpp and
// family_config.cpp fill them from checkpoint shapes, official defaults and config.json.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::models {

/// sam2 Hiera (hieradet.py) + FpnNeck (image_encoder.py) + ImageEncoder(scalp).
struct HieraConfig {
    std::int64_t inChans = 3;
    std::int64_t embedDim = 96;                        ///< initial width
    std::int64_t numHeads = 1;                         ///< initial heads
    std::vector<std::int64_t> stages{1, 2, 7, 2};      ///< blocks per stage
    std::vector<std::int64_t> globalAttBlocks{5, 7, 9};
    std::vector<std::int64_t> windowSpec{8, 4, 14, 7}; ///< window per stage (0 = global)
    std::array<std::int64_t, 2> posEmbedBackground{7, 7};  ///< window_pos_embed_bkg_spatial_size
    std::int64_t qPool = 3;                            ///< number of stage transitions that pool q
    std::int64_t qStride = 2;                          ///< q_stride (square)
    double dimMul = 2.0;
    double headMul = 2.0;
    double mlpRatio = 4.0;
    double layerNormEps = 1e-6;
    std::int64_t patchKernel = 7;
    std::int64_t patchStride = 4;
    std::int64_t patchPadding = 3;
    // FpnNeck
    std::int64_t dModel = 256;
    std::vector<std::int64_t> backboneChannels;        ///< neck.convs.{i} input widths (low to high res)
    std::vector<std::int64_t> fpnTopDownLevels{2, 3};
    bool fpnNearest = true;                            ///< fpn_interp_model "nearest" (else "bilinear")
    bool fuseAverage = false;                          ///< fuse_type "avg" (else "sum")
    std::int64_t scalp = 1;                            ///< lowest-resolution levels dropped
};

/// EfficientSAM's plain ViT (efficient_sam_encoder.py): global attention in every block, no
/// rel-pos, pos_embed of the 224-px pretraining (+cls) bicubic-resized to the token grid.
struct EfficientSamVitConfig {
    std::int64_t patchSize = 16;
    std::int64_t inChans = 3;
    std::int64_t embedDim = 192;
    std::int64_t depth = 12;
    std::int64_t numHeads = 3;
    std::int64_t mlpDim = 768;
    std::int64_t posEmbedGrid = 14;                    ///< pretraining grid (224 / 16)
    bool posEmbedHasCls = true;
    std::int64_t neckDim = 256;
    double layerNormEps = 1e-6;
};

/// One RepViT block (EdgeSAM rep_vit.py RepViTBlock), read from the checkpoint's shapes.
struct RepVitBlockConfig {
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t hidden = 0;   ///< channel mixer expansion width
    std::int64_t kernel = 3;
    std::int64_t stride = 1;   ///< 2: downsampling token mixer (dw conv stride 2 + 1x1)
    std::int64_t seHidden = 0; ///< squeeze-excite reduced width (0: no SE)
};

/// EdgeSAM's RepViT-m1 encoder with fuse=True: stem, blocks, fuse_stage2 + fuse_stage3 (x2
/// bicubic) summed, SAM neck.
struct RepVitConfig {
    std::int64_t inChans = 3;
    std::int64_t stemHidden = 24;
    std::int64_t stemOut = 48;
    std::vector<RepVitBlockConfig> blocks;
    std::int64_t fuseWidth = 256;     ///< fuse_stage2/3 output width
    std::int64_t fuseStage2Block = 0; ///< feature index (0-based over blocks) of stage 2's output
    std::int64_t fuseStage3Block = 0; ///< feature index of stage 3's output
    std::int64_t outChans = 256;
    bool upsampleBicubic = true;      ///< fuse_stage3 upsampling ("bicubic", else "bilinear")
};

/// One EfficientViT-L stage block kind.
enum class EfficientVitBlockKind { Res, FusedMb, Mb, Attention };

/// One block of an EfficientViT backbone stage, read from the checkpoint's shapes.
struct EfficientVitBlockConfig {
    EfficientVitBlockKind kind = EfficientVitBlockKind::Res;
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t mid = 0;            ///< expansion width (Res/FusedMb/Mb; Attention: its MBConv)
    std::int64_t stride = 1;
    bool residual = true;            ///< ResidualBlock with IdentityLayer shortcut
    bool fewerNorm = false;          ///< first convs with bias and no BatchNorm
    // Attention (EfficientViTBlock / LiteMLA)
    std::int64_t attentionDim = 32;  ///< LiteMLA dim (qkv_dim)
    std::int64_t heads = 0;
    std::vector<std::int64_t> scales;  ///< aggregation kernel sizes
};

/// EfficientViT-SAM image encoder: EfficientViTLargeBackbone + SamNeck + LayerNorm2d.
struct EfficientVitConfig {
    std::int64_t inChans = 3;
    std::int64_t stemWidth = 32;                           ///< stage 0 ConvLayer output
    std::vector<std::vector<EfficientVitBlockConfig>> stages;  ///< stage 0 holds only its residual blocks
    std::vector<std::int64_t> neckInputStages;            ///< fid_list as stage indexes (stage4, 3, 2)
    std::vector<std::int64_t> neckInputChannels;
    std::int64_t headWidth = 256;
    std::int64_t neckDepth = 4;
    std::int64_t neckMid = 256;                            ///< FusedMBConv mid width (head_width * expand)
    std::int64_t outChans = 256;
    double normEps = 1e-6;                                 ///< set_norm_eps of the model zoo
};

/// SAM 2 decoder options (sam2 MaskDecoder + SAM2Base image path).
struct Sam2HeadOptions {
    bool useHighResFeatures = true;     ///< conv_s0 / conv_s1
    bool predObjScores = true;          ///< obj_score_token + pred_obj_score_head
    bool predObjScoresMlp = true;       ///< pred_obj_score_head is an MLP (else one Linear)
    bool iouSigmoid = true;             ///< iou_prediction_use_sigmoid
    bool addNoMemEmbed = true;          ///< directly_add_no_mem_embed
    bool dynamicMultimask = true;       ///< dynamic_multimask_via_stability
    double stabilityDelta = 0.05;
    double stabilityThresh = 0.98;
};

/// SAM-HQ decoder options (MaskDecoderHQ).
struct HqHeadOptions {
    std::int64_t vitDim = 768;          ///< width of the early encoder features (compress_vit_feat input)
};

/// EfficientSAM decoder layout (efficient_sam_decoder.py).
struct EfficientSamHeadOptions {
    std::vector<std::int64_t> upscalingDims{64, 32};  ///< final_output_upscaling_layers widths
    std::int64_t hypernetworkLayers = 2;              ///< MLPBlock num_layers of the hypernetworks
    std::int64_t maxPoints = 6;                        ///< decoder_max_num_input_points
};

}  // namespace birkhoff::models
