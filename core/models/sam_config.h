// Hyper-parameters of every SAM-family model (SAM ViT-B/L/H, MedSAM, SlimSAM, MobileSAM/TinySAM,
// SAM-HQ, SAM 2/2.1, EfficientSAM, EdgeSAM, EfficientViT-SAM and small test configurations; the
// structs of the newer families are in family_config.h) and how they are found: first from the
// tensor shapes of the checkpoint (grid from pos_embed, window size and head dimension from
// rel_pos_*, global blocks from the longer rel-pos tables, TinyViT widths/depths/heads/windows,
// Hiera stages, RepViT and EfficientViT blocks from their tensors), then the official defaults
// for what shapes cannot tell (decoder head count, pixel mean/std, Hiera windows), then a
// config.json in the official key names that overrides both. A config value that contradicts
// the checkpoint's shapes is an error, not a silent choice.
#pragma once

#include "core/models/family_config.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::models {

/// Name -> shape of every tensor of a checkpoint (dense or compressed); all config inference
/// works on shapes only, so it needs no tensor data.
using TensorShapes = std::map<std::string, std::vector<std::int64_t>>;

enum class EncoderKind {
    Vit,              ///< SAM v1 ImageEncoderViT (SAM ViT-B/L/H, MedSAM, SlimSAM, SAM-HQ, test configs)
    TinyVit,          ///< MobileSAM / TinySAM / SAM-HQ tiny TinyViT
    Hiera,            ///< SAM 2 / 2.1 Hiera trunk + FPN neck
    EfficientSamVit,  ///< EfficientSAM plain ViT
    RepVit,           ///< EdgeSAM RepViT
    EfficientVit,     ///< EfficientViT-SAM EfficientViT-L backbone + SamNeck
};

/// "vit", "tinyvit", "hiera", "efficientsam-vit", "repvit", "efficientvit".
const char* encoderKindName(EncoderKind kind);

/// The prompt encoder + mask decoder family.
enum class DecoderKind {
    Sam,           ///< segment_anything PromptEncoder + MaskDecoder (shared by most variants)
    SamHq,         ///< SAM-HQ MaskDecoderHQ (HQ token, early encoder features)
    Sam2,          ///< SAM 2 (sam_ prefixes, object-score token, high-resolution features)
    EfficientSam,  ///< EfficientSAM's re-implementation (no mask input, GELU MLPs, GroupNorm)
};

/// "sam", "sam_hq", "sam2", "efficient_sam".
const char* decoderKindName(DecoderKind kind);

/// segment_anything ImageEncoderViT arguments.
struct VitEncoderConfig {
    std::int64_t patchSize = 16;
    std::int64_t inChans = 3;
    std::int64_t embedDim = 768;
    std::int64_t depth = 12;
    std::int64_t numHeads = 12;
    std::int64_t mlpDim = 3072;          ///< lin1 width (= embed_dim * mlp_ratio)
    std::int64_t outChans = 256;
    bool qkvBias = true;
    bool useAbsPos = true;
    bool useRelPos = true;
    std::int64_t windowSize = 14;
    std::vector<std::int64_t> globalAttnIndexes{2, 5, 8, 11};
    double layerNormEps = 1e-6;
    std::int64_t posEmbedGrid = 64;      ///< pos_embed grid of the checkpoint (pretraining grid)
    /// Rows of each block's rel_pos_h/rel_pos_w tables as stored in the checkpoint. Empty: the
    /// official 2*size-1 (size = window, or the token grid for global blocks). Tables whose
    /// length does not fit the attention size are interpolated at run time (get_rel_pos).
    std::vector<std::int64_t> relPosLengths;
    /// Per-block widths of pruned encoders (SlimSAM): attention width (qkv rows / 3) and MLP
    /// hidden width of each block. Empty: every block uses embedDim and mlpDim.
    std::vector<std::int64_t> blockAttentionDims;
    std::vector<std::int64_t> blockMlpDims;
    /// Per-block head counts when they differ (from each block's rel-pos head dimension).
    std::vector<std::int64_t> blockNumHeads;
    /// SAM-HQ: also output the first global-attention block's tokens (interm_embeddings[0]).
    bool outputEarlyFeatures = false;
};

/// MobileSAM TinyViT arguments (tiny_vit_sam.py TinyViT).
struct TinyVitConfig {
    std::int64_t inChans = 3;
    std::vector<std::int64_t> embedDims{64, 128, 160, 320};
    std::vector<std::int64_t> depths{2, 2, 6, 2};
    std::vector<std::int64_t> numHeads{2, 4, 5, 10};
    std::vector<std::int64_t> windowSizes{7, 7, 14, 7};
    /// Hidden width of each attention stage's MLP (fc1), index 0 unused (stage 0 is MBConv).
    std::vector<std::int64_t> mlpDims{0, 512, 640, 1280};
    std::int64_t mbconvHidden = 256;     ///< MBConv expansion width (= embed_dims[0] * 4)
    std::int64_t localConvSize = 3;
    /// Stride of each PatchMerging (between stage i and i+1). MobileSAM's rule: stride 1 when
    /// the output width is 320, 448 or 576 (so the last stage stays at 1/16), else 2.
    std::vector<std::int64_t> mergeStrides{2, 2, 1};
    std::int64_t outChans = 256;
    std::int64_t numClasses = 1000;      ///< unused ImageNet head kept for strict loading (0: absent)
    double layerNormEps = 1e-5;
    /// SAM-HQ tiny: also output stage 1's tokens (interm_embeddings[0], after its downsampling).
    bool outputEarlyFeatures = false;
};

/// Prompt encoder + mask decoder (segment_anything build_sam.py _build_sam).
struct HeadConfig {
    std::int64_t promptEmbedDim = 256;
    std::int64_t maskInChans = 16;
    std::int64_t numMultimaskOutputs = 3;
    std::int64_t transformerDepth = 2;
    std::int64_t transformerMlpDim = 2048;
    std::int64_t transformerNumHeads = 8;
    std::int64_t attentionDownsampleRate = 2;
    std::int64_t iouHeadDepth = 3;
    std::int64_t iouHeadHiddenDim = 256;
    /// Transformer LayerNorm eps (1e-5; EfficientViT-SAM's model zoo sets every norm to 1e-6).
    double layerNormEps = 1e-5;
    /// Transformer MLPs named mlp.layers.{0,1} (SAM 2) instead of mlp.lin1/lin2.
    bool mlpLayersNames = false;
    Sam2HeadOptions sam2;                ///< DecoderKind::Sam2 only
    HqHeadOptions hq;                    ///< DecoderKind::SamHq only
    EfficientSamHeadOptions efficientSam;  ///< DecoderKind::EfficientSam only
};

/// How images become encoder input and low-res logits become masks.
enum class ImagePipeline {
    /// SAM v1: longest side -> encoder size (Pillow bilinear on 8-bit), mean/std in 0..255,
    /// zero padding to a square; logits -> padded square -> crop -> original (bilinear), > threshold.
    Sam,
    /// SAM 2: square resize without aspect (antialiased bilinear on [0,1] floats), ImageNet
    /// mean/std, no padding; logits bilinear straight to the original size; returned low-res
    /// logits clamped to [-32, 32].
    Sam2,
    /// EfficientSAM: square resize (bilinear on [0,1] floats, no antialias), ImageNet mean/std;
    /// logits bicubic straight to the original size; mask = logit >= threshold.
    EfficientSam,
    /// MedSAM: square resize (bicubic, antialiased; see predict/image_io.h), min-max scaled to
    /// [0,1], no mean/std; sigmoid, bilinear to the original size, probability > 0.5.
    MedSam,
};

/// "sam", "sam2", "efficient_sam", "medsam".
const char* imagePipelineName(ImagePipeline pipeline);

/// Pre- and post-processing constants (Sam.pixel_mean/pixel_std are not in checkpoints).
struct PreprocessConfig {
    std::array<double, 3> pixelMean{123.675, 116.28, 103.53};
    std::array<double, 3> pixelStd{58.395, 57.12, 57.375};
    double maskThreshold = 0.0;
    ImagePipeline pipeline = ImagePipeline::Sam;
};

struct SamConfig {
    EncoderKind encoder = EncoderKind::Vit;
    DecoderKind decoder = DecoderKind::Sam;
    std::string variant;                 ///< short description ("sam_vit_b", "mobile_sam", "vit 64x4")
    std::int64_t imageSize = 1024;       ///< prompt/mask frame side (= encoder input unless encoderInputSize)
    std::int64_t embeddingSize = 64;     ///< image embedding grid side (imageSize / 16)
    /// Encoder input side when it differs from imageSize (EfficientViT-SAM L0-L2: 512); 0 = imageSize.
    std::int64_t encoderInputSize = 0;
    VitEncoderConfig vit;
    TinyVitConfig tinyVit;
    HieraConfig hiera;
    EfficientSamVitConfig efficientSamVit;
    RepVitConfig repVit;
    EfficientVitConfig efficientVit;
    HeadConfig head;
    PreprocessConfig preprocess;
    /// Where each value came from besides shapes/defaults (e.g. "config.json: transformer_num_heads").
    std::vector<std::string> overrides;

    /// Checkpoint tensors the image path does not use but the model keeps (so that loading,
    /// compressing and saving see them): SAM 2's video-memory modules, and extra keys of the
    /// families the official code loads with strict=False (SAM-HQ, EdgeSAM). Name -> shape.
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> inactiveTensors;
    /// Facts worth telling the user (ignored keys, defaults taken for what shapes cannot tell).
    std::vector<std::string> notes;

    /// The encoder's input side (encoderInputSize, or imageSize).
    std::int64_t encoderSize() const { return encoderInputSize > 0 ? encoderInputSize : imageSize; }
    /// Width of the image embedding the encoder outputs.
    std::int64_t encoderOutChannels() const;

    /// One line per group of settings, for --verbose and reports.
    std::string describe() const;
};

/// Infers the configuration from tensor shapes (+ official defaults, noted in `notes` where the
/// shapes cannot tell), then applies `overrides` (a parsed config.json; may be null). The
/// encoder (ViT, TinyViT, Hiera, EfficientSAM ViT, RepViT, EfficientViT) and the head (SAM,
/// SAM-HQ, SAM 2, EfficientSAM) are recognised from the key names. Accepted config layouts: the
/// official builder arguments (flat, or under "builder_args") and/or "constructor_kwargs"
/// {ImageEncoderViT, TinyViT, PromptEncoder, TwoWayTransformer, MaskDecoder, Sam}; SAM 2's
/// official nested config ({"config": {"model": ...}}, {"model": ...} or the model object);
/// and "preprocessing" (sam | sam2 | efficient_sam | medsam), "image_size",
/// "encoder_input_size", "encoder_num_heads" (EfficientSAM); unknown keys are ignored.
/// `source` names the checkpoint in messages.
/// @throws Error when the layout is not a SAM-family checkpoint, when tensors the shapes are
///         read from are missing or inconsistent, or when an override contradicts the shapes
///         (e.g. encoder_embed_dim 768 for a 64-wide checkpoint).
SamConfig inferSamConfig(const TensorShapes& shapes, const nlohmann::json* overrides, const std::string& source);

/// Reads a config.json. @throws Error if unreadable or not valid JSON.
nlohmann::json readConfigFile(const std::filesystem::path& path);

/// The config.json beside a checkpoint ("<dir>/config.json"), or nullopt when there is none.
std::optional<std::filesystem::path> configBesideCheckpoint(const std::filesystem::path& checkpoint);

}  // namespace birkhoff::models
