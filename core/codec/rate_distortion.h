// The rate-distortion codec (extension "rate_distortion"): Birkhoff's lattice coding with three
// additions that move it past plain integer quantization on the ratio/fidelity frontier, every
// one of them still decodable straight from the indices by HyperLinear:
//   row scale      each output row (shape[0]) is divided by its standard deviation, rounded to
//                  float16 and stored (`row_scale`), so one lattice step fits every row; the
//                  kernels multiply each decoded weight by it (kernels/hyperlinear.h);
//   step, not U    the lattice of a tensor has a fixed step `base step * sensitivity factor` (in
//                  row standard deviations) and as many points per side as cover its largest
//                  pair (up to kMaxLatticeSide, beyond that up to M rings), so the error is set by
//                  the step and the size by the data;
//   entropy coded  the indices are range coded on disk (`entropy_coded`,
//                  core/format/index_entropy_coder.h): pairs near the centre, the vast majority,
//                  cost few bits. In memory they are fixed-width as always.
// Bit allocation is data-free (sensitivityFactor): the step of a tensor grows with the square
// root of its size, so biases, norms and small layers get fine steps and the large blocks carry
// the compression; the image stem and the encoder's neck get half the step of the rule.
#pragma once

#include "core/codec/report.h"
#include "core/codec/settings.h"
#include "core/format/encoded_tensor.h"
#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::codec {

/// Largest number of lattice points per side: U <= kMaxLatticeSide^2 = kernels::kMaxU, an index
/// of at most 16 bits plus ring bits.
constexpr std::uint32_t kMaxLatticeSide = 256;

struct RateDistortionOptions {
    /// Lattice step in row standard deviations for tensors of sensitivity factor 1 (2^20 elements).
    double step = 0.8;
    /// When set, the base step is searched so the file is at most original size / ratio (and
    /// within 2% of it); compressModel fails if the ratio cannot be reached.
    std::optional<double> targetRatio;
    /// Rings for pairs beyond the largest square (kMaxLatticeSide steps wide).
    std::uint32_t maxRings = 3;
};

/// The step factor of a tensor, data-free: sqrt(numel / 2^20), halved for the image stem
/// (`patch_embed`) and the encoder's neck (`image_encoder.neck`), at least 1/512. Assuming every
/// tensor's relative error reaches the masks with the same weight, the rate-optimal step of a
/// tensor grows with the square root of its size (the Lagrangian of sum D_i = sum c * step_i^2
/// under sum numel_i * log2(step_i) = const); the stem and the neck, measured on MobileSAM, are
/// about four times more sensitive than that rule says.
double sensitivityFactor(const std::string& name, std::int64_t numel);

/// A ratio as the codec's messages print it: "7.41x".
std::string ratioText(double ratio);

/// Checks the options. @throws Error naming the bad value.
void validateRateDistortion(const RateDistortionOptions& options);

struct RateDistortionResult {
    format::CompressedModel model;
    CompressionReport report;
    double step = 0;  ///< the base step used (the searched one with a target ratio)
};

/// Compresses `checkpoint` with the rate-distortion codec. `originalBytes` is the size the ratio
/// is measured against (the checkpoint file). Progress is reported per tensor and per search
/// round; cancellation is honoured between tensors and chunks.
/// @throws Error for invalid options, a tensor with non-finite values that cannot be coded, or
///   a target ratio above the largest reachable one (the message gives that ratio);
///   CancelledError.
RateDistortionResult compressRateDistortion(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                            const RateDistortionOptions& options, std::uint64_t originalBytes,
                                            const Progress& progress = {});

}  // namespace birkhoff::codec
