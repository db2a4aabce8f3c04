// `birkhoff bench compress`: compression throughput of our encoder against the authors' official
// encoder, measured on (a) one [3072, 768] N(0, 0.02) Linear weight and (b) a synthetic
// checkpoint with SAM ViT-B's exact keys and shapes (core/bench/synthetic_checkpoint.h), with
// the paper's settings. Times compression plus writing the compressed file.
#pragma once

#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::bench {

/// The official encoder on the same kind of 2-core machine (../shared/golden/birkhoff/manifest.json,
/// "performance_anchor_cpu", "sam_vit_b_shaped_48_linear_weights": the 48 Linear weights of a
/// SAM ViT-B-shaped model, 42,467,328 pairs, compress_params only): 378.7 s, 112,141 pairs/s.
constexpr double kOfficialPairsPerSecond = 112141.0;
constexpr double kOfficialVitBLinearSeconds = 378.7;

struct CompressBenchCase {
    std::string name;
    std::int64_t parameters = 0;
    std::int64_t pairs = 0;             ///< weight pairs encoded (tensors stored raw excluded)
    double compressSeconds = 0;         ///< compressModel
    double writeSeconds = 0;            ///< writing the compressed file
    double cpuSeconds = 0;              ///< process CPU time (all threads) of compression + writing
    std::uint64_t originalBytes = 0;    ///< dense safetensors size of the input
    std::uint64_t fileBytes = 0;        ///< compressed file size
    double meanMae = 0;                 ///< element-weighted mean restored MAE of encoded tensors
    int threads = 1;

    double totalSeconds() const { return compressSeconds + writeSeconds; }
    double pairsPerSecond() const { return pairs / compressSeconds; }
    double speedupVsOfficial() const { return pairsPerSecond() / kOfficialPairsPerSecond; }
    double ratio() const { return static_cast<double>(originalBytes) / static_cast<double>(fileBytes); }
};

/// Runs both cases, writing the compressed files under `scratch` (removed afterwards).
/// @throws Error on I/O failure, CancelledError when cancelled.
std::vector<CompressBenchCase> runCompressBenchmark(const std::filesystem::path& scratch,
                                                    const Progress& progress = {});

}  // namespace birkhoff::bench
