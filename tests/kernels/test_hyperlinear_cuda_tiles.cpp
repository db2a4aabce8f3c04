// The CUDA HyperLinear tiling (kernels/hyperlinear_cuda_tiles.h) emulated on the CPU: the
// kernel's phases run thread by thread for every block of the grid and must reproduce the
// reference (FP32: relative error <= 1e-5; TF32/BF16 operand rounding: <= 1e-2), for shapes
// that are not multiples of the 64 x 64 x 32 tiles, odd `in`, 1..3+ pipeline steps, K = 0..3,
// several U and bit widths, with the decode table in shared memory and read from global.
// This checks every index computation of the kernel on machines without a GPU.
#include "kernels/hyperlinear.h"
#include "kernels/hyperlinear_cuda_tiles.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cmath>
#include <random>
#include <vector>

using namespace birkhoff::kernels;

namespace {

struct Problem {
    HyperLinearWeight weight;
    std::vector<float> table, x, bias, reference;
    std::int64_t tokens;
};

/// A random problem; with `rowScaled` the weight carries a row scale (extension "row_scale").
Problem makeProblem(std::int64_t out, std::int64_t in, std::int64_t tokens, std::uint32_t U, std::uint32_t K,
                    std::uint32_t seed, bool rowScaled = false)
{
    std::mt19937 rng(seed);
    const float c[2] = {0.003f, -0.001f}, far[2] = {0.25f, -0.2f};
    const LatticeParams lattice = makeLatticeParams(0.1f, U, K, c, far);
    std::vector<std::uint32_t> indices(static_cast<std::size_t>(out * ((in + 1) / 2)));
    std::uniform_int_distribution<std::uint32_t> pick(0, U * (K + 1) - 1);
    for (auto& t : indices)
        t = pick(rng);
    Problem p{HyperLinearWeight::fromIndices(indices.data(), out, in, lattice), hostDecodeTable(lattice), {}, {}, {},
              tokens};
    std::normal_distribution<float> normal(0.f, 1.f);
    if (rowScaled) {
        std::vector<float> scale(static_cast<std::size_t>(out));
        std::uniform_real_distribution<float> pickScale(0.05f, 2.f);
        for (auto& v : scale)
            v = pickScale(rng);
        p.weight.setRowScale(std::move(scale));
    }
    p.x.resize(static_cast<std::size_t>(tokens * in));
    p.bias.resize(static_cast<std::size_t>(out));
    for (auto& v : p.x)
        v = normal(rng);
    for (auto& v : p.bias)
        v = 0.1f * normal(rng);
    p.reference.resize(static_cast<std::size_t>(tokens * out));
    hyperLinearReference(p.weight, p.x.data(), tokens, p.bias.data(), p.reference.data());
    return p;
}

cudatiles::TileArgs argsFor(const Problem& p, float* y)
{
    cudatiles::TileArgs a;
    a.grouped = p.weight.groupedIndices().data();
    a.bits = p.weight.bits();
    a.out = p.weight.outFeatures();
    a.in = p.weight.inFeatures();
    a.pairs = p.weight.pairsPerRow();
    a.groups = p.weight.rowGroups();
    a.table = p.table.data();
    a.tableFloats = static_cast<std::int64_t>(p.table.size());
    a.x = p.x.data();
    a.tokens = p.tokens;
    a.bias = p.bias.data();
    a.y = y;
    a.rowScale = p.weight.rowScale().empty() ? nullptr : p.weight.rowScale().data();
    return a;
}

double relativeError(const std::vector<float>& y, const std::vector<float>& ref)
{
    double maxDiff = 0.0, maxRef = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i]))
            return INFINITY;
        maxDiff = std::max(maxDiff, std::abs(double(y[i]) - double(ref[i])));
        maxRef = std::max(maxRef, std::abs(double(ref[i])));
    }
    return maxDiff / maxRef;
}

}  // namespace

class TestHyperLinearCudaTiles : public QObject {
    Q_OBJECT
private slots:
    void emulatedGridMatchesReference_data()
    {
        QTest::addColumn<qint64>("out");
        QTest::addColumn<qint64>("in");
        QTest::addColumn<qint64>("tokens");
        QTest::addColumn<unsigned>("U");
        QTest::addColumn<unsigned>("K");
        QTest::addColumn<bool>("rowScaled");
        // (in: 1 step, partial step, odd; 3+ steps exercise the three index slots.)
        QTest::newRow("64x32 T=64 K=0") << qint64(64) << qint64(32) << qint64(64) << 225u << 0u << false;
        QTest::newRow("17x5 T=3 K=1 odd") << qint64(17) << qint64(5) << qint64(3) << 225u << 1u << false;
        QTest::newRow("100x97 T=70 K=3") << qint64(100) << qint64(97) << qint64(70) << 1225u << 3u << false;
        QTest::newRow("130x161 T=1 K=2") << qint64(130) << qint64(161) << qint64(1) << 1600u << 2u << false;
        QTest::newRow("64x768 T=65 K=1") << qint64(64) << qint64(768) << qint64(65) << 1225u << 1u << false;
        QTest::newRow("48x300 T=129 K=0") << qint64(48) << qint64(300) << qint64(129) << 1600u << 0u << false;
        QTest::newRow("100x97 T=70 K=3 row scale") << qint64(100) << qint64(97) << qint64(70) << 1225u << 3u << true;
        QTest::newRow("130x161 T=1 K=0 row scale") << qint64(130) << qint64(161) << qint64(1) << 1600u << 0u << true;
    }

    void emulatedGridMatchesReference()
    {
        QFETCH(qint64, out);
        QFETCH(qint64, in);
        QFETCH(qint64, tokens);
        QFETCH(unsigned, U);
        QFETCH(unsigned, K);
        QFETCH(bool, rowScaled);
        const Problem p = makeProblem(out, in, tokens, U, K, static_cast<std::uint32_t>(out + in + tokens), rowScaled);
        for (bool tableInShared : {true, false}) {
            std::vector<float> y(p.reference.size(), NAN);
            cudatiles::emulateHyperLinearCudaTiles<cudatiles::Fp32Math>(argsFor(p, y.data()), tableInShared);
            const double fp32 = relativeError(y, p.reference);
            QVERIFY2(fp32 <= 1e-5, qPrintable(QStringLiteral("fp32 relative error %1").arg(fp32)));

            std::fill(y.begin(), y.end(), NAN);
            cudatiles::emulateHyperLinearCudaTiles<cudatiles::Tf32Math>(argsFor(p, y.data()), tableInShared);
            const double tf32 = relativeError(y, p.reference);
            QVERIFY2(tf32 <= 1e-2, qPrintable(QStringLiteral("tf32 relative error %1").arg(tf32)));

            std::fill(y.begin(), y.end(), NAN);
            cudatiles::emulateHyperLinearCudaTiles<cudatiles::Bf16Math>(argsFor(p, y.data()), tableInShared);
            const double bf16 = relativeError(y, p.reference);
            QVERIFY2(bf16 <= 1e-2, qPrintable(QStringLiteral("bf16 relative error %1").arg(bf16)));
            // Reduced precision must actually be in effect (the operands are rounded).
            QVERIFY(tf32 > 0.0 && bf16 > tf32);
        }
    }

    void weightsAreBitExactInFp32()
    {
        // x = identity: the FP32 path reproduces every decoded weight bit for bit.
        const std::int64_t out = 70, in = 45;
        Problem p = makeProblem(out, in, in, 1225, 3, 99);
        std::fill(p.x.begin(), p.x.end(), 0.f);
        for (std::int64_t t = 0; t < in; ++t)
            p.x[t * in + t] = 1.f;
        std::vector<float> y(static_cast<std::size_t>(in * out));
        cudatiles::TileArgs a = argsFor(p, y.data());
        a.bias = nullptr;
        cudatiles::emulateHyperLinearCudaTiles<cudatiles::Fp32Math>(a, true);
        std::vector<float> dense(static_cast<std::size_t>(out * in));
        decodeDenseWeight(p.weight, dense.data());
        for (std::int64_t o = 0; o < out; ++o)
            for (std::int64_t k = 0; k < in; ++k)
                QCOMPARE(y[k * out + o], dense[o * in + k]);
    }

    void operandRoundingMatchesTheHardware()
    {
        // cvt.rna.tf32.f32: ties away from zero on the 13 dropped bits; bf16: ties to even.
        QCOMPARE(cudatiles::toTf32(1.f + 0x1p-11f), 1.f + 0x1p-10f);
        QCOMPARE(cudatiles::toTf32(1.f + 0x1p-12f), 1.f);
        QCOMPARE(cudatiles::toTf32(-(1.f + 0x1p-11f)), -(1.f + 0x1p-10f));
        QCOMPARE(cudatiles::fromBf16(cudatiles::toBf16(1.f + 0x1p-8f)), 1.f);
        QCOMPARE(cudatiles::fromBf16(cudatiles::toBf16(1.f + 0x1p-7f + 0x1p-8f)), 1.f + 0x1p-6f);
        QVERIFY(std::isnan(cudatiles::fromBf16(cudatiles::toBf16(NAN))));
    }

    void sharedMemoryFitsTheTargets()
    {
        // Without the table the kernel needs well under 48 KiB (any sm_80/sm_90 block); the
        // paper's largest table (U = 1600, K = 3: 51 KiB) still fits sm_80's 163 KiB opt-in.
        QVERIFY(cudatiles::smemLayout<cudatiles::Fp32Math>(0).total <= 48 * 1024);
        QVERIFY(cudatiles::smemLayout<cudatiles::Bf16Math>(0).total <= 48 * 1024);
        QVERIFY(cudatiles::smemLayout<cudatiles::Fp32Math>(1600 * 4 * 8).total <= 163 * 1024);
    }
};

BIRKHOFF_REGISTER_TEST(TestHyperLinearCudaTiles);
#include "test_hyperlinear_cuda_tiles.moc"
