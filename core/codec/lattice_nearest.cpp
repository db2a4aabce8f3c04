// Analytic nearest-codebook-point search with torch.cdist's float32 tie behaviour.
#include "core/codec/lattice_nearest.h"

#include "kernels/cpu_features.h"

#include <algorithm>
#include <cmath>

namespace birkhoff::codec {

namespace {

constexpr double kUnitRoundoff = 1.0 / 16777216.0;  // 2^-24
// Bound of |t_computed - |x - y|^2| in units of 2^-24 * (|x|^2 + max|y|^2): the four roundings
// of the dot product and the two of each squared norm contribute at most 8.1|x|^2 + 7.1|y|^2
// (using 2|x||y| <= |x|^2 + |y|^2); 12 leaves a margin.
constexpr double kErrorCoefficient = 12.0 * kUnitRoundoff;

// floor/ceil/round results clamped to [lo, hi] before the conversion to int (points far outside
// the square must not overflow the cast).
int clampedIndex(double v, int lo, int hi)
{
    if (!(v > lo))
        return lo;
    if (v > hi)
        return hi;
    return static_cast<int>(v);
}

}  // namespace

LatticeNearest::LatticeNearest(const kernels::LatticeParams& p)
{
    U_ = p.U;
    side_ = static_cast<int>(kernels::latticeSide(p.U));
    pitch_ = static_cast<double>(p.l) / side_;
    invPitch_ = 1.0 / pitch_;
    shear_ = pitch_ / side_;
    origin_[0] = p.nodeLd[0];
    origin_[1] = p.nodeLd[1];
    points_.resize(2 * static_cast<std::size_t>(U_));
    norms_.resize(U_);
    stray_.assign(U_, 0);
    for (std::uint32_t k = 0; k < U_; ++k) {
        float* y = &points_[2 * static_cast<std::size_t>(k)];
        kernels::codebookPoint(p, k, y);
        norms_[k] = squaredNorm(y[0], y[1]);
        maxNormSq_ = std::max(maxNormSq_, static_cast<double>(norms_[k]));
        const int i = static_cast<int>(k) / side_;
        const int j = static_cast<int>(k) % side_;
        const double ix = origin_[0] + i * pitch_ + j * shear_;
        const double iy = origin_[1] + j * pitch_;
        const double dev = std::hypot(y[0] - ix, y[1] - iy);
        stray_[k] = dev > pitch_ / 8 || !std::isfinite(dev);
        if (stray_[k])
            strays_.push_back(k);
        else
            maxDeviation_ = std::max(maxDeviation_, dev);
    }
    // The 2x2 block around x holds the lattice points nearest to x; every other point is at least
    // 0.5 * pitch^2 farther (in squared distance) for points within a pitch of the square. So the
    // block is exact when twice the float32 error bound, for any x near the square, stays well
    // below that gap.
    const double reachX = std::fabs(origin_[0]) + std::fabs(origin_[1]) + 3.0 * p.l;
    const double errMax = kErrorCoefficient * (reachX * reachX + maxNormSq_);
    fast_ = strays_.size() <= 16 && maxDeviation_ <= 1e-3 * pitch_ && 2.0 * errMax <= 0.25 * pitch_ * pitch_
            && side_ >= 8;
    originF_[0] = p.nodeLd[0];
    originF_[1] = p.nodeLd[1];
    invPitchF_ = static_cast<float>(invPitch_);
    shearUnitsF_ = 1.f / static_cast<float>(side_);
    static const bool avx2 = static_cast<int>(kernels::detectCpuIsa()) >= static_cast<int>(kernels::CpuIsa::Avx2Fma);
    vectorized_ = fast_ && strays_.empty() && avx2;
}

void LatticeNearest::nearestBatch(const float* xy, std::size_t n, std::uint32_t* out) const
{
    if (!vectorized_) {
        for (std::size_t i = 0; i < n; ++i)
            out[i] = nearest(xy[2 * i], xy[2 * i + 1]);
        return;
    }
    constexpr std::size_t kBlock = 256;
    std::uint8_t fallback[kBlock];
    for (std::size_t first = 0; first < n; first += kBlock) {
        const std::size_t m = std::min(kBlock, n - first);
        nearestBlocksAvx2(*this, xy + 2 * first, m, out + first, fallback);
        for (std::size_t i = 0; i < m; ++i)
            if (fallback[i])
                out[first + i] = nearest(xy[2 * (first + i)], xy[2 * (first + i) + 1]);
    }
}

std::uint32_t LatticeNearest::bruteForce(float x0, float x1) const
{
    const float xx = squaredNorm(x0, x1);
    std::uint32_t best = 0;
    float bestDist = INFINITY;
    for (std::uint32_t k = 0; k < U_; ++k) {
        const float* y = point(k);
        const float d = cdistDistance(x0, x1, xx, y[0], y[1], norms_[k]);
        if (d < bestDist) {
            bestDist = d;
            best = k;
        }
    }
    return best;
}

std::uint32_t LatticeNearest::nearest(float x0, float x1) const
{
    const float xx = squaredNorm(x0, x1);
    const double dx = static_cast<double>(x0) - origin_[0];
    const double dy = static_cast<double>(x1) - origin_[1];
    if (fast_) {
        const double u = dy * invPitch_;
        const double limit = side_;
        if (u > -1.0 && u < limit) {
            // Rows j0, j0 + 1 and, in each, the two columns around x (clamped to the lattice).
            const int j0 = u < 0 ? 0 : std::min(static_cast<int>(u), side_ - 2);
            std::uint32_t best = 0;
            float bestDist = INFINITY;
            bool inside = true;
            for (int j = j0; j <= j0 + 1; ++j) {
                const double v = (dx - j * shear_) * invPitch_;
                inside = inside && v > -1.0 && v < limit;
                const int i0 = v < 0 ? 0 : std::min(static_cast<int>(v), side_ - 2);
                for (int i = i0; i <= i0 + 1; ++i) {
                    const auto k = static_cast<std::uint32_t>(i * side_ + j);
                    inside = inside && !stray_[k];
                    const float* y = point(k);
                    const float d = cdistDistance(x0, x1, xx, y[0], y[1], norms_[k]);
                    if (d < bestDist || (d == bestDist && k < best)) {
                        bestDist = d;
                        best = k;
                    }
                }
            }
            if (inside) {
                for (std::uint32_t k : strays_) {
                    const float* y = point(k);
                    const float d = cdistDistance(x0, x1, xx, y[0], y[1], norms_[k]);
                    if (d < bestDist || (d == bestDist && k < best)) {
                        bestDist = d;
                        best = k;
                    }
                }
                return best;
            }
        }
    }
    return windowSearch(x0, x1, xx, dx, dy);
}

std::uint32_t LatticeNearest::windowSearch(float x0, float x1, float xx, double dx, double dy) const
{
    const int last = side_ - 1;
    // Lattice point nearest in exact arithmetic (rounded position, clamped to the square).
    const int j0 = clampedIndex(std::round(dy * invPitch_), 0, last);
    const int i0 = clampedIndex(std::round((dx - j0 * shear_) * invPitch_), 0, last);
    const float* y0 = point(static_cast<std::uint32_t>(i0 * side_ + j0));
    const double ex = static_cast<double>(x0) - y0[0];
    const double ey = static_cast<double>(x1) - y0[1];
    const double nearSq = ex * ex + ey * ey;

    // Any point the float32 formula can prefer is within `reach` of x in exact arithmetic.
    const double err = kErrorCoefficient * (static_cast<double>(xx) + maxNormSq_);
    double reachSq = nearSq + 2 * err;
    reachSq += 4 * kUnitRoundoff * reachSq + 1e-30;
    const double reach = std::sqrt(reachSq) + maxDeviation_ + 1e-9 * pitch_;

    std::uint32_t best = 0;
    float bestDist = INFINITY;
    auto consider = [&](std::uint32_t k) {
        const float* y = point(k);
        const float d = cdistDistance(x0, x1, xx, y[0], y[1], norms_[k]);
        if (d < bestDist || (d == bestDist && k < best)) {
            bestDist = d;
            best = k;
        }
    };

    const int jLo = clampedIndex(std::ceil((dy - reach) * invPitch_), 0, last);
    const int jHi = clampedIndex(std::floor((dy + reach) * invPitch_), -1, last);
    for (int j = jLo; j <= jHi; ++j) {
        const double rowDx = dx - j * shear_;
        const int iLo = clampedIndex(std::ceil((rowDx - reach) * invPitch_), 0, last);
        const int iHi = clampedIndex(std::floor((rowDx + reach) * invPitch_), -1, last);
        for (int i = iLo; i <= iHi; ++i)
            consider(static_cast<std::uint32_t>(i * side_ + j));
    }
    for (std::uint32_t k : strays_)
        consider(k);
    return best;
}

}  // namespace birkhoff::codec
