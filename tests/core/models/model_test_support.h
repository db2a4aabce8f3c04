// Helpers shared by the SAM model and predictor tests: golden tensors and manifests, tensor
// differences, and small random-weight models built in memory (no files needed).
#pragma once

#include "core/io/state_dict.h"
#include "core/models/sam_model.h"
#include "core/predict/predictor.h"

#include <QString>

#include <nlohmann/json.hpp>

#include <memory>

namespace birkhoff::test {

/// Tensors of a golden safetensors file (path relative to ../shared/golden).
io::StateDict goldenTensors(const QString& relative);
/// A golden JSON file (path relative to ../shared/golden).
nlohmann::json goldenJson(const QString& relative);

/// max |a - b| (shapes must match; both converted to float32).
double maxAbsDiff(const at::Tensor& a, const at::Tensor& b);
/// max |a - b| / max(1, max |b|): the golden manifests' tolerance measure.
double scaledDiff(const at::Tensor& a, const at::Tensor& ref);

/// Compares `actual` with golden tensor `name` within `tolerance` (scaledDiff) and prints the
/// measured differences; a mismatch fails the running test (QVERIFY2) and returns.
void expectClose(const at::Tensor& actual, const io::StateDict& golden, const std::string& name, double tolerance,
                 const QString& where);

/// The prompt of a golden case manifest ("prompt": point_coords, point_labels, box).
predict::Prompt promptFromManifest(const nlohmann::json& manifest);

/// Checkpoint-layout tensors for `config` (every parameter/buffer of SamModel(config)) filled
/// with deterministic random values (normal * 0.1, norms near 1, BN variances positive).
io::StateDict randomCheckpoint(const models::SamConfig& config, std::uint64_t seed);

/// A small ViT SAM configuration (image 64, patch 8, embed 32, depth 2, window 4, global [1]).
models::SamConfig smallVitConfig();
/// A small TinyViT SAM configuration (image 128, dims [16,32,40,80], depths [1,1,2,1]).
models::SamConfig smallTinyVitConfig();

}  // namespace birkhoff::test
