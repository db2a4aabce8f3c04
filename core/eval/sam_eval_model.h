// The evaluation's view of a SAM model: a PromptableModel backed by predict::SamPredictor, so the
// evaluation scores exactly what `birkhoff segment` and the studio show (same preprocessing,
// prompt encoding, mask tokens and post-processing) for original and compressed models alike.
// This header stays free of LibTorch so Qt code (the CLI, the studio) can include it.
#pragma once

#include "core/eval/runner.h"

#include <filesystem>
#include <memory>

namespace birkhoff::models {
class SamModel;
}

namespace birkhoff::eval {

/// A SAM model as an evaluation model. setImage() encodes once; predict() with MaskRule::Single
/// scores token 0 (SamPredictor multimask_output=False), with MaskRule::Best the highest predicted
/// IoU among tokens 1..3 (multimask_output=True, argmax, the first on ties).
/// @throws Error if `model` is null.
std::unique_ptr<PromptableModel> makeSamEvalModel(std::shared_ptr<const models::SamModel> model);

/// Loads a checkpoint with models::loadSamModel and wraps it; `loadSeconds` receives the load time.
/// @throws Error as loadSamModel.
std::unique_ptr<PromptableModel> loadSamEvalModel(const std::filesystem::path& path, double* loadSeconds = nullptr);

}  // namespace birkhoff::eval
