// Nearest codebook point of one tensor's square, found analytically.
//
// The codebook B(k) = node_ld + ((k*a_jump) fmod l), k < U = s*s, is a sheared square lattice:
// with k = i*s + j its ideal position is node_ld + (i*d + j*d/s, j*d), d = l/s. The authors pick
// argmin_k cdist(x, B(k)) over all U points, and torch.cdist (U > 25) evaluates
//     t_k = fl(fl(fma(-2*x1, y1, fl(-2*x0 * y0)) + |x|^2) + |y_k|^2),  dist = sqrt(max(t_k, 1e-30))
// (|v|^2 = fl(fl(v0*v0) + fl(v1*v1))), keeping the first minimum. That float32 value is not
// always the exact distance, so the winner is not always the exact nearest point.
//
// nearest() reproduces that choice exactly while looking at only a few points: it takes the
// lattice point nearest to x in exact arithmetic, bounds the float32 error of t for this x
// (about 12 * 2^-24 * (|x|^2 + max|y|^2)), and evaluates the torch formula on every lattice point
// whose exact squared distance could still come within that bound of the minimum (usually 1 to 4
// points; more for tensors whose centre is far from 0). Codebook points that float32 rounding
// pushed away from their ideal lattice position (a wrap of the fmod) are always evaluated.
// When the float32 error bound is small against the lattice pitch (centre near 0, the usual case),
// a fixed 2x2 block of lattice points around x provably contains every lattice point that can win,
// and nearest() evaluates just those four (plus the stray points, if any; a block that contains a
// stray falls back to the window search). bruteForce() is the reference: the torch formula over all U
// points.
#pragma once

#include "kernels/decode.h"

#include <cstdint>
#include <vector>

namespace birkhoff::codec {

class LatticeNearest;

/// The AVX2+FMA kernel of LatticeNearest::nearestBatch (lattice_nearest_avx2.cpp): the 2x2 block
/// search for 8 points at a time. Writes out[i] for every point and sets fallback[i] = 1 for the
/// points it could not decide (outside the block's range), which the caller redoes with nearest().
void nearestBlocksAvx2(const LatticeNearest& nn, const float* xy, std::size_t n, std::uint32_t* out,
                       std::uint8_t* fallback);

/// torch.cdist's float32 distance between x and codebook point y (see the file comment), with
/// xx = fl(fl(x0*x0) + fl(x1*x1)) and yy the same for y.
inline float cdistDistance(float x0, float x1, float xx, float y0, float y1, float yy)
{
    const float a0 = -2.f * x0;
    const float a1 = -2.f * x1;
    float t = fmaf(a1, y1, a0 * y0);
    t = t + xx;
    t = t + yy;
    return sqrtf(t > 1e-30f ? t : 1e-30f);
}

/// fl(fl(v0*v0) + fl(v1*v1)), torch's x.pow(2).sum(-1) for a pair.
inline float squaredNorm(float v0, float v1)
{
    return v0 * v0 + v1 * v1;
}

class LatticeNearest {
public:
    /// Builds the codebook of `p` (only l, U, nodeLd and aJump are used; K is irrelevant).
    /// U must be a perfect square >= 1.
    explicit LatticeNearest(const kernels::LatticeParams& p);

    /// Index k < U the authors' cdist + argmin picks for the point (x0, x1).
    std::uint32_t nearest(float x0, float x1) const;
    /// nearest() for n points (x, y interleaved) into out[0 .. n). Uses the AVX2+FMA kernel when the
    /// CPU has it (kernels::detectCpuIsa(), which BIRKHOFF_CPU_ISA caps) and the 2x2 fast path
    /// applies; the results are identical either way.
    void nearestBatch(const float* xy, std::size_t n, std::uint32_t* out) const;
    /// Reference: the same choice by evaluating all U points.
    std::uint32_t bruteForce(float x0, float x1) const;

    /// Codebook point k as {x, y} (bit-identical to kernels::codebookPoint).
    const float* point(std::uint32_t k) const { return &points_[2 * static_cast<std::size_t>(k)]; }
    std::uint32_t size() const { return U_; }
    /// Number of points whose float32 position is far from the ideal lattice (evaluated always).
    std::size_t strayCount() const { return strays_.size(); }
    /// Whether the 2x2 fast path applies to points near the square.
    bool usesFastPath() const { return fast_; }

private:
    friend void nearestBlocksAvx2(const LatticeNearest&, const float*, std::size_t, std::uint32_t*, std::uint8_t*);
    std::uint32_t windowSearch(float x0, float x1, float xx, double dx, double dy) const;

    std::uint32_t U_ = 0;
    int side_ = 0;                  // s
    double pitch_ = 0, invPitch_ = 0, shear_ = 0;  // d, 1/d, d/s
    double origin_[2] = {0, 0};     // node_ld
    double maxDeviation_ = 0;       // largest |actual - ideal| over non-stray points
    double maxNormSq_ = 0;          // max |y|^2
    bool fast_ = false;             // 2x2 blocks are exact for points within a pitch of the square
    bool vectorized_ = false;       // nearestBatch uses nearestBlocksAvx2
    float originF_[2] = {0.f, 0.f}; // node_ld, float32 (the vector kernel's block choice)
    float invPitchF_ = 0.f;         // 1/d
    float shearUnitsF_ = 0.f;       // 1/s: the row shift in pitches
    std::vector<float> points_;     // 2*U
    std::vector<float> norms_;      // |y_k|^2 as torch computes it
    std::vector<std::uint32_t> strays_;
    std::vector<std::uint8_t> stray_;  // per k: 1 for stray points (a block holding one is not used)
};

}  // namespace birkhoff::codec
