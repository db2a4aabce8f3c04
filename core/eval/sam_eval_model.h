// The evaluation's view of a SAM model: a PromptableModel backed by predict::SamPredictor, so the
// evaluation scores exactly what `birkhoff segment` and the studio show (same preprocessing,
// prompt encoding, mask tokens and post-processing) for original and compressed models alike;
// and the loaders the evaluation needs: a dense checkpoint (.pth / .safetensors), a compressed
// file (hyper_model.safetensors layout), or a checkpoint compressed in memory.
// This header stays free of LibTorch so Qt code (the CLI, the studio) can include it.
#pragma once

#include "core/eval/runner.h"
#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace birkhoff::models {
class SamModel;
}

namespace birkhoff::eval {

/// A SAM model as an evaluation model. setImage() encodes once; predict() with MaskRule::Single
/// scores token 0 (SamPredictor multimask_output=False), with MaskRule::Best the highest predicted
/// IoU among tokens 1..3 (multimask_output=True, argmax, the first on ties).
/// @throws Error if `model` is null.
std::unique_ptr<PromptableModel> makeSamEvalModel(std::shared_ptr<const models::SamModel> model);

/// A loaded evaluation model and what loading it involved.
struct LoadedEvalModel {
    std::unique_ptr<PromptableModel> model;
    std::string description;  ///< e.g. "PyTorch zip MobileSAM", "compressed ..., 84 Linear layers on HyperLinear"
    bool sam2 = false;        ///< a SAM 2 / 2.1 model (see defaultMaskRule)
    double loadSeconds = 0;
};

/// Loads `path` for evaluation with models::loadSamModel, exactly as `birkhoff segment` and the
/// studio do: .pth/.pt zip, safetensors (Hugging Face names too), or a compressed file whose
/// Linear layers run on HyperLinear (other tensors decoded). The configuration comes from the
/// tensor shapes and a config.json beside `path`, if any.
/// @throws Error for missing or unreadable files and layouts that are not SAM-family.
LoadedEvalModel loadSamEvalModel(const std::filesystem::path& path, const Progress& progress = {});

/// Compression settings of `--compress` (the paper's SAM defaults).
struct InMemoryCompression {
    double l = 0.1;
    std::vector<std::uint32_t> uList{1225, 1600};
    std::uint32_t maxRings = 3;
    /// "l=0.1 U=1225,1600 M=3".
    std::string text() const;
};

/// Loads the checkpoint at `path`, compresses it in memory with `settings` (tensor roles from the
/// detected family, exactly as `birkhoff compress` would), and builds the compressed model as a
/// compressed file loads: Linear layers on HyperLinear, other tensors decoded. The description
/// states the settings, the compression ratio (original file size / compressed file size), the
/// compression time and the number of HyperLinear layers.
/// @throws Error for bad settings or checkpoints; CancelledError.
LoadedEvalModel compressSamEvalModel(const std::filesystem::path& path, const InMemoryCompression& settings,
                                     const Progress& progress = {});

}  // namespace birkhoff::eval
