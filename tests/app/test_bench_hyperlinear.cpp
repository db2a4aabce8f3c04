// `birkhoff bench hyperlinear`: the JSON records carry every field the issue asks for, with
// consistent values, and bad options are usage errors (exit 2). Timings are not asserted.
#include "tests/app/cli_runner.h"
#include "tests/support/test_registry.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using birkhoff::test::runCli;

class TestBenchHyperLinearCli : public QObject {
    Q_OBJECT
private slots:
    void jsonRecords()
    {
        const auto r = runCli({QStringLiteral("bench"), QStringLiteral("hyperlinear"), QStringLiteral("--json"),
                               QStringLiteral("--quiet"), QStringLiteral("--shapes"), QStringLiteral("mobilesam"),
                               QStringLiteral("--tokens"), QStringLiteral("1,3"), QStringLiteral("--cache"),
                               QStringLiteral("hot"), QStringLiteral("--rounds"), QStringLiteral("1"),
                               QStringLiteral("--seconds"), QStringLiteral("0")});
        QCOMPARE(r.exitCode, 0);
        const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8());
        QVERIFY2(doc.isArray(), qPrintable(r.out));
        const QJsonArray records = doc.array();
        QCOMPARE(records.size(), 5 * 2);  // 5 MobileSAM shapes x 2 token counts
        for (const auto& v : records) {
            const QJsonObject o = v.toObject();
            for (const char* key : {"shape", "tokens", "dense_ms", "decode_then_dense_ms", "hyperlinear_ms", "ratio",
                                    "dense_weight_bytes", "hyper_weight_bytes", "threads", "isa"})
                QVERIFY2(o.contains(QLatin1String(key)), key);
            const QStringList shape = o.value(QStringLiteral("shape")).toString().split(QLatin1Char('x'));
            QCOMPARE(shape.size(), 2);
            const double denseBytes = shape[0].toDouble() * shape[1].toDouble() * 4;
            QCOMPARE(o.value(QStringLiteral("dense_weight_bytes")).toDouble(), denseBytes);
            // uint16 index per weight pair (dense / 4), the float32 bias, and the decode table a
            // kernel may build (on AVX2 it does): at most U * (K + 1) pairs of float32 with the
            // bench's paper-default settings, U <= 1600 and K <= 3.
            const double decodeTableBytes = 1600.0 * 4 * 2 * 4;
            const double hyperBound = denseBytes / 4 + shape[0].toDouble() * 4 + decodeTableBytes;
            QVERIFY2(o.value(QStringLiteral("hyper_weight_bytes")).toDouble() <= hyperBound,
                     qPrintable(QStringLiteral("%1: %2 bytes").arg(o.value(QStringLiteral("shape")).toString())
                                    .arg(o.value(QStringLiteral("hyper_weight_bytes")).toDouble())));
            QVERIFY(o.value(QStringLiteral("dense_ms")).toDouble() > 0);
            QCOMPARE(o.value(QStringLiteral("ratio")).toDouble(),
                     o.value(QStringLiteral("hyperlinear_ms")).toDouble() / o.value(QStringLiteral("dense_ms")).toDouble());
            QVERIFY(o.value(QStringLiteral("rel_err")).toDouble() <= 1e-5);
        }
    }

    void badOptionsAreUsageErrors()
    {
        for (const QStringList& extra : {QStringList{QStringLiteral("--tokens"), QStringLiteral("0")},
                                         QStringList{QStringLiteral("--cache"), QStringLiteral("warm")},
                                         QStringList{QStringLiteral("--isa"), QStringLiteral("sse9")}}) {
            const auto r = runCli(QStringList{QStringLiteral("bench"), QStringLiteral("hyperlinear")} + extra);
            QCOMPARE(r.exitCode, 2);
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestBenchHyperLinearCli);
#include "test_bench_hyperlinear.moc"
