// Reads safetensors files written by the Python reference tooling (the golden folder) and
// checks dtypes and shapes against their manifests.
#include "core/io/safetensors.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QDir>
#include <QTest>

using namespace birkhoff::io;

class TestSafetensorsGolden : public QObject {
    Q_OBJECT
private slots:
    void readsEveryGoldenFile()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff");
        QDir dir(birkhoff::test::goldenPath(QStringLiteral("birkhoff")));
        const QStringList files = dir.entryList({QStringLiteral("*.safetensors")}, QDir::Files);
        QVERIFY(files.size() >= 20);
        for (const QString& f : files) {
            const SafetensorsContent c = readSafetensors(dir.filePath(f).toStdString());
            QVERIFY2(!c.tensors.empty(), qPrintable(f));
        }
    }

    void specExampleHyperFileHasAuthorsLayout()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/s_spec_example.hyper.safetensors");
        const SafetensorsContent c = readSafetensors(
            birkhoff::test::goldenPath(QStringLiteral("birkhoff/s_spec_example.hyper.safetensors")).toStdString());
        const auto& t = c.tensors;
        QCOMPARE(t.at("rect_l").scalar_type(), at::kFloat);
        QCOMPARE(t.at("rect_l").dim(), int64_t(0));
        QCOMPARE(t.at("num_inner_list").scalar_type(), at::kLong);
        const at::Tensor idx = t.at("lin.weight.encoded_index");
        QCOMPARE(idx.scalar_type(), at::kByte);
        const std::vector<int64_t> bytes(idx.data_ptr<uint8_t>(), idx.data_ptr<uint8_t>() + idx.numel());
        QCOMPARE(bytes, (std::vector<int64_t>{40, 194, 40, 11, 188, 18, 31, 112, 77}));
        QCOMPARE(int(t.at("lin.weight.uint_i").item<uint8_t>()), 12);
        QCOMPARE(int(t.at("lin.weight.U").item<uint8_t>()), 1);
        QCOMPARE(int(t.at("lin.weight.K").item<uint8_t>()), 1);
    }
};

BIRKHOFF_REGISTER_TEST(TestSafetensorsGolden);
#include "test_safetensors_golden.moc"
