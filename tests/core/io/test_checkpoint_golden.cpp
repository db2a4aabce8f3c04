// The real torch.save checkpoints in ../shared/golden (OrderedDict and {'model': ...}) load
// bit-exactly: sizes, hashes and entry/parameter counts match their manifests, and every tensor
// matches what Python's torch.load reads (name order, dtype, shape, SHA-256 of the bytes).
#include "core/io/checkpoint.h"
#include "tests/core/io/python_torch.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <ATen/ATen.h>

using birkhoff::io::Checkpoint;
using birkhoff::io::loadCheckpoint;

namespace {

QJsonObject readJson(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

QString sha256Of(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&f);
    return QString::fromLatin1(hash.result().toHex());
}

// Parameters = every element except the (persistent) buffers of the SAM families here.
std::int64_t parameterCount(const birkhoff::io::StateDict& sd)
{
    std::int64_t n = 0;
    for (const auto& e : sd)
        if (e.name.find("positional_encoding_gaussian_matrix") == std::string::npos)
            n += e.tensor.numel();
    return n;
}

}  // namespace

class TestCheckpointGolden : public QObject {
    Q_OBJECT
private slots:
    void filesMatchTheirManifests_data()
    {
        QTest::addColumn<QString>("dir");
        QTest::addColumn<QString>("checkpointKey");
        QTest::addColumn<QString>("wrapper");
        QTest::newRow("sam_vit_tiny raw") << QStringLiteral("sam_vit_tiny") << QStringLiteral("checkpoint_raw") << QString();
        QTest::newRow("sam_vit_tiny wrapped") << QStringLiteral("sam_vit_tiny") << QStringLiteral("checkpoint_wrapped") << QStringLiteral("model");
        QTest::newRow("window6 raw") << QStringLiteral("sam_vit_tiny/variant_window6") << QStringLiteral("checkpoint_raw") << QString();
        QTest::newRow("sam2_tiny") << QStringLiteral("sam2_tiny") << QStringLiteral("checkpoint") << QStringLiteral("model");
    }
    void filesMatchTheirManifests()
    {
        QFETCH(QString, dir);
        QFETCH(QString, checkpointKey);
        QFETCH(QString, wrapper);
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/manifest.json");
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/manifest.json");
        const QString base = birkhoff::test::goldenPath(dir);
        const QJsonObject weights = readJson(base + QStringLiteral("/manifest.json")).value(QStringLiteral("weights")).toObject();
        const QJsonObject file = weights.value(checkpointKey).toObject();
        const QString path = base + QLatin1Char('/') + file.value(QStringLiteral("file")).toString();
        QCOMPARE(sha256Of(path), file.value(QStringLiteral("sha256")).toString());

        const Checkpoint ckpt = loadCheckpoint(path.toStdString());
        QCOMPARE(ckpt.format, birkhoff::io::CheckpointFormat::PyTorchZip);
        QCOMPARE(static_cast<qint64>(ckpt.fileBytes), file.value(QStringLiteral("bytes")).toInteger());
        QCOMPARE(QString::fromStdString(ckpt.wrapper), wrapper);
        QCOMPARE(static_cast<qint64>(ckpt.tensors.size()), weights.value(QStringLiteral("state_dict_entries")).toInteger());
        QCOMPARE(parameterCount(ckpt.tensors), weights.value(QStringLiteral("num_parameters")).toInteger());
        QVERIFY(ckpt.notes.empty());
        for (const auto& e : ckpt.tensors)
            QVERIFY2(at::isfinite(e.tensor).all().item<bool>(), e.name.c_str());
    }

    void wrappedAndRawHoldTheSameTensors()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny_model_dict.pth");
        const Checkpoint raw = loadCheckpoint(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")).toStdString());
        const Checkpoint wrapped = loadCheckpoint(
            birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny_model_dict.pth")).toStdString());
        QCOMPARE(birkhoff::test::stateDictListing(wrapped.tensors), birkhoff::test::stateDictListing(raw.tensors));
    }

    void everyTensorMatchesPythonTorch_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("sam_vit_tiny") << QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth");
        QTest::newRow("sam_vit_tiny_model_dict") << QStringLiteral("sam_vit_tiny/sam_vit_tiny_model_dict.pth");
        QTest::newRow("window6") << QStringLiteral("sam_vit_tiny/variant_window6/sam_vit_tiny.pth");
        QTest::newRow("sam2_tiny") << QStringLiteral("sam2_tiny/sam2_tiny.pth");
    }
    void everyTensorMatchesPythonTorch()
    {
        QFETCH(QString, file);
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/manifest.json");
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/manifest.json");
        BIRKHOFF_REQUIRE_PYTHON_TORCH();
        const QString path = birkhoff::test::goldenPath(file);
        QString error;
        QStringList expected = birkhoff::test::pythonCheckpointListing(path, &error);
        QVERIFY2(expected.size() > 2, qPrintable(error));
        QCOMPARE(expected.takeFirst(), QStringLiteral("TYPE OrderedDict"));
        expected.takeFirst();
        const QStringList ours = birkhoff::test::stateDictListing(loadCheckpoint(path.toStdString()).tensors);
        QCOMPARE(ours.size(), expected.size());
        for (int i = 0; i < ours.size(); ++i)
            QCOMPARE(ours[i], expected[i]);
    }
};

BIRKHOFF_REGISTER_TEST(TestCheckpointGolden);
#include "test_checkpoint_golden.moc"
