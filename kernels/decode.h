// Hyper-Compression decode math: the one place where a stored index becomes a weight pair.
//
// Every implementation (the codec's decoder, the CPU and CUDA HyperLinear kernels, the tests)
// decodes through this header so that all of them agree bit for bit in float32. The operation
// order follows the authors' released decoder (utils/model_decode.py, decode_param_type_1/2) as
// documented in ../shared/docs/birkhoff-spec.md, "Verified by running the official encoder":
//
//   a_jump   = normalise(l/s, l) * step                (s = ceil(sqrt(U)), step = (l/sin a)/s)
//   node_ld  = fl(c - fl(l/2))
//   B*(k)    = fl( fl(fl32(k) * a_jump) fmod l ) + node_ld
//   j        = floor(t / U), k = t - j*U
//   K == 0 : w = B*(k)
//   K  > 0 : D = fl( fl(|c - far| - l/2) / K ),  r_j = fl(l/2 + fl(j*D)),  f_j = fl(l/2 / r_j),
//            w = fl( fl( fl(B* - c) / f_j ) + c )            (for every j, j = 0 included)
//
// The file must be compiled with -ffp-contract=off (the project does this globally) so that the
// compiler never fuses a multiply and an add that the reference keeps separate. The only fused
// operation is the explicit fmaf in norm2(), which reproduces torch 1.13's CPU 2-norm.
#pragma once

#include <math.h>
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define BIRKHOFF_HD __host__ __device__ inline
#else
#define BIRKHOFF_HD inline
#endif

namespace birkhoff::kernels {

/// Largest number of codebook samples U a tensor may use. Keeps every stored index (< U*(M+1))
/// exactly representable in float32 and the integer class computation identical to the
/// authors' floor(t / U) in float32.
constexpr std::uint32_t kMaxU = 65536;

/// Largest number of outlier rings K (the paper's M) the format and kernels support.
constexpr std::uint32_t kMaxRings = 64;

/// Euclidean norm of a 2-vector exactly as torch 1.13's CPU linalg.norm computes it
/// (sqrt(fma(x1, x1, x0*x0))); the authors' encoder and decoder use it for |c - far|, the
/// per-pair distances and the a_jump normalisation.
BIRKHOFF_HD float norm2(float x0, float x1)
{
    return sqrtf(fmaf(x1, x1, x0 * x0));
}

/// Side s = ceil(sqrt(U)) of the lattice; for the perfect squares the format uses, sqrt(U).
BIRKHOFF_HD float latticeSide(std::uint32_t U)
{
    return ceilf(sqrtf(static_cast<float>(U)));
}

/// Everything needed to decode the indices of one tensor. Built once per tensor by
/// makeLatticeParams(); plain data so it can be copied to a GPU as is.
struct LatticeParams {
    float l = 0.f;            ///< side of the inner square (rect_l), float32
    float halfL = 0.f;        ///< fl(l / 2)
    std::uint32_t U = 0;      ///< number of codebook samples in the square
    std::uint32_t K = 0;      ///< number of outlier rings actually used (0 = none)
    float center[2] = {0.f, 0.f};   ///< pair centroid c (center_node)
    float nodeLd[2] = {0.f, 0.f};   ///< lower-left corner fl(c - l/2)
    float aJump[2] = {0.f, 0.f};    ///< step vector of the trajectory
    float ringStep = 0.f;     ///< D = fl(fl(|c - far| - l/2) / K); 0 when K == 0
};

/// The trajectory step vector for side l and U samples, bit-identical to the authors'
/// get_Try_torch (which can come out one ulp above fl(l/s^2), fl(l/s)).
BIRKHOFF_HD void computeAJump(float l, std::uint32_t U, float out[2])
{
    const float s = latticeSide(U);
    const float d = l / s;
    const float l1 = sqrtf(l * l + d * d);
    const float sinAlpha = l / l1;
    const float step = (l / sinAlpha) / s;
    const float c0 = l / s;  // l / tan(alpha), tan(alpha) = s
    const float c1 = l;
    const float n = norm2(c0, c1);
    out[0] = (c0 / n) * step;
    out[1] = (c1 / n) * step;
}

/// Builds the decode parameters of one tensor from what the file stores.
/// @param l        global side of the square (rect_l)
/// @param U        number of codebook samples (the value, not its position in num_inner_list)
/// @param K        number of rings stored for the tensor
/// @param center   center_node
/// @param farthest farthest_node (only used when K > 0)
BIRKHOFF_HD LatticeParams makeLatticeParams(float l, std::uint32_t U, std::uint32_t K,
                                            const float center[2], const float farthest[2])
{
    LatticeParams p;
    p.l = l;
    p.halfL = l / 2.f;
    p.U = U;
    p.K = K;
    p.center[0] = center[0];
    p.center[1] = center[1];
    p.nodeLd[0] = center[0] - p.halfL;
    p.nodeLd[1] = center[1] - p.halfL;
    computeAJump(l, U, p.aJump);
    if (K > 0) {
        const float farDist = norm2(center[0] - farthest[0], center[1] - farthest[1]);
        p.ringStep = (farDist - p.halfL) / static_cast<float>(K);
    }
    return p;
}

/// Codebook point k (0 <= k < U) of the square: B*(k) before any ring scaling.
BIRKHOFF_HD void codebookPoint(const LatticeParams& p, std::uint32_t k, float out[2])
{
    const float kf = static_cast<float>(k);
    out[0] = fmodf(kf * p.aJump[0], p.l) + p.nodeLd[0];
    out[1] = fmodf(kf * p.aJump[1], p.l) + p.nodeLd[1];
}

/// Scale factor f_j = (l/2) / r_j of ring j (f_0 == 1 exactly). Only meaningful when K > 0.
BIRKHOFF_HD float ringFactor(const LatticeParams& p, std::uint32_t j)
{
    const float r = p.halfL + static_cast<float>(j) * p.ringStep;
    return p.halfL / r;
}

/// Reference decode of one stored index t = k + U*j into a weight pair.
BIRKHOFF_HD void decodeIndex(const LatticeParams& p, std::uint32_t t, float out[2])
{
    const std::uint32_t j = t / p.U;
    const std::uint32_t k = t - j * p.U;
    float b[2];
    codebookPoint(p, k, b);
    if (p.K == 0) {
        out[0] = b[0];
        out[1] = b[1];
        return;
    }
    const float f = ringFactor(p, j);
    out[0] = (b[0] - p.center[0]) / f + p.center[0];
    out[1] = (b[1] - p.center[1]) / f + p.center[1];
}

/// Number of distinct stored indices a tensor can hold: U * (K + 1).
BIRKHOFF_HD std::size_t decodeTableEntries(const LatticeParams& p)
{
    return static_cast<std::size_t>(p.U) * (p.K + 1);
}

/// Fills table[2*t], table[2*t+1] with decodeIndex(p, t) for every t < U*(K+1). Optimized
/// kernels decode by looking indices up in this table, which is bit-identical to
/// decodeIndex() by construction (at most 64 KiB * (K+1) of float pairs for U = 4096).
inline void buildDecodeTable(const LatticeParams& p, float* table)
{
    const std::size_t n = decodeTableEntries(p);
    for (std::size_t t = 0; t < n; ++t)
        decodeIndex(p, static_cast<std::uint32_t>(t), table + 2 * t);
}

}  // namespace birkhoff::kernels
