// CPU HyperLinear, portable C++ path (any CPU): table decode and a plain-loop micro-kernel of
// 4 tokens x 16 rows that the compiler may vectorise for the baseline instruction set.
#include "kernels/hyperlinear_tiles.h"

namespace birkhoff::kernels::detail {
namespace {

struct PortableKernel {
    static constexpr IsaBlocking kBlocking = kPortableBlocking;

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
        float acc[4][16] = {};
        for (int k = 0; k < kc; ++k) {
            const float* w = panel + static_cast<std::int64_t>(k) * 16;
            for (int m = 0; m < mr; ++m) {
                const float a = x[m * ldx + k];
                for (int r = 0; r < 16; ++r)
                    acc[m][r] += a * w[r];
            }
        }
        for (int m = 0; m < mr; ++m) {
            float* dst = y + m * ldy;
            for (int r = 0; r < rows; ++r) {
                float v = acc[m][r];
                if (accumulate)
                    v += dst[r];
                if (bias)
                    v += bias[r];
                dst[r] = v;
            }
        }
    }
};

}  // namespace

void runPortable(const TileProblem& problem)
{
    runTiles(PortableKernel{}, problem);
}

void decodeDensePortable(const TileProblem& problem, float* dense)
{
    decodeDenseTiles(PortableKernel{}, problem, dense);
}

}  // namespace birkhoff::kernels::detail
