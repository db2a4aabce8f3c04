// The compression panel and its value type without a model: U parsing and bits per index, the
// l spin box / log slider coupling, edits emitting settings, invalid U lists rejected visibly,
// overrides, and the estimate line.
// LibTorch (through the codec bridge) before Qt: Qt defines `slots`.
#include "ui/codec_bridge.h"
#include "core/codec/compressor.h"

#include "tests/support/test_registry.h"
#include "tests/ui/synthetic_report.h"
#include "ui/compression_panel.h"
#include "ui/compression_settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

using namespace birkhoff::ui;

class TestCompressionPanel : public QObject {
    Q_OBJECT
private slots:
    void parsesUList()
    {
        QString error;
        QCOMPARE(parseUList(QStringLiteral("1225, 1600"), &error).value(), (QVector<quint32>{1225, 1600}));
        QCOMPARE(parseUList(QStringLiteral("1600;1225 1600"), &error).value(), (QVector<quint32>{1600, 1225}));
        QVERIFY(!parseUList(QStringLiteral("1000"), &error));
        QVERIFY2(error.contains(QStringLiteral("1000")), qPrintable(error));
        QVERIFY(!parseUList(QStringLiteral(""), &error));
        QVERIFY(!parseUList(QStringLiteral("abc"), &error));
        QVERIFY(!parseUList(QStringLiteral("1"), &error));
        QVERIFY(!parseUList(QStringLiteral("70225"), &error));  // 265^2 > 65536
    }

    void bitsPerIndexFollowTheSpec()
    {
        // docs/birkhoff-spec.md: U = 1225 -> 11 bits (K=0), 12 (K=1,2), 13 (K=3);
        // U = 1600 -> 11 (K=0), 12 (K=1), 13 (K=2,3).
        QCOMPARE(indexBits(1225, 0), 11u);
        QCOMPARE(indexBits(1225, 1), 12u);
        QCOMPARE(indexBits(1225, 2), 12u);
        QCOMPARE(indexBits(1225, 3), 13u);
        QCOMPARE(indexBits(1600, 1), 12u);
        QCOMPARE(indexBits(1600, 2), 13u);
        QCOMPARE(indexBits(4, 0), 2u);
        const QString summary = bitsSummary({1225, 1600}, 3);
        QVERIFY2(summary.contains(QStringLiteral("U=1225 (35x35): 11-13 bits/index = 5.5-6.5 bits/weight")), qPrintable(summary));
    }

    void lSpinAndSliderAreCoupled()
    {
        CompressionPanel panel;
        auto* spin = panel.findChild<QDoubleSpinBox*>(QStringLiteral("lSpinBox"));
        auto* slider = panel.findChild<QSlider*>(QStringLiteral("lSlider"));
        QVERIFY(spin && slider);
        QSignalSpy changed(&panel, &CompressionPanel::settingsChanged);
        spin->setValue(0.05);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(panel.settings().l, 0.05);
        QCOMPARE(slider->value(), CompressionPanel::sliderPositionForL(0.05));
        slider->setValue(CompressionPanel::sliderPositionForL(1.0));
        QCOMPARE(changed.count(), 2);
        QCOMPARE(panel.settings().l, 1.0);
        QCOMPARE(spin->value(), 1.0);
        // The slider is logarithmic: its middle is the geometric mean of the range.
        QVERIFY(std::fabs(CompressionPanel::lForSliderPosition(CompressionPanel::kSliderSteps / 2) -
                          std::sqrt(kMinL * kMaxL)) < 0.01 * std::sqrt(kMinL * kMaxL));
        QCOMPARE(CompressionPanel::lForSliderPosition(0), kMinL);
        QCOMPARE(CompressionPanel::lForSliderPosition(CompressionPanel::kSliderSteps), kMaxL);
    }

    void uEditValidates()
    {
        CompressionPanel panel;
        auto* edit = panel.findChild<QLineEdit*>(QStringLiteral("uListEdit"));
        auto* bits = panel.findChild<QLabel*>(QStringLiteral("bitsLabel"));
        QSignalSpy changed(&panel, &CompressionPanel::settingsChanged);
        edit->selectAll();
        QTest::keyClicks(edit, QStringLiteral("3000"));  // no prefix of it is a perfect square either
        QCOMPARE(changed.count(), 0);  // never emits an invalid list
        QVERIFY(bits->text().contains(QStringLiteral("perfect square")));
        QCOMPARE(panel.settings().uList, (QVector<quint32>{1225, 1600}));
        edit->selectAll();
        QTest::keyClicks(edit, QStringLiteral("2025"));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(panel.settings().uList, (QVector<quint32>{2025}));
        QVERIFY(bits->text().contains(QStringLiteral("U=2025 (45x45)")));
    }

    void mAndDefaults()
    {
        CompressionPanel panel;
        auto* m = panel.findChild<QSpinBox*>(QStringLiteral("mSpinBox"));
        QCOMPARE(m->maximum(), 8);
        QCOMPARE(m->minimum(), 0);
        QSignalSpy changed(&panel, &CompressionPanel::settingsChanged);
        m->setValue(5);
        QCOMPARE(panel.settings().maxRings, 5);
        QCOMPARE(changed.count(), 1);
        panel.findChild<QPushButton*>(QStringLiteral("defaultsButton"))->click();
        QCOMPARE(panel.settings(), CompressionSettings{});
        QCOMPARE(changed.count(), 2);
    }

    void rateDistortionCodec()
    {
        CompressionPanel panel;
        auto* rd = panel.findChild<QCheckBox*>(QStringLiteral("rdCheckBox"));
        auto* ratio = panel.findChild<QDoubleSpinBox*>(QStringLiteral("rdRatioSpinBox"));
        auto* l = panel.findChild<QDoubleSpinBox*>(QStringLiteral("lSpinBox"));
        QVERIFY(rd && ratio && l);
        QVERIFY(!ratio->isEnabled() && l->isEnabled());
        QSignalSpy changed(&panel, &CompressionPanel::settingsChanged);
        rd->setChecked(true);
        QCOMPARE(changed.count(), 1);
        QVERIFY(panel.settings().rdTargetRatio && *panel.settings().rdTargetRatio == ratio->value());
        QVERIFY(ratio->isEnabled() && !l->isEnabled());
        ratio->setValue(10.0);
        QCOMPARE(*panel.settings().rdTargetRatio, 10.0);
        QCOMPARE(panel.settings().summary(), QStringLiteral("RD ratio 10"));
        // The lattice settings are kept but do not matter while the codec is on.
        CompressionSettings other = panel.settings();
        other.l = 0.5;
        QCOMPARE(other, panel.settings());
        rd->setChecked(false);
        QVERIFY(!panel.settings().rdTargetRatio);
        QCOMPARE(panel.settings(), CompressionSettings{});
        CompressionSettings fromFile;
        fromFile.rdTargetRatio = 7.5;
        panel.setSettings(fromFile);
        QVERIFY(rd->isChecked());
        QCOMPARE(ratio->value(), 7.5);
    }

    void latticeModesAreTheCliExtensions()
    {
        CompressionPanel panel;
        auto* mode = panel.findChild<QComboBox*>(QStringLiteral("latticeModeCombo"));
        auto* target = panel.findChild<QDoubleSpinBox*>(QStringLiteral("targetSpinBox"));
        QVERIFY(mode && target);
        QVERIFY(panel.settings().isEstimable());
        QVERIFY(target->isHidden());
        QSignalSpy changed(&panel, &CompressionPanel::settingsChanged);
        mode->setCurrentIndex(mode->findData(static_cast<int>(LatticeMode::TargetMae)));
        QCOMPARE(changed.count(), 1);
        QVERIFY(!target->isHidden());
        target->setValue(0.002);
        QCOMPARE(panel.settings().latticeMode, LatticeMode::TargetMae);
        QCOMPARE(panel.settings().target, 0.002);
        QVERIFY(!panel.settings().isEstimable());
        QCOMPARE(panel.settings().summary(), QStringLiteral("l=0.1 U=1225,1600 M=3 target MAE 0.002"));
        QCOMPARE(panel.settings().fileNameTag(), QStringLiteral("l0.1-U1225_1600-M3-mae0.002"));
        // The studio compresses exactly as `birkhoff compress --target-mae 0.002` does.
        const auto mae = toCompressOptions(panel.settings(), 1000);
        QVERIFY(mae.targetMae && *mae.targetMae == 0.002 && !mae.targetRatio && !mae.autoL);
        QVERIFY(panel.settings() != CompressionSettings{});
        QVERIFY(panel.settings().digest() != CompressionSettings{}.digest());

        mode->setCurrentIndex(mode->findData(static_cast<int>(LatticeMode::TargetRatio)));
        target->setValue(5.5);
        const auto ratio = toCompressOptions(panel.settings(), 1000);
        QVERIFY(ratio.targetRatio && *ratio.targetRatio == 5.5 && !ratio.targetMae);
        QCOMPARE(panel.settings().fileNameTag(), QStringLiteral("l0.1-U1225_1600-M3-ratio5.5x"));

        mode->setCurrentIndex(mode->findData(static_cast<int>(LatticeMode::AutoL)));
        QVERIFY(target->isHidden());
        QVERIFY(toCompressOptions(panel.settings(), 1000).autoL);
        QCOMPARE(panel.settings().summary(), QStringLiteral("l=0.1 U=1225,1600 M=3 auto l"));

        // Settings shown from a file select the mode and its target.
        CompressionSettings fromFile;
        fromFile.latticeMode = LatticeMode::TargetRatio;
        fromFile.target = 4.25;
        panel.setSettings(fromFile);
        QCOMPARE(mode->currentData().toInt(), static_cast<int>(LatticeMode::TargetRatio));
        QCOMPARE(target->value(), 4.25);
        QCOMPARE(panel.settings(), fromFile);
    }

    void overridesAndSummary()
    {
        CompressionPanel panel;
        QSignalSpy changed(&panel, &CompressionPanel::settingsChanged);
        panel.setOverride(QStringLiteral("a.weight"), LayerOverride{true, std::nullopt});
        panel.setOverride(QStringLiteral("b.weight"), LayerOverride{false, 0.05});
        QCOMPARE(changed.count(), 2);
        QCOMPARE(panel.settings().overrides.size(), 2);
        QVERIFY(panel.settings().summary().endsWith(QStringLiteral("+2 overrides")));
        const QByteArray before = panel.settings().digest();
        panel.setOverride(QStringLiteral("a.weight"), std::nullopt);
        QVERIFY(panel.settings().digest() != before);
        auto* clear = panel.findChild<QPushButton*>(QStringLiteral("clearOverridesButton"));
        QVERIFY(clear->isEnabled());
        clear->click();
        QVERIFY(panel.settings().overrides.isEmpty());
        QVERIFY(!clear->isEnabled());
    }

    void buttonsFollowState()
    {
        CompressionPanel panel;
        auto* compress = panel.findChild<QPushButton*>(QStringLiteral("compressButton"));
        auto* cancel = panel.findChild<QPushButton*>(QStringLiteral("cancelButton"));
        auto* save = panel.findChild<QPushButton*>(QStringLiteral("saveCompressedButton"));
        QVERIFY(!compress->isEnabled());
        panel.setModelLoaded(true);
        QVERIFY(compress->isEnabled());
        QVERIFY(!cancel->isEnabled());
        panel.setCompressing(true);
        QVERIFY(!compress->isEnabled());
        QVERIFY(cancel->isEnabled());
        QVERIFY(!panel.findChild<QDoubleSpinBox*>(QStringLiteral("lSpinBox"))->isEnabled());
        panel.setCompressing(false);
        QVERIFY(!save->isEnabled());
        panel.setCompressedAvailable(true);
        QVERIFY(save->isEnabled());
    }

    void estimateLine()
    {
        CompressionPanel panel;
        panel.setEstimate(birkhoff::test::syntheticReport());
        const QString text = panel.findChild<QLabel*>(QStringLiteral("estimateLabel"))->text();
        QVERIFY2(text.contains(QStringLiteral("sampled 25 %")), qPrintable(text));
        QVERIFY(text.contains(QStringLiteral("2 of 5 tensors encoded")));
    }
};

BIRKHOFF_REGISTER_TEST(TestCompressionPanel);
#include "test_compression_panel.moc"
