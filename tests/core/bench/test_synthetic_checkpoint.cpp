// The benchmark's synthetic SAM ViT-B checkpoint has exactly the keys, shapes, order and
// parameter/buffer split of ../shared/docs/sam-keys/sam1_vit_b.tsv, and Linear-weight roles
// exactly where the owning module is an nn.Linear.
#include "core/bench/synthetic_checkpoint.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QFile>
#include <QTest>

using namespace birkhoff;

class TestSyntheticCheckpoint : public QObject {
    Q_OBJECT
private slots:
    void vitBMatchesTheKeyTable()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam1_vit_b.tsv");
        QFile f(test::sharedPath(QStringLiteral("docs/sam-keys/sam1_vit_b.tsv")));
        QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
        const auto spec = bench::samVitBSpec();
        std::size_t row = 0;
        std::int64_t total = 0;
        while (!f.atEnd()) {
            const QString line = QString::fromUtf8(f.readLine()).trimmed();
            if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
                continue;
            const QStringList cols = line.split(QLatin1Char('\t'));
            QCOMPARE(cols.size(), 4);
            QVERIFY2(row < spec.size(), qPrintable(cols[0]));
            const auto& s = spec[row++];
            QCOMPARE(QString::fromStdString(s.name), cols[0]);
            QString shape = QStringLiteral("[");
            for (std::size_t i = 0; i < s.shape.size(); ++i)
                shape += (i ? QStringLiteral(", ") : QString()) + QString::number(s.shape[i]);
            shape += QLatin1Char(']');
            QCOMPARE(shape, cols[1]);
            QCOMPARE(s.role == codec::TensorRole::Buffer, cols[2] == QLatin1String("buffer"));
            const bool linearWeight = cols[3] == QLatin1String("Linear") && cols[0].endsWith(QLatin1String(".weight"));
            QCOMPARE(s.role == codec::TensorRole::LinearWeight, linearWeight);
            std::int64_t n = 1;
            for (auto d : s.shape)
                n *= d;
            if (s.role != codec::TensorRole::Buffer)
                total += n;
        }
        QCOMPARE(row, spec.size());
        QCOMPARE(total, std::int64_t(93735472));  // the table's parameter count (buffers excluded)
    }

    void valuesAreDeterministic()
    {
        std::vector<bench::SyntheticTensorSpec> spec = {
            {"a.weight", {64, 32}, codec::TensorRole::LinearWeight, bench::ValueKind::LinearOrConvWeight},
            {"a.norm", {32}, codec::TensorRole::Parameter, bench::ValueKind::NormWeight}};
        const auto x = bench::makeSyntheticCheckpoint(spec, 3);
        const auto y = bench::makeSyntheticCheckpoint(spec, 3);
        QVERIFY(x.at("a.weight").equal(y.at("a.weight")));
        QVERIFY(std::fabs(x.at("a.norm").mean().item<double>() - 1.0) < 0.1);
    }
};

BIRKHOFF_REGISTER_TEST(TestSyntheticCheckpoint);
#include "test_synthetic_checkpoint.moc"
