// `birkhoff bench hyperlinear`: HyperLinear against the dense Linear layer, side by side in one
// run on the same inputs. For each Linear shape and token count it times
//   dense            at::linear on the float32 weight (OpenBLAS),
//   decode+dense     the compressed weight decoded to float32, then at::linear (per call),
//   hyperlinear      the HyperLinear backend on the stored indices,
// with the weights "hot" (one copy, reused: it stays in the caches, as in a micro-benchmark) or
// "cold" (the call cycles through as many copies as it takes to exceed the last-level cache, as
// when a whole model runs and each layer's weights come from memory). The three methods are
// interleaved round by round and each reports its median, so load changes on the machine hit all
// three alike. Weights are drawn like trained SAM weights (synthetic_checkpoint.h: N(0, 0.02)
// with 1% heavier-tailed entries) and compressed by the codec with the paper's defaults.
#pragma once

#include "core/util/progress.h"
#include "kernels/cpu_features.h"

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::bench {

/// One Linear shape of a model: weight [out, in].
struct LinearShape {
    std::string model;  ///< "sam-vit-b", "mobilesam"
    std::int64_t out = 0;
    std::int64_t in = 0;
};

/// SAM ViT-B (qkv, proj, lin1, lin2) and MobileSAM (TinyViT attention and MLP) Linear shapes.
std::vector<LinearShape> samLinearShapes();

struct HyperLinearBenchOptions {
    std::vector<LinearShape> shapes = samLinearShapes();
    std::vector<std::int64_t> tokens{1, 16, 256, 4096};
    std::vector<std::string> caches{"hot", "cold"};  ///< "hot" and/or "cold"
    /// Intra-op threads for all three methods; <= 0: at::get_num_threads().
    int threads = 0;
    kernels::CpuIsa isa = kernels::detectCpuIsa();
    /// Rounds per measurement (each method runs once per round; the median is reported); at
    /// least this many, more for fast cases until about `seconds` per method have elapsed.
    int minRounds = 5;
    double seconds = 0.3;
    /// Bytes of hyper weights a cold measurement cycles through (a multiple of the LLC).
    std::int64_t coldBytes = std::int64_t{96} << 20;
};

/// One measured (shape, tokens, cache) case.
struct HyperLinearBenchRecord {
    std::string model;
    std::string shape;  ///< "2304x768" (out x in)
    std::int64_t tokens = 0;
    std::string cache;  ///< "hot" or "cold"
    double denseMs = 0.0;
    double decodeThenDenseMs = 0.0;
    double hyperlinearMs = 0.0;
    double ratio = 0.0;  ///< hyperlinearMs / denseMs
    std::int64_t denseWeightBytes = 0;
    std::int64_t hyperWeightBytes = 0;
    int threads = 0;
    std::string isa;
    /// Largest |hyperlinear - dense| / max |dense| over the outputs (a sanity check).
    double relativeError = 0.0;
};

/// Runs the benchmark. Reports progress per case and honours cancellation between cases.
/// @throws Error for an unknown cache mode or non-positive sizes; CancelledError.
std::vector<HyperLinearBenchRecord> runHyperLinearBench(const HyperLinearBenchOptions& options,
                                                        const Progress& progress = {});

}  // namespace birkhoff::bench
