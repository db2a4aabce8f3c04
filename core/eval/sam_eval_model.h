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
    std::string description;  ///< e.g. "PyTorch zip checkpoint", "compressed file (decoded to dense)"
    double loadSeconds = 0;
};

/// Loads `path` for evaluation: a compressed file (recognised by its `<name>.load_type` keys) is
/// decoded to dense weights with the official decoder's arithmetic; anything else is read with
/// io::loadCheckpoint (.pth/.pt zip, safetensors, Hugging Face names). The configuration comes from
/// the tensor shapes and a config.json beside `path`, if any.
/// @throws Error for unreadable files and layouts that are not SAM v1-family.
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
/// detected family, exactly as `birkhoff compress` would), and builds the model from the decoded
/// weights (the values HyperLinear decodes on the fly). The description states the settings, the
/// compression ratio (original file size / compressed file size) and the compression time.
/// @throws Error for bad settings or checkpoints; CancelledError.
LoadedEvalModel compressSamEvalModel(const std::filesystem::path& path, const InMemoryCompression& settings,
                                     const Progress& progress = {});

}  // namespace birkhoff::eval
