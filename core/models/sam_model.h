// A whole SAM v1-family model (image encoder + prompt encoder + mask decoder) as one LibTorch
// module whose parameter names are exactly the official checkpoint keys, and the loader that
// fills it: a name-for-name copy from a state dict that reports every missing, unexpected and
// mis-shaped key. Linear layers are birkhoff::models::Linear, so a compressed weight
// (HyperLinear) is attached with attachLinearBackends() and the loader then skips that dense
// weight; nothing else differs between original and compressed models.
#pragma once

#include "core/io/state_dict.h"
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

class SamModel : public torch::nn::Module {
public:
    explicit SamModel(const SamConfig& config);

    const SamConfig& config() const { return config_; }
    const ImageEncoder& imageEncoder() const { return *imageEncoder_; }
    const PromptEncoderImpl& promptEncoder() const { return *promptEncoder_; }
    const MaskDecoderImpl& maskDecoder() const { return *maskDecoder_; }

    /// Runs the image encoder without autograd. input: [1, 3, S, S] normalised and padded.
    at::Tensor encodeImage(const at::Tensor& input) const;
    /// Sparse [B, N(+0), D] and dense [B, D, g, g] prompt embeddings.
    std::pair<at::Tensor, at::Tensor> embedPrompt(const PromptTensors& prompt) const;
    /// The mask decoder's prompt-independent work for one image embedding [1, D, g, g] (prompts
    /// without a mask input), to pass to decode() for every click on that image.
    DecoderImageCache prepareDecoder(const at::Tensor& imageEmbedding) const;
    /// Prompt encoder + mask decoder without autograd: every mask token's logits and IoU.
    /// `cache` (from prepareDecoder on the same embedding) is used when the prompt has no mask
    /// input; the results are the same with or without it.
    DecoderOutput decode(const at::Tensor& imageEmbedding, const PromptTensors& prompt,
                         const DecoderImageCache* cache = nullptr) const;

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

struct LoadOptions {
    /// Explicit config.json (--config); otherwise "config.json" beside the checkpoint if present.
    std::optional<std::filesystem::path> configPath;
    /// Compressed files: makes the run-time backend (HyperLinear) of a compressed Linear weight.
    /// When empty, compressed Linear weights are decoded to dense float32 (the reference path).
    std::function<std::shared_ptr<const LinearBackend>(const format::EncodedTensor&)> linearBackend;
};

/// Opens a model file of any supported kind and returns the ready model (eval mode, float32,
/// CPU): PyTorch zip checkpoints (raw or wrapped, through io::loadCheckpoint), safetensors
/// (original or Hugging Face key names), and compressed hyper_model.safetensors files (every
/// non-Linear tensor decoded; Linear weights through options.linearBackend or decoded).
/// @throws Error for unreadable files, unknown formats, unsupported families (named), layouts
///         that are not SAM v1-family, and shapes that do not fit (see inferSamConfig and
///         loadWeights); CancelledError when `progress` is cancelled.
std::shared_ptr<SamModel> loadSamModel(const std::filesystem::path& path, const LoadOptions& options = {},
                                       const Progress& progress = {});

}  // namespace birkhoff::models
