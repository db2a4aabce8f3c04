// `birkhoff bench estimate`: how fast and how close the sampled compression estimate
// (core/codec/estimate.h, the studio's live preview) is on a synthetic checkpoint with SAM
// ViT-B's exact keys and shapes, side by side with the full compression it predicts.
#pragma once

#include "core/util/progress.h"

#include <cstdint>
#include <vector>

namespace birkhoff::bench {

struct EstimateBenchRow {
    double sampleFraction = 0;      ///< 1 = the full compression (compressModel)
    std::int64_t sampledElements = 0;
    double seconds = 0;             ///< the estimate (or the compression) alone, wall clock
    double cpuSeconds = 0;          ///< process CPU time (all threads) of the same
    double ratio = 0;               ///< file size ratio
    double meanMae = 0;             ///< parameter-weighted mean MAE of encoded tensors
    int sameChoices = 0;            ///< tensors with the exact result's path, U and K
    int tensors = 0;
};

struct EstimateBenchResult {
    std::int64_t parameters = 0;
    double prepareSeconds = 0;      ///< CompressionEstimator construction (once per model)
    double prepareCpuSeconds = 0;
    int threads = 1;
    std::vector<EstimateBenchRow> rows;  ///< sampled estimates, then the exact compression
};

/// Runs the estimator at `fractions` and (when `withExact`) the full compression.
/// @throws CancelledError when cancelled.
EstimateBenchResult runEstimateBenchmark(const std::vector<double>& fractions, bool withExact,
                                         const Progress& progress = {});

}  // namespace birkhoff::bench
