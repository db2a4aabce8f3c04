// Validation of encoder settings.
#include "core/codec/settings.h"

#include "core/util/error.h"
#include "kernels/decode.h"

#include <cmath>

namespace birkhoff::codec {

const char* roleName(TensorRole role)
{
    switch (role) {
    case TensorRole::LinearWeight:
        return "linear_weight";
    case TensorRole::Parameter:
        return "parameter";
    case TensorRole::Buffer:
        return "buffer";
    }
    return "?";
}

void validateSettings(const TensorSettings& s, const std::string& context)
{
    if (!std::isfinite(s.l) || s.l <= 0.f)
        throw Error(context + ": l = " + std::to_string(s.l) + " must be a finite number > 0");
    if (s.uList.empty())
        throw Error(context + ": the U list is empty");
    if (s.uList.size() > 256)
        throw Error(context + ": at most 256 U candidates are supported");
    for (std::uint32_t u : s.uList) {
        const auto root = static_cast<std::uint32_t>(std::lround(std::sqrt(static_cast<double>(u))));
        if (u == 0 || root * root != u || u > kernels::kMaxU)
            throw Error(context + ": U = " + std::to_string(u) + " is not a perfect square in [1, "
                        + std::to_string(kernels::kMaxU) + "] (e.g. 1225 = 35^2, 1600 = 40^2)");
    }
    if (s.maxRings > kernels::kMaxRings)
        throw Error(context + ": M = " + std::to_string(s.maxRings) + " exceeds the maximum of "
                    + std::to_string(kernels::kMaxRings) + " rings");
    const float thresholds[] = {s.lossHope, s.lossMax, s.rawFallbackMae};
    for (float t : thresholds)
        if (!std::isfinite(t) || t < 0.f)
            throw Error(context + ": MAE thresholds must be finite and >= 0");
}

}  // namespace birkhoff::codec
