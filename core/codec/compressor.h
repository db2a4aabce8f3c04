// Compression of a whole checkpoint: per-tensor settings (paper defaults, per-layer overrides,
// auto l, target modes), parallel encoding over tensors and chunks with progress and
// cancellation, and the resulting CompressedModel plus its report.
//
// Extensions beyond the paper (all off by default; a model that used one lists it in
// CompressedModel::extensions, which the writer records in the file's metadata):
//   overrides     per-layer l / U / M / keep-raw rules (core/codec/overrides.h);
//   auto l        l per tensor from its spread: l = kAutoLSigmas * sigma, sigma the pooled
//                 standard deviation of the pair coordinates around their centroid;
//   target MAE    per tensor the cheapest candidate (l = auto l, U from kTargetUCandidates, M from
//                 the settings) whose restored MAE is <= the target; raw if none is;
//   target ratio  per tensor the candidate minimising sum(numel * MAE) + lambda * bytes, with lambda
//                 bisected so the whole file reaches original size / ratio; an Error when the
//                 candidates cannot reach it (the message gives the largest reachable ratio);
//   rate-distortion  row scales, fixed-step lattices and entropy-coded indices
//                 (core/codec/rate_distortion.h).
// Tensors matched by an override rule keep the rule's settings in the target modes.
#pragma once

#include "core/codec/overrides.h"
#include "core/codec/rate_distortion.h"
#include "core/codec/report.h"
#include "core/codec/settings.h"
#include "core/codec/tensor_encoder.h"
#include "core/format/encoded_tensor.h"
#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace birkhoff::codec {

/// auto l = this many pooled standard deviations. Chosen from a sweep of l / sigma in
/// {1.5 .. 8} with the paper's U list, M and thresholds on 512x512 tensors, measuring the
/// restored MAE / sigma: Gaussian best at 3.5 (3.0 is 6% worse), Gaussian with 1% wide tails
/// best at 3.0, Laplacian best at 2.5, LayerNorm-like 1 + N(0, 0.1) best at 2.0 (3.0: +6%).
constexpr double kAutoLSigmas = 3.0;

/// U candidates of the target modes (squares of 8 .. 128).
extern const std::vector<std::uint32_t> kTargetUCandidates;

struct CompressOptions {
    TensorSettings defaults;                ///< global settings (paper defaults)
    std::vector<OverrideRule> overrides;    ///< extension: per-layer rules
    bool autoL = false;                     ///< extension: l per tensor from its spread
    std::optional<double> targetMae;        ///< extension: per-tensor MAE target
    std::optional<double> targetRatio;      ///< extension: whole-file ratio target (fails if out of reach)
    /// Extension: the rate-distortion codec (core/codec/rate_distortion.h) instead of the paper's
    /// lattice search; excludes overrides, auto l and the targets above (it has its own).
    std::optional<RateDistortionOptions> rateDistortion;
    /// Size of the original checkpoint file for the report's ratio (0: the tensors' byte count).
    std::uint64_t originalFileBytes = 0;
};

struct CompressionResult {
    format::CompressedModel model;
    CompressionReport report;
};

/// Checks the options. @throws Error naming the bad setting.
void validateOptions(const CompressOptions& options);

/// The settings record stored in a compressed file's metadata (kMetaSettings: l, U, M, the MAE
/// thresholds, auto l, targets, the override rules in the overrides-file format) and in its
/// report: the default l/U/M and MAE limits, auto-l and targets, override count, `extensions`.
nlohmann::json compressionSettingsJson(const CompressOptions& options, const std::vector<std::string>& extensions);

/// Appends one report row per tensor of `model` (shape and sizes from `checkpoint`, error and
/// path from `encodings`, both in the model's tensor order) and adds up parameters, original
/// bytes and warnings. The caller sets compressedBytes and any original-file size.
void addTensorRows(CompressionReport& report, const format::CompressedModel& model, const io::StateDict& checkpoint,
                   const std::vector<TensorEncoding>& encodings);

/// The auto-l value of one tensor, or `fallback` when its spread is zero or not finite.
float autoL(const at::Tensor& tensor, TensorRole role, float fallback);

/// Compresses `checkpoint`; roles[i] is the role of the i-th tensor. Progress is reported per
/// tensor (from worker threads); cancellation is honoured between chunks.
/// @throws Error for invalid options or roles, CancelledError when cancelled.
CompressionResult compressModel(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                const CompressOptions& options, const Progress& progress = {});

}  // namespace birkhoff::codec
