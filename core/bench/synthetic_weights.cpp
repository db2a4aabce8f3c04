// SAM-like synthetic Linear weights and their stand-alone lattice encoding (see the header).
#include "core/bench/synthetic_weights.h"

#include "core/format/index_packing.h"
#include "core/util/error.h"
#include "kernels/bitpack.h"
#include "kernels/decode.h"

#include <ATen/ATen.h>

#include <cmath>
#include <random>
#include <vector>

namespace birkhoff::bench {

at::Tensor samLikeLinearWeight(std::int64_t outFeatures, std::int64_t inFeatures, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.f, 0.02f);
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    at::Tensor w = at::empty({outFeatures, inFeatures}, at::kFloat);
    float* data = w.data_ptr<float>();
    for (std::int64_t i = 0; i < w.numel(); ++i) {
        data[i] = normal(rng);
        if (unit(rng) < 0.001f) {
            const float magnitude = 0.02f * (4.f + 6.f * unit(rng));
            data[i] = unit(rng) < 0.5f ? -magnitude : magnitude;
        }
    }
    return w;
}

format::EncodedTensor encodeLinearWeight(const std::string& name, const at::Tensor& weight, float l, std::uint32_t U)
{
    if (!weight.defined() || weight.dim() != 2 || !at::isFloatingType(weight.scalar_type()) || weight.numel() == 0)
        throw Error("encoding " + name + ": a non-empty 2-D floating-point weight is required");
    const auto side = static_cast<std::uint32_t>(std::lround(std::sqrt(double(U))));
    if (U < 1 || U > kernels::kMaxU || side * side != U)
        throw Error("encoding " + name + ": U = " + std::to_string(U) + " is not a perfect square in [1, "
                    + std::to_string(kernels::kMaxU) + "]");
    const at::Tensor w = weight.to(at::kFloat).contiguous();
    if (!at::isfinite(w).all().item<bool>())
        throw Error("encoding " + name + ": the weight holds non-finite values");
    const std::int64_t out = w.size(0), in = w.size(1), pairsPerRow = (in + 1) / 2;
    const std::int64_t count = out * pairsPerRow;
    const float* src = w.data_ptr<float>();

    // Pairs along the input dimension; an odd `in` gets the mean of the second coordinates.
    float pad = 0.f;
    if (in % 2 == 1) {
        double sum = 0.0;
        std::int64_t n = 0;
        for (std::int64_t r = 0; r < out; ++r)
            for (std::int64_t k = 1; k < in - 1; k += 2, ++n)
                sum += src[r * in + k];
        pad = n > 0 ? static_cast<float>(sum / double(n)) : 0.f;
    }
    std::vector<float> pairs(static_cast<std::size_t>(2 * count));
    double sx = 0.0, sy = 0.0;
    for (std::int64_t r = 0; r < out; ++r) {
        for (std::int64_t p = 0; p < pairsPerRow; ++p) {
            const float x = src[r * in + 2 * p];
            const float y = 2 * p + 1 < in ? src[r * in + 2 * p + 1] : pad;
            pairs[2 * (r * pairsPerRow + p)] = x;
            pairs[2 * (r * pairsPerRow + p) + 1] = y;
            sx += x;
            sy += y;
        }
    }
    const float c[2] = {static_cast<float>(sx / double(count)), static_cast<float>(sy / double(count))};
    const float halfL = l / 2.f;
    const float lo[2] = {c[0] - halfL, c[1] - halfL}, hi[2] = {c[0] + halfL, c[1] + halfL};
    float radius = -1.f;
    float far[2] = {c[0], c[1]};
    bool outer = false;
    for (std::int64_t i = 0; i < count; ++i) {
        const float x = pairs[2 * i], y = pairs[2 * i + 1];
        const float dist = kernels::norm2(x - c[0], y - c[1]);
        if (dist > radius) {
            radius = dist;
            far[0] = x;
            far[1] = y;
        }
        outer = outer || x < lo[0] || x > hi[0] || y < lo[1] || y > hi[1];
    }
    const std::uint32_t rings = outer ? 1 : 0;
    const kernels::LatticeParams lattice = kernels::makeLatticeParams(l, U, rings, c, far);
    const float shrink = outer ? halfL / radius : 1.f;  // f_1 = (l/2) / r_1 with r_1 = R
    const double pitch = double(l) / side;

    std::vector<std::uint32_t> indices(static_cast<std::size_t>(count));
    std::uint32_t maxIndex = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        const float x = pairs[2 * i], y = pairs[2 * i + 1];
        const bool inner = x >= lo[0] && x <= hi[0] && y >= lo[1] && y <= hi[1];
        const std::uint32_t ring = inner ? 0 : 1;
        const float f = ring == 0 ? 1.f : shrink;
        const float bx = rings > 0 ? (x - c[0]) * f + c[0] : x;
        const float by = rings > 0 ? (y - c[1]) * f + c[1] : y;
        // Codebook point k = a*side + b sits near (a*pitch + b*pitch/side, b*pitch) from the corner.
        const long b0 = std::lround((double(by) - lattice.nodeLd[1]) / pitch);
        const long a0 = std::lround((double(bx) - lattice.nodeLd[0] - double(b0) * pitch / side) / pitch);
        double best = INFINITY;
        std::uint32_t bestK = 0;
        for (long a = a0 - 1; a <= a0 + 1; ++a) {
            for (long b = b0 - 1; b <= b0 + 1; ++b) {
                if (a < 0 || b < 0 || a >= long(side) || b >= long(side))
                    continue;
                const auto k = static_cast<std::uint32_t>(a * long(side) + b);
                float point[2];
                kernels::codebookPoint(lattice, k, point);
                const double dx = double(point[0]) - bx, dy = double(point[1]) - by;
                const double d2 = dx * dx + dy * dy;
                if (d2 < best) {
                    best = d2;
                    bestK = k;
                }
            }
        }
        indices[static_cast<std::size_t>(i)] = bestK + U * ring;
        maxIndex = std::max(maxIndex, indices[static_cast<std::size_t>(i)]);
    }

    format::EncodedTensor t;
    t.name = name;
    t.loadType = format::LoadType::LinearMatrix;
    t.shape = {out, in};
    t.padded = in % 2 == 1;
    t.center[0] = c[0];
    t.center[1] = c[1];
    t.farthest[0] = far[0];
    t.farthest[1] = far[1];
    t.l = l;
    t.U = U;
    t.uPosition = 0;
    t.K = rings;
    t.bits = kernels::bitWidthFor(maxIndex);
    t.packed = at::empty({static_cast<std::int64_t>(kernels::packedByteCount(static_cast<std::size_t>(count), t.bits))},
                         at::kByte);
    t.padBits = format::packIndexStream(indices.data(), indices.size(), t.bits, t.packed.data_ptr<std::uint8_t>());
    return t;
}

}  // namespace birkhoff::bench
