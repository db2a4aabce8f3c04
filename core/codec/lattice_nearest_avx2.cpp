// AVX2+FMA kernel of the 2x2-block nearest-point search (LatticeNearest::nearestBatch), 8 points
// per step. Bit-identical to the scalar path: the same float32 operations (the FMA instruction is
// the fmaf of cdistDistance) and the same (distance, index) minimum; points outside the block's
// range are flagged for the scalar search. Compiled for AVX2 through function attributes and only
// called after run-time detection.
#include "core/codec/lattice_nearest.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>

namespace birkhoff::codec {

#if defined(__x86_64__)

namespace {

// x = [x0..x7], y = [y0..y7] from 8 interleaved pairs.
__attribute__((target("avx2,fma"))) inline void loadPairs(const float* xy, __m256& x, __m256& y)
{
    const __m256 a = _mm256_loadu_ps(xy);      // x0 y0 x1 y1 | x2 y2 x3 y3
    const __m256 b = _mm256_loadu_ps(xy + 8);  // x4 y4 x5 y5 | x6 y6 x7 y7
    const __m256 xs = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));  // x0 x1 x4 x5 | x2 x3 x6 x7
    const __m256 ys = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    x = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(xs), _MM_SHUFFLE(3, 1, 2, 0)));
    y = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ys), _MM_SHUFFLE(3, 1, 2, 0)));
}

}  // namespace

__attribute__((target("avx2,fma"))) void nearestBlocksAvx2(const LatticeNearest& nn, const float* xy, std::size_t n,
                                                            std::uint32_t* out, std::uint8_t* fallback)
{
    const int side = nn.side_;
    const __m256 originX = _mm256_set1_ps(nn.originF_[0]);
    const __m256 originY = _mm256_set1_ps(nn.originF_[1]);
    const __m256 inv = _mm256_set1_ps(nn.invPitchF_);
    const __m256 shear = _mm256_set1_ps(nn.shearUnitsF_);
    const __m256 minusOne = _mm256_set1_ps(-1.f);
    const __m256 limit = _mm256_set1_ps(static_cast<float>(side));
    const __m256 minusTwo = _mm256_set1_ps(-2.f);
    const __m256 tiny = _mm256_set1_ps(1e-30f);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i lastStart = _mm256_set1_epi32(side - 2);
    const __m256i sideV = _mm256_set1_epi32(side);
    const float* points = nn.points_.data();
    const float* norms = nn.norms_.data();

    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x, y;
        loadPairs(xy + 2 * i, x, y);
        const __m256 xx = _mm256_add_ps(_mm256_mul_ps(x, x), _mm256_mul_ps(y, y));
        const __m256 a0 = _mm256_mul_ps(minusTwo, x);
        const __m256 a1 = _mm256_mul_ps(minusTwo, y);
        const __m256 dx = _mm256_mul_ps(_mm256_sub_ps(x, originX), inv);
        const __m256 u = _mm256_mul_ps(_mm256_sub_ps(y, originY), inv);
        __m256 inside = _mm256_and_ps(_mm256_cmp_ps(u, minusOne, _CMP_GT_OQ), _mm256_cmp_ps(u, limit, _CMP_LT_OQ));
        const __m256i j0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(u), zero), lastStart);

        __m256 bestDist = _mm256_set1_ps(INFINITY);
        __m256i best = _mm256_setzero_si256();
        for (int r = 0; r < 2; ++r) {
            const __m256i j = _mm256_add_epi32(j0, _mm256_set1_epi32(r));
            const __m256 v = _mm256_sub_ps(dx, _mm256_mul_ps(_mm256_cvtepi32_ps(j), shear));
            inside = _mm256_and_ps(inside, _mm256_and_ps(_mm256_cmp_ps(v, minusOne, _CMP_GT_OQ),
                                                         _mm256_cmp_ps(v, limit, _CMP_LT_OQ)));
            const __m256i i0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(v), zero), lastStart);
            for (int c = 0; c < 2; ++c) {
                const __m256i k = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_add_epi32(i0, _mm256_set1_epi32(c)), sideV), j);
                const __m256i k2 = _mm256_add_epi32(k, k);
                const __m256 y0 = _mm256_i32gather_ps(points, k2, 4);
                const __m256 y1 = _mm256_i32gather_ps(points + 1, k2, 4);
                const __m256 yy = _mm256_i32gather_ps(norms, k, 4);
                __m256 t = _mm256_fmadd_ps(a1, y1, _mm256_mul_ps(a0, y0));
                t = _mm256_add_ps(t, xx);
                t = _mm256_add_ps(t, yy);
                const __m256 d = _mm256_sqrt_ps(_mm256_max_ps(t, tiny));
                const __m256 less = _mm256_cmp_ps(d, bestDist, _CMP_LT_OQ);
                const __m256 tie = _mm256_and_ps(_mm256_cmp_ps(d, bestDist, _CMP_EQ_OQ),
                                                 _mm256_castsi256_ps(_mm256_cmpgt_epi32(best, k)));
                const __m256 take = _mm256_or_ps(less, tie);
                bestDist = _mm256_blendv_ps(bestDist, d, take);
                best = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best), _mm256_castsi256_ps(k), take));
            }
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), best);
        const int insideBits = _mm256_movemask_ps(inside);
        for (int lane = 0; lane < 8; ++lane)
            fallback[i + lane] = static_cast<std::uint8_t>(((insideBits >> lane) & 1) == 0);
    }
    for (; i < n; ++i)
        fallback[i] = 1;
}

#else

void nearestBlocksAvx2(const LatticeNearest&, const float*, std::size_t n, std::uint32_t*, std::uint8_t* fallback)
{
    std::fill(fallback, fallback + n, std::uint8_t(1));
}

#endif

}  // namespace birkhoff::codec
