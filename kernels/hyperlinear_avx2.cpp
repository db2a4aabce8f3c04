// CPU HyperLinear, AVX2+FMA path (compiled with -mavx2 -mfma): table decode and a micro-kernel
// of 6 tokens x 16 rows (12 ymm accumulators) with explicit FMA intrinsics.
#include "kernels/hyperlinear_tiles.h"

#include <immintrin.h>

namespace birkhoff::kernels::detail {
namespace {

/// Lane mask selecting the first `n` (0..8) of 8 floats, for maskload/maskstore.
inline __m256i firstLanes(int n)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

template <int MR>
void microKernelAvx2(const float* x, std::int64_t ldx, const float* panel, int kc, float* y, std::int64_t ldy,
                     int rows, const float* bias, bool accumulate)
{
    __m256 acc[MR][2];
    for (int m = 0; m < MR; ++m) {
        acc[m][0] = _mm256_setzero_ps();
        acc[m][1] = _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; ++k) {
        const __m256 w0 = _mm256_load_ps(panel + k * 16);
        const __m256 w1 = _mm256_load_ps(panel + k * 16 + 8);
        for (int m = 0; m < MR; ++m) {
            const __m256 a = _mm256_broadcast_ss(x + m * ldx + k);
            acc[m][0] = _mm256_fmadd_ps(a, w0, acc[m][0]);
            acc[m][1] = _mm256_fmadd_ps(a, w1, acc[m][1]);
        }
    }
    const __m256i mask0 = firstLanes(rows < 8 ? rows : 8);
    const __m256i mask1 = firstLanes(rows > 8 ? rows - 8 : 0);
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    if (bias) {
        b0 = _mm256_maskload_ps(bias, mask0);
        b1 = _mm256_maskload_ps(bias + 8, mask1);
    }
    for (int m = 0; m < MR; ++m) {
        float* dst = y + m * ldy;
        __m256 v0 = acc[m][0], v1 = acc[m][1];
        if (accumulate) {
            v0 = _mm256_add_ps(v0, _mm256_maskload_ps(dst, mask0));
            v1 = _mm256_add_ps(v1, _mm256_maskload_ps(dst + 8, mask1));
        }
        if (bias) {
            v0 = _mm256_add_ps(v0, b0);
            v1 = _mm256_add_ps(v1, b1);
        }
        _mm256_maskstore_ps(dst, mask0, v0);
        _mm256_maskstore_ps(dst + 8, mask1, v1);
    }
}

using MicroKernelFn = void (*)(const float*, std::int64_t, const float*, int, float*, std::int64_t, int,
                               const float*, bool);

constexpr MicroKernelFn kMicroKernels[] = {microKernelAvx2<1>, microKernelAvx2<2>, microKernelAvx2<3>,
                                           microKernelAvx2<4>, microKernelAvx2<5>, microKernelAvx2<6>};
static_assert(sizeof(kMicroKernels) / sizeof(kMicroKernels[0]) == kAvx2Blocking.mr);

struct Avx2Kernel {
    static constexpr IsaBlocking kBlocking = kAvx2Blocking;

    void decodeGroup(const TileProblem& pr, std::int64_t group, std::int64_t pair0, int pairCount,
                            float* panel) const
    {
        decodeGroupFromTable(pr, group, pair0, pairCount, panel);
    }

    void copyPanelToRows(const float* panel, int rows, int count, float* dst, std::int64_t ldRows) const
    {
        detail::copyPanelToRows(panel, rows, count, dst, ldRows);
    }

    void microKernel(int mr, int /*nv: always 1*/, const float* x, std::int64_t ldx, const float* panel,
                     std::int64_t /*panelStride*/, int kc, float* y, std::int64_t ldy, int rows, const float* bias,
                     bool accumulate) const
    {
        kMicroKernels[mr - 1](x, ldx, panel, kc, y, ldy, rows, bias, accumulate);
    }
};

}  // namespace

void runAvx2(const TileProblem& problem)
{
    runTiles(Avx2Kernel{}, problem);
}

void decodeDenseAvx2(const TileProblem& problem, float* dense)
{
    decodeDenseTiles(Avx2Kernel{}, problem, dense);
}

}  // namespace birkhoff::kernels::detail
