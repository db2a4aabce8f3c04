// CPU HyperLinear kernel (kernels/hyperlinear.h): the run-time index layout, input validation,
// bit-exact weights on every instruction-set path, and agreement with the plain reference
// (relative error <= 1e-5) for shapes that are not multiples of the tiles, odd `in`, any token
// count, K = 0..3 and several U, with 1..3 threads.
#include "kernels/bitpack.h"
#include "kernels/hyperlinear.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

using namespace birkhoff::kernels;

namespace {

/// A random compressed weight: lattice around a random centroid, indices uniform over all rings.
struct RandomWeight {
    LatticeParams lattice;
    std::vector<std::uint32_t> indices;  // row-major [out, ceil(in/2)]
};

RandomWeight makeRandomWeight(std::int64_t out, std::int64_t in, std::uint32_t U, std::uint32_t K, float l,
                              std::uint32_t maxIndex, std::mt19937& rng)
{
    std::uniform_real_distribution<float> centre(-0.02f, 0.02f);
    const float c[2] = {centre(rng), centre(rng)};
    const float far[2] = {c[0] + 0.31f, c[1] - 0.17f};
    RandomWeight w;
    w.lattice = makeLatticeParams(l, U, K, c, far);
    const std::int64_t pairs = (in + 1) / 2;
    std::uniform_int_distribution<std::uint32_t> pick(0, maxIndex);
    w.indices.resize(static_cast<std::size_t>(out * pairs));
    for (auto& t : w.indices)
        t = pick(rng);
    return w;
}

std::uint32_t bitsOf(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

QString isaLabel(CpuIsa isa)
{
    return QString::fromStdString(cpuIsaName(isa));
}

}  // namespace

class TestHyperLinear : public QObject {
    Q_OBJECT
private slots:
    void layoutHoldsTheIndices()
    {
        std::mt19937 rng(7);
        for (const auto& [out, in] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {17, 5}, {40, 768}, {100, 33}}) {
            const RandomWeight rw = makeRandomWeight(out, in, 1225, 2, 0.1f, 1225 * 3 - 1, rng);
            const HyperLinearWeight w = HyperLinearWeight::fromIndices(rw.indices.data(), out, in, rw.lattice);
            const std::int64_t pairs = (in + 1) / 2;
            QCOMPARE(w.pairsPerRow(), pairs);
            std::uint32_t maxIndex = 0;
            for (std::int64_t r = 0; r < out; ++r) {
                for (std::int64_t p = 0; p < pairs; ++p) {
                    QCOMPARE(w.indexAt(r, p), rw.indices[r * pairs + p]);
                    maxIndex = std::max(maxIndex, rw.indices[r * pairs + p]);
                }
            }
            QCOMPARE(w.bits(), bitWidthFor(maxIndex));
            // The stream is the packed indices (15 zero-index padding rows at most), nothing else.
            const std::size_t expected = static_cast<std::size_t>((out + 15) / 16 * 16 * pairs) * w.bits() / 8;
            QCOMPARE(w.groupedIndices().size(), expected);
            QCOMPARE(w.storageBytes(), expected);
        }
    }

    void packedStreamEqualsIndices()
    {
        // The authors' on-disk stream (MSB first, zero bits prepended) gives the same layout.
        std::mt19937 rng(11);
        for (unsigned fileBits : {12u, 13u, 16u}) {
            const std::int64_t out = 37, in = 21, pairs = 11;
            const RandomWeight rw = makeRandomWeight(out, in, 1600, 1, 0.1f, 3199, rng);
            std::vector<std::uint8_t> stream(packedByteCount(rw.indices.size(), fileBits));
            const unsigned pad = packIndices(rw.indices.data(), rw.indices.size(), fileBits, stream.data());
            const HyperLinearWeight a = HyperLinearWeight::fromPackedStream(stream.data(), stream.size(), fileBits, pad,
                                                                            out, in, rw.lattice);
            const HyperLinearWeight b = HyperLinearWeight::fromIndices(rw.indices.data(), out, in, rw.lattice);
            QCOMPARE(a.groupedIndices(), b.groupedIndices());
            QVERIFY(a.bits() <= fileBits);
            QCOMPARE(a.indexAt(36, 10), rw.indices[36 * pairs + 10]);
        }
    }

    void rejectsCorruptInput()
    {
        const float c[2] = {0.f, 0.f}, far[2] = {0.3f, 0.f};
        const LatticeParams p = makeLatticeParams(0.1f, 225, 1, c, far);
        std::vector<std::uint32_t> indices(4, 3);
        indices[2] = 450;  // = U * (K + 1): no such index
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, HyperLinearWeight::fromIndices(indices.data(), 2, 4, p));
        indices[2] = 449;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, HyperLinearWeight::fromIndices(indices.data(), 0, 4, p));
        std::vector<std::uint8_t> stream(packedByteCount(4, 9));
        const unsigned pad = packIndices(indices.data(), 4, 9, stream.data());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 HyperLinearWeight::fromPackedStream(stream.data(), stream.size() - 1, 9, pad, 2, 4, p));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 HyperLinearWeight::fromPackedStream(stream.data(), stream.size(), 9, pad + 1, 2, 4, p));
        const LatticeParams badU = makeLatticeParams(0.1f, kMaxU + 1, 0, c, far);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, HyperLinearWeight::fromIndices(indices.data(), 2, 4, badU));
        const HyperLinearWeight ok = HyperLinearWeight::fromPackedStream(stream.data(), stream.size(), 9, pad, 2, 4, p);
        QCOMPARE(ok.indexAt(1, 0), 449u);
    }

    void decodeDenseIsBitExact()
    {
        std::mt19937 rng(3);
        const RandomWeight rw = makeRandomWeight(50, 77, 1225, 3, 0.1f, 1225 * 4 - 1, rng);
        for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2Fma, CpuIsa::Portable}) {
            const HyperLinearWeight w = HyperLinearWeight::fromIndices(rw.indices.data(), 50, 77, rw.lattice);
            std::vector<float> dense(50 * 77, NAN);
            HyperLinearOptions options;
            options.isa = isa;
            options.threads = 2;
            decodeDenseWeight(w, dense.data(), options);
            for (std::int64_t r = 0; r < 50; ++r) {
                for (std::int64_t k = 0; k < 77; ++k) {
                    float pair[2];
                    decodeIndex(rw.lattice, rw.indices[r * 39 + k / 2], pair);
                    QCOMPARE(bitsOf(dense[r * 77 + k]), bitsOf(pair[k % 2]));
                }
            }
            // Only the table decoders keep a table besides the stream.
            if (effectiveHyperLinearIsa(isa) == CpuIsa::Avx512 && w.avx512Decode() != VectorDecode::Table)
                QCOMPARE(w.storageBytes(), w.groupedIndices().size());
            else
                QCOMPARE(w.storageBytes(), w.groupedIndices().size() + 2 * decodeTableEntries(rw.lattice) * sizeof(float));
        }
    }

    void weightsAreBitExact_data()
    {
        QTest::addColumn<int>("isa");
        QTest::addColumn<unsigned>("U");
        QTest::addColumn<unsigned>("K");
        QTest::addColumn<float>("l");
        QTest::addColumn<float>("centre");
        for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2Fma, CpuIsa::Avx512}) {
            for (unsigned U : {225u, 1225u, 1600u, 4096u}) {
                for (unsigned K : {0u, 1u, 3u}) {
                    QTest::addRow("%s U=%u K=%u", qPrintable(isaLabel(isa)), U, K)
                        << int(isa) << U << K << 0.1f << 0.001f;
                }
            }
            // LayerNorm-like centroid and other side lengths.
            QTest::addRow("%s U=1225 K=2 c=1", qPrintable(isaLabel(isa))) << int(isa) << 1225u << 2u << 0.1f << 1.0f;
            QTest::addRow("%s U=1600 K=1 l=0.8", qPrintable(isaLabel(isa))) << int(isa) << 1600u << 1u << 0.8f << 0.f;
            QTest::addRow("%s U=1225 K=3 l=0.05", qPrintable(isaLabel(isa))) << int(isa) << 1225u << 3u << 0.05f << -0.01f;
        }
    }

    void weightsAreBitExact()
    {
        // x = identity: y[t, o] = 1 * W[o, t] plus exact zeros, so y reproduces the decoded
        // weights bit for bit on every path (and every index value is met).
        QFETCH(int, isa);
        QFETCH(unsigned, U);
        QFETCH(unsigned, K);
        QFETCH(float, l);
        QFETCH(float, centre);
        // 16 rows x pairs >= U*(K+1) index slots, odd `in`: every index value occurs.
        const std::int64_t in = 2 * ((U * (K + 1) + 15) / 16) + 1;
        const std::int64_t out = 16;
        const std::int64_t pairs = (in + 1) / 2;
        const float c[2] = {centre, -centre};
        const float far[2] = {centre + 0.7f * l + 0.2f, -centre - 0.1f};
        const LatticeParams lattice = makeLatticeParams(l, U, K, c, far);
        std::vector<std::uint32_t> indices(out * pairs);
        const std::uint32_t limit = U * (K + 1);
        for (std::size_t i = 0; i < indices.size(); ++i)
            indices[i] = static_cast<std::uint32_t>((i * 7919) % limit);
        const HyperLinearWeight w = HyperLinearWeight::fromIndices(indices.data(), out, in, lattice);
        std::vector<float> x(in * in, 0.f), y(in * out, NAN);
        for (std::int64_t t = 0; t < in; ++t)
            x[t * in + t] = 1.f;
        HyperLinearOptions options;
        options.isa = static_cast<CpuIsa>(isa);
        hyperLinearForward(w, x.data(), in, nullptr, y.data(), options);
        for (std::int64_t o = 0; o < out; ++o) {
            for (std::int64_t k = 0; k < in; ++k) {
                float pair[2];
                decodeIndex(lattice, indices[o * pairs + k / 2], pair);
                if (bitsOf(y[k * out + o]) != bitsOf(pair[k % 2]))
                    QFAIL(qPrintable(QStringLiteral("row %1, column %2: %3 instead of %4 (decoder %5)")
                                         .arg(o)
                                         .arg(k)
                                         .arg(double(y[k * out + o]), 0, 'g', 9)
                                         .arg(double(pair[k % 2]), 0, 'g', 9)
                                         .arg(int(w.avx512Decode()))));
            }
        }
    }

    void allIndexWidthsUnpack()
    {
        // Every bit width 1..23 through the vector unpacker: U = 65536 with as many rings as the
        // width needs (23 bits: indices up to 65536 * 65 - 1).
        std::mt19937 rng(5);
        const float c[2] = {0.f, 0.f}, far[2] = {2.f, 1.f};
        const std::int64_t out = 16, in = 6;
        for (unsigned bits = 1; bits <= kMaxHyperIndexBits; ++bits) {
            const std::uint32_t rings = bits <= 16 ? 0 : std::min<std::uint32_t>((1u << (bits - 16)) - 1, kMaxRings);
            const LatticeParams lattice = makeLatticeParams(0.1f, 65536, rings, c, far);
            const std::uint32_t top = std::min<std::uint32_t>(1u << bits, 65536 * (rings + 1)) - 1;
            std::vector<std::uint32_t> indices(out * 3);
            std::uniform_int_distribution<std::uint32_t> pick(0, top);
            for (auto& t : indices)
                t = pick(rng);
            indices[0] = top;
            const HyperLinearWeight w = HyperLinearWeight::fromIndices(indices.data(), out, in, lattice);
            QCOMPARE(w.bits(), bits);
            std::vector<float> x(in * in, 0.f), y(in * out);
            for (std::int64_t t = 0; t < in; ++t)
                x[t * in + t] = 1.f;
            hyperLinearForward(w, x.data(), in, nullptr, y.data());
            for (std::int64_t o = 0; o < out; ++o) {
                for (std::int64_t k = 0; k < in; ++k) {
                    float pair[2];
                    decodeIndex(lattice, indices[o * 3 + k / 2], pair);
                    QVERIFY2(bitsOf(y[k * out + o]) == bitsOf(pair[k % 2]),
                             qPrintable(QStringLiteral("bits %1 row %2 column %3").arg(bits).arg(o).arg(k)));
                }
            }
        }
        if (hardwareCpuIsa() != CpuIsa::Avx512)
            BIRKHOFF_SKIP(QStringLiteral("no AVX-512 on this CPU: the vector unpacker was not exercised"));
    }

    void matchesReference_data()
    {
        QTest::addColumn<int>("isa");
        QTest::addColumn<qint64>("out");
        QTest::addColumn<qint64>("in");
        QTest::addColumn<qint64>("tokens");
        QTest::addColumn<unsigned>("U");
        QTest::addColumn<unsigned>("K");
        QTest::addColumn<int>("threads");
        struct Shape {
            qint64 out, in, tokens;
            unsigned U, K;
            int threads;
        };
        // Not multiples of 16/32 rows, odd in (padding column), in above both panel widths
        // (128 and 768 columns: several accumulation chunks), token counts 1, odd, 16, 4096.
        // (Small problems run on one thread whatever the count asked for.)
        const Shape shapes[] = {
            {1, 1, 1, 225, 0, 1},        {17, 3, 5, 225, 1, 2},       {33, 19, 13, 1225, 3, 3},
            {100, 301, 37, 1600, 2, 2},  {64, 768, 16, 1225, 1, 2},   {48, 1000, 27, 1600, 3, 2},
            {96, 769, 1, 1225, 0, 2},    {31, 257, 12, 1600, 1, 1},   {250, 130, 100, 1225, 2, 3},
            {40, 64, 4096, 1225, 1, 2},  {7, 1537, 25, 225, 3, 2},    {160, 96, 2, 1600, 0, 2},
            // Enough work for several threads: few tokens, and token ranges split across threads.
            {512, 512, 5, 1225, 1, 2},   {16, 128, 4096, 1225, 1, 2}, {20, 200, 1000, 1600, 3, 3},
        };
        for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2Fma, CpuIsa::Avx512}) {
            for (const Shape& s : shapes) {
                QTest::addRow("%s %lldx%lld T=%lld U=%u K=%u threads=%d", qPrintable(isaLabel(isa)), s.out, s.in,
                              s.tokens, s.U, s.K, s.threads)
                    << int(isa) << s.out << s.in << s.tokens << s.U << s.K << s.threads;
            }
        }
    }

    void matchesReference()
    {
        QFETCH(int, isa);
        QFETCH(qint64, out);
        QFETCH(qint64, in);
        QFETCH(qint64, tokens);
        QFETCH(unsigned, U);
        QFETCH(unsigned, K);
        QFETCH(int, threads);
        std::mt19937 rng(static_cast<unsigned>(out * 131 + in * 7 + tokens));
        const RandomWeight rw = makeRandomWeight(out, in, U, K, 0.1f, U * (K + 1) - 1, rng);
        const HyperLinearWeight w = HyperLinearWeight::fromIndices(rw.indices.data(), out, in, rw.lattice);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> x(tokens * in), bias(out), y(tokens * out, NAN), ref(tokens * out);
        for (auto& v : x)
            v = normal(rng);
        for (auto& v : bias)
            v = 0.1f * normal(rng);
        hyperLinearReference(w, x.data(), tokens, bias.data(), ref.data());
        HyperLinearOptions options;
        options.isa = static_cast<CpuIsa>(isa);
        options.threads = threads;
        hyperLinearForward(w, x.data(), tokens, bias.data(), y.data(), options);
        double maxDiff = 0.0, maxRef = 0.0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            QVERIFY2(std::isfinite(y[i]), qPrintable(QStringLiteral("output %1 not written").arg(i)));
            maxDiff = std::max(maxDiff, std::abs(double(y[i]) - double(ref[i])));
            maxRef = std::max(maxRef, std::abs(double(ref[i])));
        }
        const double relative = maxDiff / maxRef;
        QVERIFY2(relative <= 1e-5, qPrintable(QStringLiteral("relative error %1").arg(relative)));
        // Without bias, and into an output holding garbage: nothing of it may leak through.
        std::fill(y.begin(), y.end(), 1e30f);
        hyperLinearForward(w, x.data(), tokens, nullptr, y.data(), options);
        for (std::size_t i = 0; i < y.size(); ++i) {
            const double expected = double(ref[i]) - double(bias[i % out]);
            QVERIFY(std::abs(double(y[i]) - expected) <= 1e-5 * maxRef + 1e-6);
        }
    }

    // Extension "row_scale": every ISA's forward and dense decode equal the unscaled weight
    // times the row's scale (dense: bit for bit; forward: the unscaled output times the scale,
    // within float32 summation error), and a bad scale vector is refused.
    void rowScaleMultipliesEachRow()
    {
        const std::int64_t out = 37, in = 301, tokens = 29;
        std::mt19937 rng(4242);
        const RandomWeight rw = makeRandomWeight(out, in, 1225, 2, 0.1f, 1225 * 3 - 1, rng);
        HyperLinearWeight plain = HyperLinearWeight::fromIndices(rw.indices.data(), out, in, rw.lattice);
        HyperLinearWeight scaled = HyperLinearWeight::fromIndices(rw.indices.data(), out, in, rw.lattice);
        std::vector<float> scale(out);
        std::uniform_real_distribution<float> pickScale(0.01f, 3.f);
        for (auto& v : scale)
            v = pickScale(rng);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, scaled.setRowScale(std::vector<float>(out - 1, 1.f)));
        std::vector<float> bad(scale);
        bad[5] = NAN;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, scaled.setRowScale(bad));
        scaled.setRowScale(scale);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> x(tokens * in);
        for (auto& v : x)
            v = normal(rng);
        for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2Fma, CpuIsa::Avx512}) {
            HyperLinearOptions options;
            options.isa = isa;
            options.threads = 2;
            std::vector<float> densePlain(out * in), denseScaled(out * in);
            decodeDenseWeight(plain, densePlain.data(), options);
            decodeDenseWeight(scaled, denseScaled.data(), options);
            for (std::int64_t i = 0; i < out * in; ++i)
                QCOMPARE(denseScaled[i], densePlain[i] * scale[i / in]);
            std::vector<float> yPlain(tokens * out), yScaled(tokens * out), ref(tokens * out);
            hyperLinearForward(plain, x.data(), tokens, nullptr, yPlain.data(), options);
            hyperLinearForward(scaled, x.data(), tokens, nullptr, yScaled.data(), options);
            hyperLinearReference(scaled, x.data(), tokens, nullptr, ref.data());
            double maxDiff = 0.0, maxRefDiff = 0.0, maxRef = 0.0;
            for (std::int64_t i = 0; i < tokens * out; ++i) {
                maxDiff = std::max(maxDiff, std::abs(double(yScaled[i]) - double(yPlain[i]) * scale[i % out]));
                maxRefDiff = std::max(maxRefDiff, std::abs(double(yScaled[i]) - double(ref[i])));
                maxRef = std::max(maxRef, std::abs(double(ref[i])));
            }
            QVERIFY2(maxDiff <= 1e-5 * maxRef, qPrintable(QStringLiteral("%1: scaled vs plain * scale %2")
                                                              .arg(isaLabel(isa)).arg(maxDiff / maxRef)));
            QVERIFY2(maxRefDiff <= 1e-5 * maxRef, qPrintable(QStringLiteral("%1: vs reference %2")
                                                                 .arg(isaLabel(isa)).arg(maxRefDiff / maxRef)));
        }
    }

    void effectiveIsaNeverExceedsTheHardware()
    {
        const CpuIsa hw = hardwareCpuIsa();
        QCOMPARE(effectiveHyperLinearIsa(CpuIsa::Avx512), hw);
        QCOMPARE(effectiveHyperLinearIsa(CpuIsa::Portable), CpuIsa::Portable);
        if (hw != CpuIsa::Avx512)
            BIRKHOFF_SKIP(QStringLiteral("this CPU has no AVX-512: the AVX-512 rows above ran the %1 path")
                              .arg(isaLabel(hw)));
    }

    void zeroTokensWritesNothing()
    {
        const float c[2] = {0.f, 0.f}, far[2] = {0.f, 0.f};
        const std::vector<std::uint32_t> indices(4, 1);
        const HyperLinearWeight w =
            HyperLinearWeight::fromIndices(indices.data(), 2, 4, makeLatticeParams(0.1f, 225, 0, c, far));
        hyperLinearForward(w, nullptr, 0, nullptr, nullptr);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, hyperLinearForward(w, nullptr, 1, nullptr, nullptr));
    }
};

BIRKHOFF_REGISTER_TEST(TestHyperLinear);
#include "test_hyperlinear.moc"
