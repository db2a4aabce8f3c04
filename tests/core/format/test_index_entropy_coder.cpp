// Extension "entropy_coded": lossless round trips, a size close to the entropy of the source
// (computed from its probabilities, not from the coder), and corrupt streams refused or decoded
// to in-range indices without crashing.
#include "core/format/index_entropy_coder.h"
#include "core/util/error.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cmath>
#include <random>
#include <vector>

using namespace birkhoff;
using namespace birkhoff::format;

namespace {

/// Probabilities of a discrete Gaussian of deviation `sigma` (in bins) centred on bin side/2.
std::vector<double> discreteGaussian(std::uint32_t side, double sigma)
{
    std::vector<double> p(side);
    double sum = 0;
    for (std::uint32_t i = 0; i < side; ++i) {
        const double d = (static_cast<double>(i) - side / 2.0) / sigma;
        p[i] = std::exp(-0.5 * d * d);
        sum += p[i];
    }
    for (double& v : p)
        v /= sum;
    return p;
}

double entropyBits(const std::vector<double>& p)
{
    double h = 0;
    for (double v : p)
        if (v > 0)
            h -= v * std::log2(v);
    return h;
}

}  // namespace

class TestIndexEntropyCoder : public QObject {
    Q_OBJECT
private slots:
    void roundTripsEveryShape_data()
    {
        QTest::addColumn<unsigned>("U");
        QTest::addColumn<unsigned>("K");
        QTest::addColumn<qint64>("count");
        QTest::newRow("empty") << 1600u << 0u << qint64(0);
        QTest::newRow("one") << 4u << 0u << qint64(1);
        QTest::newRow("U=1") << 1u << 0u << qint64(100);
        QTest::newRow("U=1600 K=0") << 1600u << 0u << qint64(50000);
        QTest::newRow("U=1225 K=3") << 1225u << 3u << qint64(30001);
        QTest::newRow("U=16384 K=2") << 16384u << 2u << qint64(200000);
    }

    void roundTripsEveryShape()
    {
        QFETCH(unsigned, U);
        QFETCH(unsigned, K);
        QFETCH(qint64, count);
        const auto side = static_cast<std::uint32_t>(std::lround(std::sqrt(double(U))));
        std::mt19937 rng(U + K + static_cast<unsigned>(count));
        std::normal_distribution<double> coordinate(side / 2.0, side / 8.0 + 0.5);
        std::uniform_int_distribution<std::uint32_t> any(0, U * (K + 1) - 1);
        std::vector<std::uint32_t> indices(static_cast<std::size_t>(count));
        for (std::size_t i = 0; i < indices.size(); ++i) {
            if (i % 97 == 0) {  // a few anywhere, rings included
                indices[i] = any(rng);
                continue;
            }
            auto bin = [&] {
                return static_cast<std::uint32_t>(std::clamp(std::lround(coordinate(rng)), 0L, long(side) - 1));
            };
            indices[i] = bin() * side + bin();
        }
        const std::vector<std::uint8_t> bytes = encodeIndexStream(indices.data(), indices.size(), U, K);
        std::vector<std::uint32_t> back(indices.size(), 0xFFFFFFFFu);
        decodeIndexStream(bytes.data(), bytes.size(), back.size(), U, K, back.data());
        QVERIFY(back == indices);
    }

    // i.i.d. coordinates of known entropy H per coordinate: the coder spends between H and
    // H + 2% per coordinate (plus its 5 flush bytes) once the adaptive models have settled.
    void sizeIsCloseToTheEntropy_data()
    {
        QTest::addColumn<unsigned>("side");
        QTest::addColumn<double>("sigma");
        QTest::newRow("sharp") << 40u << 1.0;
        QTest::newRow("medium") << 64u << 4.0;
        QTest::newRow("wide") << 128u << 20.0;
    }

    void sizeIsCloseToTheEntropy()
    {
        QFETCH(unsigned, side);
        QFETCH(double, sigma);
        const std::vector<double> p = discreteGaussian(side, sigma);
        const double h = entropyBits(p);
        std::mt19937 rng(side);
        std::discrete_distribution<std::uint32_t> pick(p.begin(), p.end());
        const std::size_t count = 400000;
        std::vector<std::uint32_t> indices(count);
        for (auto& t : indices)
            t = pick(rng) * side + pick(rng);
        const std::vector<std::uint8_t> bytes = encodeIndexStream(indices.data(), count, side * side, 0);
        const double bitsPerCoordinate = 8.0 * static_cast<double>(bytes.size() - 5) / (2.0 * count);
        QVERIFY2(bitsPerCoordinate >= h * 0.995 && bitsPerCoordinate <= h * 1.02 + 0.01,
                 qPrintable(QStringLiteral("%1 bits per coordinate, entropy %2").arg(bitsPerCoordinate).arg(h)));
    }

    void refusesBadInput()
    {
        const std::uint32_t tooLarge[] = {5, 1600};
        QVERIFY_THROWS_EXCEPTION(Error, encodeIndexStream(tooLarge, 2, 1600, 0));
        QVERIFY_THROWS_EXCEPTION(Error, encodeIndexStream(tooLarge, 1, 1000, 0));  // not a square

        // A stream cut short is refused.
        std::vector<std::uint32_t> indices(5000);
        for (std::size_t i = 0; i < indices.size(); ++i)
            indices[i] = static_cast<std::uint32_t>((i * 7919) % 1600);
        const std::vector<std::uint8_t> bytes = encodeIndexStream(indices.data(), indices.size(), 1600, 0);
        std::vector<std::uint32_t> out(indices.size());
        QVERIFY_THROWS_EXCEPTION(Error, decodeIndexStream(bytes.data(), bytes.size() / 2, out.size(), 1600, 0, out.data()));

        // Garbage either fails cleanly or decodes to indices inside the lattice.
        std::mt19937 rng(7);
        std::uniform_int_distribution<int> byte(0, 255);
        for (int trial = 0; trial < 50; ++trial) {
            std::vector<std::uint8_t> junk(64 + trial * 13);
            for (auto& b : junk)
                b = static_cast<std::uint8_t>(byte(rng));
            std::vector<std::uint32_t> decoded(300, 0);
            try {
                decodeIndexStream(junk.data(), junk.size(), decoded.size(), 1225, 2, decoded.data());
            } catch (const Error&) {
                continue;
            }
            for (std::uint32_t t : decoded)
                QVERIFY(t < 1225u * 3u);
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestIndexEntropyCoder);
#include "test_index_entropy_coder.moc"
