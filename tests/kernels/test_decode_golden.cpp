// The trajectory step vector a_jump must equal, bit for bit, what the authors' encoder
// computed (golden/birkhoff/manifest.json, "codebook_a_jump"), including the cases where it is
// one ulp above fl(l/s^2), fl(l/s).
#include "kernels/decode.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QFile>
#include <QTest>

#include <nlohmann/json.hpp>

#include <cstring>

using namespace birkhoff::kernels;

class TestDecodeGolden : public QObject {
    Q_OBJECT
private slots:
    void aJumpMatchesOfficialEncoder()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/manifest.json");
        QFile f(birkhoff::test::goldenPath(QStringLiteral("birkhoff/manifest.json")));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const auto manifest = nlohmann::json::parse(f.readAll().toStdString());
        const auto& table = manifest.at("codebook_a_jump");
        int checked = 0;
        for (auto lIt = table.begin(); lIt != table.end(); ++lIt) {
            for (auto uIt = lIt.value().begin(); uIt != lIt.value().end(); ++uIt) {
                const auto& rec = uIt.value();
                const std::uint32_t lBits = rec.at("rect_l_f32_bits").get<std::uint32_t>();
                float l;
                std::memcpy(&l, &lBits, 4);
                const auto U = static_cast<std::uint32_t>(std::stoul(uIt.key()));
                float a[2];
                computeAJump(l, U, a);
                std::uint32_t got[2];
                std::memcpy(got, a, 8);
                const auto expected = rec.at("a_jump_bits");
                QCOMPARE(got[0], expected.at(0).get<std::uint32_t>());
                QCOMPARE(got[1], expected.at(1).get<std::uint32_t>());
                float half = l / 2.f;
                QCOMPARE(double(half), rec.at("half_l_f32").get<double>());
                ++checked;
            }
        }
        QCOMPARE(checked, 4);
    }
};

BIRKHOFF_REGISTER_TEST(TestDecodeGolden);
#include "test_decode_golden.moc"
