// The analytic nearest-point search (scalar, and the batch API with its AVX2 kernel when the CPU
// has one) against brute force (the torch.cdist formula over all U
// codebook points, first minimum) on millions of points: inside the square, on its edges, just
// outside, exactly on and between lattice points, for centres near 0 and far from it, several l
// and U. Both must pick the same index every time. Every 200th point is also checked against an
// independent reference (all codebook points decoded by kernels/decode.h, distances in double):
// the chosen point is a nearest one up to float32 rounding.
#include "core/codec/lattice_nearest.h"
#include "core/util/runtime.h"
#include "tests/support/test_registry.h"

#include <ATen/Parallel.h>

#include <QTest>

#include <atomic>
#include <random>

using namespace birkhoff;
using namespace birkhoff::codec;

namespace {

struct Config {
    float l;
    std::uint32_t U;
    float c0, c1;
    int points;
};

// Points of several kinds around the square of `p`.
void makePoint(const kernels::LatticeParams& p, std::mt19937& rng, const LatticeNearest& nn, float out[2])
{
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    const int kind = static_cast<int>(rng() % 6);
    const float l = p.l;
    switch (kind) {
    case 0:  // uniform in the square
        out[0] = p.nodeLd[0] + unit(rng) * l;
        out[1] = p.nodeLd[1] + unit(rng) * l;
        break;
    case 1: {  // near an edge or corner, possibly slightly outside
        const int a = static_cast<int>(rng() & 1);
        const float e = (unit(rng) - 0.5f) * 0.1f * l;
        out[a] = p.nodeLd[a] + ((rng() & 1) ? l + e : e);
        out[1 - a] = p.nodeLd[1 - a] + unit(rng) * l * 1.1f - 0.05f * l;
        break;
    }
    case 2: {  // exactly a codebook point
        const float* y = nn.point(static_cast<std::uint32_t>(rng() % p.U));
        out[0] = y[0];
        out[1] = y[1];
        break;
    }
    case 3: {  // midpoint of two codebook points (ties in exact arithmetic)
        if (p.U < 2)
            return makePoint(p, rng, nn, out);
        const std::uint32_t k = static_cast<std::uint32_t>(rng() % (p.U - 1));
        const std::uint32_t s = static_cast<std::uint32_t>(kernels::latticeSide(p.U));
        const std::uint32_t k2 = (rng() & 1) && k + s < p.U ? k + s : k + 1;
        out[0] = 0.5f * (nn.point(k)[0] + nn.point(k2)[0]);
        out[1] = 0.5f * (nn.point(k)[1] + nn.point(k2)[1]);
        break;
    }
    case 4: {  // a codebook point nudged by a few ulp
        const float* y = nn.point(static_cast<std::uint32_t>(rng() % p.U));
        out[0] = std::nextafter(y[0], (rng() & 1) ? INFINITY : -INFINITY);
        out[1] = std::nextafter(std::nextafter(y[1], INFINITY), INFINITY);
        break;
    }
    default:  // anywhere in a box three times the square
        out[0] = p.nodeLd[0] + (unit(rng) * 3.f - 1.f) * l;
        out[1] = p.nodeLd[1] + (unit(rng) * 3.f - 1.f) * l;
        break;
    }
}

}  // namespace

class TestLatticeNearest : public QObject {
    Q_OBJECT
private slots:
    void analyticEqualsBruteForce()
    {
        const std::vector<Config> configs = {
            {0.1f, 1225, 0.0003f, -0.0004f, 400000},  // the paper's settings, weights around 0
            {0.1f, 1600, -0.002f, 0.001f, 250000},
            {0.1f, 1600, 0.996f, 0.9964f, 100000},     // LayerNorm-like centre: window search
            {0.05f, 225, 0.01f, 0.02f, 500000},
            {0.3f, 4096, -0.1f, 0.05f, 30000},
            {1e-3f, 1225, 0.0001f, 0.0f, 100000},
            {0.8f, 64, 3.0f, -2.0f, 400000},
            {0.02f, 1225, 12.5f, -7.25f, 50000},       // centre far from 0: large float32 error
            {0.1f, 25, 0.0f, 0.0f, 200000},
            {0.1f, 1, 0.0f, 0.0f, 1000},
        };
        configureThreads();
        std::atomic<std::int64_t> checked{0}, fast{0};
        for (const Config& cfg : configs) {
            const float c[2] = {cfg.c0, cfg.c1};
            const kernels::LatticeParams p = kernels::makeLatticeParams(cfg.l, cfg.U, 0, c, c);
            const LatticeNearest nn(p);
            if (nn.usesFastPath())
                fast += cfg.points;
            // Independent reference: every codebook point decoded, distances in double.
            std::vector<double> codebook(2 * static_cast<std::size_t>(cfg.U));
            for (std::uint32_t k = 0; k < cfg.U; ++k) {
                float w[2];
                kernels::decodeIndex(p, k, w);
                codebook[2 * k] = w[0];
                codebook[2 * k + 1] = w[1];
            }
            std::atomic<int> mismatches{0}, farther{0};
            constexpr int kBlock = 10000;
            at::parallel_for(0, (cfg.points + kBlock - 1) / kBlock, 1, [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t blk = b; blk < e; ++blk) {
                    std::mt19937 rng(static_cast<unsigned>(blk * 7919 + cfg.U));
                    const int n = std::min<int>(kBlock, cfg.points - static_cast<int>(blk) * kBlock);
                    std::vector<float> xy(2 * static_cast<std::size_t>(n));
                    for (int i = 0; i < n; ++i)
                        makePoint(p, rng, nn, &xy[2 * static_cast<std::size_t>(i)]);
                    std::vector<std::uint32_t> batch(static_cast<std::size_t>(n));
                    nn.nearestBatch(xy.data(), batch.size(), batch.data());
                    for (int i = 0; i < n; ++i) {
                        const float* x = &xy[2 * static_cast<std::size_t>(i)];
                        const std::uint32_t a = nn.nearest(x[0], x[1]);
                        const std::uint32_t ref = nn.bruteForce(x[0], x[1]);
                        if ((a != ref || batch[static_cast<std::size_t>(i)] != ref) && mismatches++ < 3)
                            qWarning("l=%g U=%u c=(%g,%g) x=(%.9g,%.9g): analytic %u, batch %u, brute force %u",
                                     cfg.l, cfg.U, cfg.c0, cfg.c1, x[0], x[1], a, batch[static_cast<std::size_t>(i)], ref);
                        if (i % 200 != 0)
                            continue;
                        // The chosen point is a nearest one in exact arithmetic, up to float32
                        // rounding of the distances (the authors' cdist compares float32 values).
                        auto dist2 = [&](std::uint32_t k) {
                            const double dx = codebook[2 * k] - x[0], dy = codebook[2 * k + 1] - x[1];
                            return dx * dx + dy * dy;
                        };
                        double best = dist2(0);
                        for (std::uint32_t k = 1; k < cfg.U; ++k)
                            best = std::min(best, dist2(k));
                        const double scale = double(cfg.l) * double(cfg.l) + double(x[0]) * x[0] + double(x[1]) * x[1];
                        if (dist2(a) > best + 1e-6 * scale && farther++ < 3)
                            qWarning("l=%g U=%u x=(%.9g,%.9g): analytic %u at squared distance %.9g, nearest %.9g",
                                     cfg.l, cfg.U, x[0], x[1], a, dist2(a), best);
                    }
                }
            });
            QCOMPARE(mismatches.load(), 0);
            QCOMPARE(farther.load(), 0);
            checked += cfg.points;
        }
        qInfo("analytic == brute force on %lld points (%lld through the 2x2 fast path)",
              static_cast<long long>(checked.load()), static_cast<long long>(fast.load()));
        QVERIFY2(fast.load() > 0, "the configurations exercise the 2x2 fast path");
    }
};

BIRKHOFF_REGISTER_TEST(TestLatticeNearest);
#include "test_lattice_nearest.moc"
