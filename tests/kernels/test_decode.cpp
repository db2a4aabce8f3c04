// Decode math (kernels/decode.h): lattice structure, ring scaling, the decode table against the
// formula evaluated in double, norm2 against torch 1.13's outputs, and the worked example of
// birkhoff-spec.md section 7.
#include "kernels/decode.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cmath>
#include <cstring>
#include <vector>

using namespace birkhoff::kernels;

namespace {

std::uint32_t bitsOf(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

}  // namespace

class TestDecode : public QObject {
    Q_OBJECT
private slots:
    void codebookIsShearedLattice()
    {
        // B(k) = o + ((k l/s^2) mod l, (k l/s) mod l) = o + (i d + j d/s, j d) for k = i s + j.
        // For the paper's U (1225, 1600) at l = 0.1 no point wraps around (birkhoff-spec.md,
        // "Verified"); other U may wrap a row to the top edge, as the authors' code does.
        const float c[2] = {0.01f, -0.02f};
        const float far[2] = {0.f, 0.f};
        for (std::uint32_t U : {1225u, 1600u}) {
            const LatticeParams p = makeLatticeParams(0.1f, U, 0, c, far);
            const double s = std::sqrt(double(U));
            const double d = 0.1 / s;
            for (std::uint32_t k = 0; k < U; ++k) {
                const std::uint32_t i = k / std::uint32_t(s), j = k % std::uint32_t(s);
                float w[2];
                decodeIndex(p, k, w);
                const double ex = double(p.nodeLd[0]) + i * d + j * d / s;
                const double ey = double(p.nodeLd[1]) + j * d;
                QVERIFY2(std::abs(w[0] - ex) < 2e-7, qPrintable(QStringLiteral("U=%1 k=%2 x").arg(U).arg(k)));
                QVERIFY2(std::abs(w[1] - ey) < 5e-7, qPrintable(QStringLiteral("U=%1 k=%2 y").arg(U).arg(k)));
                QVERIFY(w[0] >= p.nodeLd[0] && w[0] < p.nodeLd[0] + p.l);
                QVERIFY(w[1] >= p.nodeLd[1] && w[1] < p.nodeLd[1] + p.l);
            }
        }
    }

    void ringScalingMovesOutward()
    {
        const float c[2] = {0.f, 0.f};
        const float far[2] = {0.3f, 0.4f};  // |far - c| = 0.5
        const LatticeParams p = makeLatticeParams(0.1f, 1225, 3, c, far);
        QCOMPARE(ringFactor(p, 0), 1.0f);
        const float D = (0.5f - 0.05f) / 3.f;
        QVERIFY(std::abs(p.ringStep - D) < 1e-7f);
        for (std::uint32_t j = 1; j <= 3; ++j) {
            float inner[2], outer[2];
            decodeIndex(p, 17, inner);
            decodeIndex(p, 17 + j * 1225, outer);
            const float f = ringFactor(p, j);
            QVERIFY(std::abs(outer[0] - inner[0] / f) < 1e-6f);
            QVERIFY(std::abs(outer[1] - inner[1] / f) < 1e-6f);
        }
    }

    // The decode table against the decode formula evaluated independently in double precision
    // (spec: B*(k) = nodeLd + (k * a_jump) mod l; ring j: c + (B* - c) / f_j with
    // f_j = (l/2) / (l/2 + j * D)): every entry within float32 rounding of the formula.
    void tableFollowsTheFormula()
    {
        const float c[2] = {0.9876f, 1.0123f};
        const float far[2] = {1.31f, 0.72f};
        for (std::uint32_t K : {0u, 1u, 3u}) {
            const LatticeParams p = makeLatticeParams(0.1f, 1600, K, c, far);
            std::vector<float> table(2 * decodeTableEntries(p));
            buildDecodeTable(p, table.data());
            QCOMPARE(decodeTableEntries(p), std::size_t(1600) * (K + 1));
            for (std::uint32_t t = 0; t < decodeTableEntries(p); ++t) {
                const std::uint32_t j = t / 1600, k = t % 1600;
                const double l = p.l;
                const double f = j == 0 ? 1.0 : (l / 2) / (l / 2 + j * double(p.ringStep));
                for (int axis = 0; axis < 2; ++axis) {
                    const double b = double(p.nodeLd[axis]) + std::fmod(double(k) * double(p.aJump[axis]), l);
                    const double expected = double(c[axis]) + (b - double(c[axis])) / f;
                    // float32 rounding of B* (about 1 ulp of |c|) grows by 1/f_j in the outer rings.
                    const double tolerance = 3e-7 * (1.0 + std::abs(expected)) / f;
                    QVERIFY2(std::abs(double(table[2 * t + axis]) - expected) <= tolerance,
                             qPrintable(QStringLiteral("t=%1 axis %2: %3 vs %4")
                                            .arg(t).arg(axis).arg(table[2 * t + axis], 0, 'g', 9).arg(expected, 0, 'g', 9)));
                }
            }
        }
    }

    void specWorkedExample()
    {
        // birkhoff-spec.md section 7: six pairs, U = 1600, K = 1, indices [652,552,187,3090,503,77].
        const float pairs[6][2] = {{0.012f, -0.031f}, {0.004f, 0.020f}, {-0.018f, 0.007f},
                                   {0.150f, -0.090f}, {0.001f, -0.002f}, {-0.025f, 0.033f}};
        float c[2] = {0.f, 0.f};
        for (const auto& q : pairs) {
            c[0] += q[0];
            c[1] += q[1];
        }
        c[0] /= 6.f;
        c[1] /= 6.f;
        const LatticeParams p = makeLatticeParams(0.1f, 1600, 1, c, pairs[3]);
        const std::uint32_t idx[6] = {652, 552, 187, 3090, 503, 77};
        const double expected[6][2] = {{0.011417, -0.030500}, {0.005167, 0.019500}, {-0.017646, 0.007000},
                                       {0.151606, -0.086407}, {0.002104, -0.003000}, {-0.024521, 0.032000}};
        for (int i = 0; i < 6; ++i) {
            float w[2];
            decodeIndex(p, idx[i], w);
            QVERIFY2(std::abs(w[0] - expected[i][0]) < 2e-6, qPrintable(QString::number(i)));
            QVERIFY2(std::abs(w[1] - expected[i][1]) < 2e-6, qPrintable(QString::number(i)));
        }
    }

    // Golden values from torch 1.13's CPU torch.linalg.norm on float32 pairs (the version the
    // authors' code ran on), chosen where the plain float32 sqrt(x0*x0 + x1*x1) rounds differently.
    void norm2MatchesTorch()
    {
        struct Case {
            std::uint32_t x0, x1, torchNorm;
        };
        const Case cases[] = {{0x3f064993u, 0xbf7eebf5u, 0x3f90107bu},
                              {0xbf421ab6u, 0xbeab51f4u, 0x3f542a56u},
                              {0x3f28fa70u, 0x3eae6495u, 0x3f3e264eu}};
        for (const Case& k : cases) {
            float x0, x1;
            std::memcpy(&x0, &k.x0, 4);
            std::memcpy(&x1, &k.x1, 4);
            QCOMPARE(bitsOf(norm2(x0, x1)), k.torchNorm);
            volatile float square0 = x0 * x0, square1 = x1 * x1;  // the unfused float32 formula
            QVERIFY(bitsOf(std::sqrt(float(square0 + square1))) != k.torchNorm);
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestDecode);
#include "test_decode.moc"
