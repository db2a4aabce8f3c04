// Family detection and tensor kinds: for every variant table in ../shared/docs/sam-keys a
// synthetic state dict with exactly those keys and shapes is detected as its family and variant,
// and every key's kind matches the owning module class (and param|buffer) column; unknown layouts
// fall back to the documented heuristic; the golden tiny models are detected as their families;
// officialCheck() names registered golden tests, or says "consistency only".
#include "core/io/checkpoint.h"
#include "core/models/family.h"
#include "core/util/error.h"
#include "tests/core/models/sam_keys.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QDirIterator>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

#include <ATen/ATen.h>

#include <map>

using namespace birkhoff::models;
using birkhoff::io::StateDict;

namespace {

struct Expected {
    FamilyId id;
    const char* variant;
};

const std::map<QString, Expected>& expectedFamilies()
{
    static const std::map<QString, Expected> m = {
        {QStringLiteral("sam1_vit_b.tsv"), {FamilyId::SamVit, "ViT-B"}},
        {QStringLiteral("sam1_vit_l.tsv"), {FamilyId::SamVit, "ViT-L"}},
        {QStringLiteral("sam1_vit_h.tsv"), {FamilyId::SamVit, "ViT-H"}},
        {QStringLiteral("samhq_vit_b.tsv"), {FamilyId::SamHq, "ViT-B"}},
        {QStringLiteral("samhq_vit_l.tsv"), {FamilyId::SamHq, "ViT-L"}},
        {QStringLiteral("samhq_vit_h.tsv"), {FamilyId::SamHq, "ViT-H"}},
        {QStringLiteral("samhq_vit_tiny.tsv"), {FamilyId::SamHq, "tiny"}},
        {QStringLiteral("sam2_t.tsv"), {FamilyId::Sam2, "Hiera-T"}},
        {QStringLiteral("sam2_s.tsv"), {FamilyId::Sam2, "Hiera-S"}},
        {QStringLiteral("sam2_b+.tsv"), {FamilyId::Sam2, "Hiera-B+"}},
        {QStringLiteral("sam2_l.tsv"), {FamilyId::Sam2, "Hiera-L"}},
        {QStringLiteral("sam2.1_t.tsv"), {FamilyId::Sam21, "Hiera-T"}},
        {QStringLiteral("sam2.1_s.tsv"), {FamilyId::Sam21, "Hiera-S"}},
        {QStringLiteral("sam2.1_b+.tsv"), {FamilyId::Sam21, "Hiera-B+"}},
        {QStringLiteral("sam2.1_l.tsv"), {FamilyId::Sam21, "Hiera-L"}},
        {QStringLiteral("mobilesam_vit_t.tsv"), {FamilyId::MobileSam, "vit_t"}},
        {QStringLiteral("tinysam_vit_t.tsv"), {FamilyId::MobileSam, "vit_t"}},
        {QStringLiteral("edgesam.tsv"), {FamilyId::EdgeSam, ""}},
        {QStringLiteral("efficientsam_vitt.tsv"), {FamilyId::EfficientSam, "Ti"}},
        {QStringLiteral("efficientsam_vits.tsv"), {FamilyId::EfficientSam, "S"}},
        {QStringLiteral("slimsam_vit_p50.tsv"), {FamilyId::SlimSam, "50"}},
        {QStringLiteral("slimsam_vit_p77.tsv"), {FamilyId::SlimSam, "77"}},
        {QStringLiteral("evitsam_l0.tsv"), {FamilyId::EfficientVitSam, "L0"}},
        {QStringLiteral("evitsam_l1.tsv"), {FamilyId::EfficientVitSam, "L1"}},
        {QStringLiteral("evitsam_l2.tsv"), {FamilyId::EfficientVitSam, "L2"}},
        {QStringLiteral("evitsam_xl0.tsv"), {FamilyId::EfficientVitSam, "XL0"}},
        {QStringLiteral("evitsam_xl1.tsv"), {FamilyId::EfficientVitSam, "XL1"}},
    };
    return m;
}

// The kind a key must have, from the table's owning module class and param|buffer column.
TensorKind expectedKind(const birkhoff::test::SamKeyRow& row)
{
    if (row.buffer)
        return TensorKind::Buffer;
    const bool bias = row.key.size() > 5 && row.key.compare(row.key.size() - 5, 5, ".bias") == 0;
    const std::string& c = row.moduleClass;
    if (c == "Linear")
        return bias ? TensorKind::LinearBias : TensorKind::LinearWeight;
    if (c == "Conv2d")
        return TensorKind::Conv;
    if (c == "ConvTranspose2d")
        return TensorKind::ConvTranspose;
    if (c == "LayerNorm" || c == "LayerNorm2d" || c == "GroupNorm" || c == "_BN")
        return TensorKind::Norm;
    if (c == "Embedding")
        return TensorKind::Embedding;
    return TensorKind::Other;  // ImageEncoderViT, Attention, Hiera, SAM2Base, CXBlock: own parameters
}

}  // namespace

class TestFamily : public QObject {
    Q_OBJECT
private slots:
    void everyVariantTableIsCovered()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys");
        const QStringList files = birkhoff::test::samKeyFiles();
        QVERIFY(!files.isEmpty());
        for (const QString& f : files)
            QVERIFY2(expectedFamilies().count(f) == 1, qPrintable(QStringLiteral("no expectation for ") + f));
    }

    void syntheticCheckpointsAreDetectedAndClassified_data()
    {
        QTest::addColumn<QString>("file");
        for (const auto& [file, expected] : expectedFamilies())
            QTest::newRow(qPrintable(file)) << file;
    }
    void syntheticCheckpointsAreDetectedAndClassified()
    {
        QFETCH(QString, file);
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys");
        const auto rows = birkhoff::test::readSamKeys(file);
        QVERIFY2(!rows.empty(), qPrintable(file));
        const StateDict sd = birkhoff::test::syntheticStateDict(rows);
        const FamilyInfo family = detectFamily(sd);
        const Expected& expected = expectedFamilies().at(file);
        QCOMPARE(familyIdName(family.id), familyIdName(expected.id));
        QCOMPARE(QString::fromStdString(family.variant), QString::fromLatin1(expected.variant));
        QVERIFY(family.isKnown);
        for (const auto& note : family.notes)
            QVERIFY2(note.find("no mask decoder") == std::string::npos, note.c_str());

        const std::vector<TensorRole> roles = classifyAll(family, sd);
        QCOMPARE(roles.size(), rows.size());
        QStringList wrong;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const TensorKind want = expectedKind(rows[i]);
            if (roles[i].kind != want || roles[i].heuristic)
                wrong << QStringLiteral("%1 (%2): got %3%4, want %5")
                             .arg(QString::fromStdString(rows[i].key), QString::fromStdString(rows[i].moduleClass),
                                  QString::fromLatin1(tensorKindName(roles[i].kind)),
                                  roles[i].heuristic ? QStringLiteral(" [heuristic]") : QString(),
                                  QString::fromLatin1(tensorKindName(want)));
        }
        QVERIFY2(wrong.isEmpty(), qPrintable(QString::number(wrong.size()) + QStringLiteral(" wrong:\n") + wrong.mid(0, 20).join(QLatin1Char('\n'))));
        // The helpers the codec uses agree with the kinds.
        for (std::size_t i = 0; i < rows.size(); ++i) {
            QCOMPARE(isLinearWeight(family, sd, rows[i].key), expectedKind(rows[i]) == TensorKind::LinearWeight);
            QCOMPARE(isBuffer(family, sd, rows[i].key), rows[i].buffer);
        }
    }

    void detectionNamesSizes()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys");
        const FamilyInfo b = detectFamily(birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam1_vit_b.tsv"))));
        QCOMPARE(QString::fromStdString(b.displayName), QStringLiteral("SAM ViT-B"));
        QVERIFY(!b.notes.empty() && b.notes[0].find("MedSAM") != std::string::npos);
        const FamilyInfo t = detectFamily(birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("tinysam_vit_t.tsv"))));
        QCOMPARE(QString::fromStdString(t.displayName), QStringLiteral("MobileSAM/TinySAM (TinyViT)"));
        const FamilyInfo s = detectFamily(birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam2.1_b+.tsv"))));
        QCOMPARE(QString::fromStdString(s.displayName), QStringLiteral("SAM 2.1 Hiera-B+"));
    }

    void encoderOnlyAndImageOnlyCheckpointsGetNotes()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys");
        StateDict vit = birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam1_vit_b.tsv")));
        for (const auto& name : vit.names())
            if (name.rfind("image_encoder.", 0) != 0)
                vit.erase(name);
        const FamilyInfo encoderOnly = detectFamily(vit);
        QCOMPARE(encoderOnly.id, FamilyId::SamVit);
        bool noted = false;
        for (const auto& n : encoderOnly.notes)
            noted = noted || n.find("no mask decoder") != std::string::npos;
        QVERIFY(noted);

        StateDict sam2 = birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam2.1_t.tsv")));
        for (const auto& name : sam2.names())
            if (name.rfind("image_encoder.", 0) != 0 && name.rfind("sam_", 0) != 0)
                sam2.erase(name);
        const FamilyInfo imageOnly = detectFamily(sam2);
        QCOMPARE(imageOnly.id, FamilyId::Sam2);
        QVERIFY(!imageOnly.notes.empty() && imageOnly.notes[0].find("cannot be told apart") != std::string::npos);
    }

    void unknownLayoutsUseTheHeuristic()
    {
        StateDict sd;
        sd.insert("encoder.fc.weight", at::randn({4, 3}));
        sd.insert("encoder.fc.bias", at::randn({4}));
        sd.insert("encoder.proj.weight", at::randn({5, 4}));
        sd.insert("tokens.embed.weight", at::randn({10, 3}));
        sd.insert("lookup.weight", at::randn({7, 3}));
        sd.insert("lookup.bias", at::randn({3}));
        sd.insert("stem.conv.weight", at::randn({8, 3, 3, 3}));
        sd.insert("stem.conv.bias", at::randn({8}));
        sd.insert("head.deconv.weight", at::randn({8, 4, 2, 2}));
        sd.insert("stem.bn.weight", at::randn({8}));
        sd.insert("stem.bn.bias", at::randn({8}));
        sd.insert("stem.bn.running_mean", at::randn({8}));
        sd.insert("stem.bn.num_batches_tracked", at::zeros({}, at::kLong));
        sd.insert("layer_scale", at::randn({3}));
        sd.insert("orphan.bias", at::randn({3}));
        const FamilyInfo family = detectFamily(sd);
        QCOMPARE(family.id, FamilyId::Generic);
        QVERIFY(!family.isKnown);
        const std::vector<TensorKind> want = {
            TensorKind::LinearWeight, TensorKind::LinearBias, TensorKind::LinearWeight, TensorKind::Embedding,
            TensorKind::Embedding,    TensorKind::Embedding,  TensorKind::Conv,         TensorKind::Conv,
            TensorKind::ConvTranspose, TensorKind::Norm,      TensorKind::Norm,         TensorKind::Buffer,
            TensorKind::Buffer,       TensorKind::Other,      TensorKind::Other,
        };
        const auto roles = classifyAll(family, sd);
        for (std::size_t i = 0; i < roles.size(); ++i) {
            QVERIFY(roles[i].heuristic);
            QVERIFY2(roles[i].kind == want[i], sd.entries()[i].name.c_str());
        }
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, tensorRole(family, sd, "not.there"));
    }

    void officialCheckNamesRegisteredGoldenTests()
    {
        // Every test officialCheck() names is registered with CTest and labelled golden.
        QString cmake;
        QDirIterator files(QStringLiteral(BIRKHOFF_TEST_SOURCE_DIR "/tests"), {QStringLiteral("tests.cmake")}, QDir::Files,
                           QDirIterator::Subdirectories);
        while (files.hasNext()) {
            QFile file(files.next());
            QVERIFY(file.open(QIODevice::ReadOnly));
            cmake += QString::fromUtf8(file.readAll());
        }
        const QRegularExpression golden(QStringLiteral(R"(birkhoff_add_qtest\(NAME ([\w.]+)[^)]*LABELS golden)"));
        QSet<QString> goldenTests;
        for (auto it = golden.globalMatch(cmake); it.hasNext();)
            goldenTests.insert(it.next().captured(1));
        QVERIFY(goldenTests.contains(QStringLiteral("core.models.sam_vit_golden")));
        const QRegularExpression named(QStringLiteral(R"(core\.[\w.]+_golden)"));
        for (const FamilyId id : {FamilyId::SamVit, FamilyId::SamHq, FamilyId::Sam2, FamilyId::Sam21, FamilyId::MobileSam,
                                  FamilyId::EdgeSam, FamilyId::EfficientSam}) {
            FamilyInfo family;
            family.id = id;
            family.isKnown = true;
            const OfficialCheck check = officialCheck(family);
            QVERIFY2(check.golden, familyIdName(id));
            const QString text = QString::fromStdString(check.text);
            auto it = named.globalMatch(text);
            QVERIFY2(it.hasNext(), qPrintable(text));
            while (it.hasNext()) {
                const QString test = it.next().captured(0);
                QVERIFY2(goldenTests.contains(test), qPrintable(test + QStringLiteral(" is not a golden CTest test")));
            }
        }
    }

    void familiesWithoutOfficialOutputsSaySo()
    {
        const std::string consistencyOnly = "checked for consistency only, not against the official implementation";
        for (const FamilyId id : {FamilyId::SlimSam, FamilyId::EfficientVitSam}) {
            FamilyInfo family;
            family.id = id;
            family.isKnown = true;
            QVERIFY(!officialCheck(family).golden);
            QCOMPARE(officialCheck(family).text, consistencyOnly);
        }
        FamilyInfo vit;
        vit.id = FamilyId::SamVit;
        vit.isKnown = true;
        QVERIFY(officialCheck(vit).text.find("MedSAM's pipeline") != std::string::npos);
        QVERIFY(officialCheck(vit).text.find(consistencyOnly) != std::string::npos);
        QVERIFY(!officialCheck(FamilyInfo{}).golden);
    }

    void shapesContradictingARuleFallBackToTheHeuristic()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys");
        StateDict sd = birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam1_vit_b.tsv")));
        sd.insertOrAssign("image_encoder.blocks.0.attn.qkv.weight", at::randn({2304, 768, 1, 1}));
        const FamilyInfo family = detectFamily(sd);
        const TensorRole role = tensorRole(family, sd, "image_encoder.blocks.0.attn.qkv.weight");
        QVERIFY(role.heuristic);
        QCOMPARE(role.kind, TensorKind::Conv);
        QVERIFY(!isLinearWeight(family, sd, "image_encoder.blocks.0.attn.qkv.weight"));
        QCOMPARE(tensorKind(family, sd, "image_encoder.blocks.0.attn.qkv.bias"), TensorKind::Conv);
    }
};

class TestFamilyGolden : public QObject {
    Q_OBJECT
private slots:
    void goldenTinyModelsAreDetected()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/sam2_tiny.pth");
        const auto vit = birkhoff::io::loadCheckpoint(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")).toStdString());
        const FamilyInfo v = detectFamily(vit.tensors);
        QCOMPARE(v.id, FamilyId::SamVit);
        QCOMPARE(QString::fromStdString(v.variant), QStringLiteral("custom"));
        QCOMPARE(QString::fromStdString(v.displayName), QStringLiteral("SAM ViT custom (embed_dim 64, depth 4, mlp_dim 256)"));
        const auto sam2 = birkhoff::io::loadCheckpoint(birkhoff::test::goldenPath(QStringLiteral("sam2_tiny/sam2_tiny.pth")).toStdString());
        const FamilyInfo s = detectFamily(sam2.tensors);
        QCOMPARE(s.id, FamilyId::Sam21);
        QCOMPARE(QString::fromStdString(s.variant), QStringLiteral("custom"));
        for (const FamilyInfo* f : {&v, &s}) {
            const auto& sd = f == &v ? vit.tensors : sam2.tensors;
            const auto roles = classifyAll(*f, sd);
            for (std::size_t i = 0; i < roles.size(); ++i)
                QVERIFY2(!roles[i].heuristic, sd.entries()[i].name.c_str());
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestFamily);
BIRKHOFF_REGISTER_TEST(TestFamilyGolden);
#include "test_family.moc"
