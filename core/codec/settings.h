// Settings of the Hyper-Compression encoder and the role of each checkpoint tensor.
// Defaults are the paper's SAM settings (authors' main.py): l = 0.1, U in [1225, 1600], M = 3,
// stop/escalation MAE 0.001, raw fallback above MAE 0.006.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::codec {

/// What a checkpoint tensor is, which decides its route through the encoder. Detecting it is the
/// model family's job (core/models); the codec takes it as input.
enum class TensorRole {
    LinearWeight,  ///< weight of an nn.Linear: [out, in] index matrix (load_type 2)
    Parameter,     ///< any other parameter: flattened pairs (load_type 1), raw if < 10 elements
    Buffer,        ///< a registered buffer (not a parameter): always stored raw
};

/// "linear_weight", "parameter" or "buffer".
const char* roleName(TensorRole role);

/// Per-tensor encoder settings (after overrides / automatic choices).
struct TensorSettings {
    float l = 0.1f;                                 ///< side of the square (rect_l)
    std::vector<std::uint32_t> uList{1225, 1600};   ///< U candidates, tried in this order
    std::uint32_t maxRings = 3;                     ///< M: K is searched in 1..M
    float lossHope = 0.001f;                        ///< stop the K search at this MAE
    float lossMax = 0.001f;                         ///< try the next U above this MAE
    bool rawFallback = true;                        ///< store raw when the final MAE is too high
    float rawFallbackMae = 0.006f;                  ///< ... i.e. above this
    bool keepRaw = false;                           ///< store raw regardless (override)
};

/// Checks one setting set. `context` prefixes messages (e.g. "--U" or "override 'blocks.*'").
/// @throws Error when l is not finite or <= 0, the U list is empty or holds a value that is not a
///   perfect square in [1, kernels::kMaxU], M > kernels::kMaxRings, or a threshold is negative or
///   not finite.
void validateSettings(const TensorSettings& settings, const std::string& context);

/// Tensors with fewer elements than this are stored raw (authors' rule).
constexpr std::int64_t kMinEncodedElements = 10;

}  // namespace birkhoff::codec
