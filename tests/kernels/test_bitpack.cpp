// Bit packing in the authors' layout (MSB first, zero bits prepended): round trips and the
// worked example of birkhoff-spec.md section 7.
#include "kernels/bitpack.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <random>
#include <vector>

using namespace birkhoff::kernels;

class TestBitpack : public QObject {
    Q_OBJECT
private slots:
    void specWorkedExample()
    {
        const std::vector<std::uint32_t> indices{652, 552, 187, 3090, 503, 77};
        QCOMPARE(bitWidthFor(3090), 12u);
        std::vector<std::uint8_t> bytes(packedByteCount(indices.size(), 12));
        const unsigned pad = packIndices(indices.data(), indices.size(), 12, bytes.data());
        QCOMPARE(pad, 0u);
        const std::vector<std::uint8_t> expected{40, 194, 40, 11, 188, 18, 31, 112, 77};
        QCOMPARE(bytes, expected);
    }

    void paddingIsPrepended()
    {
        // 3 indices of 11 bits = 33 bits -> 7 zero bits in front, 5 bytes.
        const std::vector<std::uint32_t> indices{2047, 0, 1};
        QCOMPARE(packedPaddingBits(3, 11), 7u);
        std::vector<std::uint8_t> bytes(packedByteCount(3, 11));
        QCOMPARE(bytes.size(), std::size_t(5));
        packIndices(indices.data(), 3, 11, bytes.data());
        QCOMPARE(int(bytes[0]), 0x01);  // 7 padding zeros, then the top bit of 2047
        std::vector<std::uint32_t> back(3);
        unpackIndices(bytes.data(), 11, 7, 3, back.data());
        QCOMPARE(back, indices);
    }

    void roundTripAllWidths()
    {
        std::mt19937 rng(7);
        for (unsigned bits = 1; bits <= 32; ++bits) {
            for (std::size_t count : {std::size_t(1), std::size_t(7), std::size_t(8), std::size_t(1001)}) {
                std::vector<std::uint32_t> v(count);
                const std::uint64_t limit = (bits == 32) ? 0xffffffffull : ((1ull << bits) - 1);
                for (auto& x : v)
                    x = static_cast<std::uint32_t>(rng() % (limit + 1));
                std::vector<std::uint8_t> bytes(packedByteCount(count, bits));
                const unsigned pad = packIndices(v.data(), count, bits, bytes.data());
                std::vector<std::uint32_t> back(count);
                unpackIndices(bytes.data(), bits, pad, count, back.data());
                QCOMPARE(back, v);
            }
        }
    }

    void bitWidthRule()
    {
        QCOMPARE(bitWidthFor(0), 1u);
        QCOMPARE(bitWidthFor(1), 1u);
        QCOMPARE(bitWidthFor(2), 2u);
        QCOMPARE(bitWidthFor(1224), 11u);
        QCOMPARE(bitWidthFor(2047), 11u);
        QCOMPARE(bitWidthFor(2048), 12u);
        QCOMPARE(bitWidthFor(4899), 13u);
    }
};

BIRKHOFF_REGISTER_TEST(TestBitpack);
#include "test_bitpack.moc"
