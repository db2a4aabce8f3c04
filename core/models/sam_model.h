// A whole SAM-family model (image encoder + prompt encoder + mask decoder) as one LibTorch
// module whose parameter names are exactly the official checkpoint keys, and the loader that
// fills it: a name-for-name copy from a state dict that reports every missing, unexpected and
// mis-shaped key. One class serves every family (SamConfig::encoder / decoder pick the
// modules: SAM v1 ViT, TinyViT, SAM 2 Hiera, EfficientSAM, EdgeSAM RepViT, EfficientViT-SAM;
// SAM, SAM-HQ, SAM 2 and EfficientSAM heads), so the predictor, the CLI and the studio have one
// model type and one factory (loadSamModel). Linear layers are birkhoff::models::Linear, so a
// compressed weight (HyperLinear) is attached with attachLinearBackends() and the loader then
// skips that dense weight; nothing else differs between original and compressed models.
#pragma once

#include "core/format/encoded_tensor.h"
#include "core/io/state_dict.h"
#include "core/models/family.h"
#include "core/models/image_encoder.h"
#include "core/models/linear.h"
#include "core/models/mask_decoder.h"
#include "core/models/prompt_encoder.h"
#include "core/models/sam_config.h"
#include "core/util/progress.h"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace birkhoff::format {
struct EncodedTensor;
}

namespace birkhoff::models {

/// Prompt tensors in the encoder's input frame (coordinates already scaled to imageSize).
struct PromptTensors {
    at::Tensor coords;     ///< [B, N, 2] float32 (x, y); N may be 0
    at::Tensor labels;     ///< [B, N] PointLabel codes, incl. padding point / box corners
    at::Tensor maskInput;  ///< [B, 1, 4g, 4g] low-res logits, or undefined
};

/// Where a loaded model came from, for reports.
struct ModelInfo {
    std::filesystem::path path;
    std::string format;                    ///< "PyTorch zip", "safetensors", "compressed"
    std::string family;                    ///< detectFamily's display name ("SAM ViT-B", ...)
    std::vector<std::string> notes;        ///< what loading renamed or ignored
    std::optional<std::filesystem::path> configPath;
    std::int64_t parameterCount = 0;       ///< elements of all checkpoint tensors the model holds
    std::int64_t weightBytes = 0;          ///< run-time bytes of parameters and buffers
    std::int64_t compressedLinearLayers = 0;
    double loadMs = 0;
};

class EfficientSamPromptEncoderImpl;
class EfficientSamMaskDecoderImpl;
class HqMaskDecoderImpl;
class Sam2MaskDecoderImpl;

class SamModel : public torch::nn::Module {
public:
    /// Builds the modules for `config` (weights zero until loaded), including the tensors
    /// listed in config.inactiveTensors.
    explicit SamModel(const SamConfig& config);

    const SamConfig& config() const { return config_; }
    const ImageEncoder& imageEncoder() const { return *imageEncoder_; }
    /// SAM's prompt encoder (every family but EfficientSAM). @throws Error for EfficientSAM.
    const PromptEncoderImpl& promptEncoder() const;
    /// SAM v1's mask decoder (DecoderKind::Sam). @throws Error for the other decoders.
    const MaskDecoderImpl& maskDecoder() const;
    /// The positional encoding of the embedding grid [1, D, g, g] (get_dense_pe).
    at::Tensor denseEncoding() const;

    /// Runs the image encoder without autograd. input: [1, 3, S, S] normalised (S =
    /// config().encoderSize()). Returns the image embedding the decoder uses (for SAM 2 with
    /// no_mem_embed added).
    at::Tensor encodeImage(const at::Tensor& input) const;
    /// encodeImage() plus the per-image maps the decoder needs: SAM 2: conv_s0/conv_s1 of the
    /// FPN levels 0/1 (SAM2Base.forward_image); SAM-HQ: the fused HQ features. Empty otherwise.
    ImageFeatures encodeFeatures(const at::Tensor& input) const;
    /// Sparse [B, N(+0), D] and dense [B, D, g, g] prompt embeddings (EfficientSAM: the points
    /// padded to its fixed count, and no dense embedding).
    std::pair<at::Tensor, at::Tensor> embedPrompt(const PromptTensors& prompt) const;
    /// The mask decoder's prompt-independent work for one image embedding [1, D, g, g] (prompts
    /// without a mask input), to pass to decode() for every click on that image. EfficientSAM
    /// has none (the cache comes back empty and decode() ignores it).
    DecoderImageCache prepareDecoder(const at::Tensor& imageEmbedding) const;
    /// Prompt encoder + mask decoder without autograd: every mask token's logits and IoU (plus
    /// the HQ token's logits for SAM-HQ and the object score for SAM 2). `cache` (from
    /// prepareDecoder on the same embedding) is used when the prompt has no mask input; the
    /// results are the same with or without it.
    DecoderOutput decode(const ImageFeatures& image, const PromptTensors& prompt,
                         const DecoderImageCache* cache = nullptr) const;
    /// decode() for families without extra image features. @throws Error for SAM 2 with
    /// high-resolution features and SAM-HQ (use the ImageFeatures overload).
    DecoderOutput decode(const at::Tensor& imageEmbedding, const PromptTensors& prompt,
                         const DecoderImageCache* cache = nullptr) const;

    /// Registers tensors the image path does not run (SAM 2's video memory, extra keys of
    /// strict=False families) so that they load, compress and save with the model.
    void keepInactiveTensors(const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& tensors);

    /// Every parameter and buffer in PyTorch state_dict order (a module's own parameters, then
    /// its own buffers, then its children in registration order), named as in the checkpoint.
    /// The dense weight of a Linear layer with a compressed backend appears with shape [0].
    std::vector<std::pair<std::string, at::Tensor>> stateDict() const;

    /// Load-time facts (set by the loaders).
    ModelInfo info;

private:
    SamConfig config_;
    std::shared_ptr<ImageEncoder> imageEncoder_;
    PromptEncoder promptEncoder_{nullptr};
    MaskDecoder maskDecoder_{nullptr};
    std::shared_ptr<HqMaskDecoderImpl> hqDecoder_;
    std::shared_ptr<Sam2MaskDecoderImpl> sam2Decoder_;
    std::shared_ptr<EfficientSamPromptEncoderImpl> efficientPrompt_;
    std::shared_ptr<EfficientSamMaskDecoderImpl> efficientDecoder_;
    at::Tensor noMemEmbed_;  ///< SAM 2: [1, 1, D]
};

/// Name -> shape of every tensor in `tensors`.
TensorShapes shapesOf(const io::StateDict& tensors);

/// Compressed weights keyed by the weight's checkpoint name ("...attn.qkv.weight").
using LinearBackendMap = std::map<std::string, std::shared_ptr<const LinearBackend>>;

/// Attaches each backend to the Linear layer owning that weight name (its dense weight is
/// released). @throws Error naming a key that is not the weight of a Linear layer of `model`.
void attachLinearBackends(SamModel& model, const LinearBackendMap& backends);

/// Copies `tensors` into the model's parameters and buffers by name. float16/bfloat16/float64
/// tensors are converted to float32; float32 tensors are shared, not copied. The dense weights
/// of Linear layers that have a backend are skipped (they may be absent or present).
/// pixel_mean/pixel_std (non-persistent in the official code) are ignored if present.
/// @throws Error listing every missing, unexpected and mis-shaped key (first 12 of each, with
///         counts), naming `source`.
void loadWeights(SamModel& model, const io::StateDict& tensors, const std::string& source);

/// Builds the model for `config` and loads `tensors` (+ backends) into it.
std::shared_ptr<SamModel> buildSamModel(const SamConfig& config, const io::StateDict& tensors,
                                        const std::string& source, const LinearBackendMap& backends = {});

/// How the Linear layers of a compressed file run.
enum class CompressedRun {
    HyperLinear,  ///< HyperLinear backends straight from the indices (the default)
    Reference,    ///< HyperLinear backends forced onto the reference path (decode, then at::linear)
    Dense,        ///< every tensor decoded to a dense float32 model (format::restoreDense)
};

struct LoadOptions {
    /// Explicit config.json (--config); otherwise "config.json" beside the checkpoint if present.
    std::optional<std::filesystem::path> configPath;
    /// Compressed files only: how Linear weights stored as index matrices run.
    CompressedRun compressedRun = CompressedRun::HyperLinear;
    /// Compressed files, CompressedRun::HyperLinear: makes the run-time backend of a compressed
    /// Linear weight. Empty: a HyperLinearBackend (CPU kernel, or CUDA when available).
    std::function<std::shared_ptr<const LinearBackend>(const format::EncodedTensor&)> linearBackend;
};

/// Opens a model file of any supported kind and returns the ready model (eval mode, float32,
/// CPU): PyTorch zip checkpoints (raw or wrapped, through io::loadCheckpoint), safetensors
/// (original or Hugging Face key names), and compressed hyper_model.safetensors files (Linear
/// weights stored as index matrices run as HyperLinear, see LoadOptions; everything else
/// decoded), and baseline-quantized files (rtn / hqq, dequantized on load). Every family detectFamily() knows is supported: SAM v1 ViT (incl. MedSAM,
/// SlimSAM), MobileSAM / TinySAM, SAM-HQ (ViT and tiny), SAM 2 / 2.1, EfficientSAM, EdgeSAM,
/// EfficientViT-SAM.
/// @throws Error for unreadable files, unknown formats, layouts that are not SAM-family, and
///         shapes that do not fit (see inferSamConfig and loadWeights); CancelledError when
///         `progress` is cancelled.
std::shared_ptr<SamModel> loadSamModel(const std::filesystem::path& path, const LoadOptions& options = {},
                                       const Progress& progress = {});

/// Builds the model of a compressed file: config from the stored shapes (+ `configOverrides`),
/// the Linear layers whose weights are stored as index matrices on backends (options.
/// compressedRun / linearBackend), every other tensor decoded (also Linear-shaped tensors the
/// model does not run, such as SAM 2's video memory). `source` names the file in messages.
/// @throws Error as inferSamConfig / loadWeights / HyperLinearBackend::fromEncoded;
///         CancelledError when `progress` is cancelled.
std::shared_ptr<SamModel> buildCompressedSamModel(const format::CompressedModel& compressed, const std::string& source,
                                                  const nlohmann::json* configOverrides, const LoadOptions& options,
                                                  const Progress& progress = {});

}  // namespace birkhoff::models
