// The studio's measured mask-agreement frontier: the sweep's composition, a full measurement on
// the golden tiny SAM in the background (every point measured or refused with a note, the GUI
// thread never busy for more than 100 ms), clicking a rate-distortion point applying its
// settings, and cancellation mid-sweep.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "ui/agreement_frontier.h"
#include "ui/event_loop_monitor.h"

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTest>

#include <set>

using namespace birkhoff;
using namespace birkhoff::ui;

namespace {

constexpr int kTimeout = 600000;

QString imageFolder()
{
    const QString dir = test::scratchDir() + QStringLiteral("/agreement_images");
    QDir().mkpath(dir);
    QFile::remove(dir + QStringLiteral("/dog.png"));
    QFile::copy(test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")), dir + QStringLiteral("/dog.png"));
    return dir;
}

}  // namespace

class TestAgreementFrontier : public QObject {
    Q_OBJECT
private slots:
    void sweepStartsWithTheCurrentSettings()
    {
        const QVector<AgreementSweepPoint> paper = agreementSweep(CompressionSettings{});
        QCOMPARE(paper.front().spec, std::string("birkhoff:l=0.1:U=1225+1600:M=3"));
        std::set<std::string> specs;
        for (const auto& p : paper)
            QVERIFY2(specs.insert(p.spec).second, p.spec.c_str());
        QCOMPARE(paper.size(), 10);  // paper defaults once, 4 RD ratios, 5 baselines
        QVERIFY(specs.count("birkhoff-rd:ratio=8") && specs.count("rtn:8:pc") && specs.count("hqq:4:32"));
        for (const auto& p : paper)
            QCOMPARE(p.settings.has_value(), p.spec.rfind("birkhoff", 0) == 0);

        CompressionSettings rd;
        rd.rdTargetRatio = 9.0;
        const QVector<AgreementSweepPoint> withRd = agreementSweep(rd);
        QCOMPARE(withRd.front().spec, std::string("birkhoff-rd:ratio=9"));
        QCOMPARE(withRd.size(), 11);
        CompressionSettings custom;
        custom.l = 0.05;
        custom.overrides.insert(QStringLiteral("a.weight"), LayerOverride{true, std::nullopt});
        QCOMPARE(agreementSweep(custom).front().spec, std::string("birkhoff:l=0.05:U=1225+1600:M=3"));
    }

    void measuresInTheBackgroundAndAppliesClickedPoints()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        AgreementFrontierPanel panel;
        panel.resize(700, 420);
        panel.show();
        panel.setModelPath(test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")));
        panel.setImagesFolder(imageFolder());
        QSignalSpy finished(&panel, &AgreementFrontierPanel::finished);
        QSignalSpy chosen(&panel, &AgreementFrontierPanel::settingsChosen);
        EventLoopMonitor monitor;
        monitor.start();
        panel.measure();
        QVERIFY(panel.isRunning());
        QVERIFY(finished.wait(kTimeout));
        monitor.stop();
        QCOMPARE(finished.front().front().toString(), QString());
        QVERIFY(!panel.isRunning());
        QCOMPARE(panel.rows().size(), agreementSweep(CompressionSettings{}).size());
        int measured = 0;
        for (const auto& r : panel.rows()) {
            if (r.ratio > 0) {
                ++measured;
                QVERIFY(r.agreement.count > 0);
                QVERIFY(r.agreement.mean >= 0.0 && r.agreement.mean <= 1.0);
            } else {
                QVERIFY2(!r.notes.empty(), r.spec.c_str());  // refused, and says why
            }
        }
        QVERIFY(measured >= 8);
        QVERIFY2(monitor.maxBusyMs() <= 100.0, qPrintable(QStringLiteral("GUI thread busy %1 ms").arg(monitor.maxBusyMs())));

        int rd8 = -1;
        for (int i = 0; i < panel.rows().size(); ++i)
            if (panel.rows()[i].spec == "birkhoff-rd:ratio=8" && panel.rows()[i].ratio > 0)
                rd8 = i;
        QVERIFY2(rd8 >= 0, "the rate-distortion point at ratio 8 was measured");
        panel.plot()->replot();
        const auto& r = panel.rows()[rd8];
        const QPoint at(qRound(panel.plot()->xAxis->coordToPixel(r.ratio)),
                        qRound(panel.plot()->yAxis->coordToPixel(r.agreement.mean)));
        QCOMPARE(panel.rowAt(at), rd8);
        QTest::mouseClick(panel.plot(), Qt::LeftButton, {}, at);
        QCOMPARE(chosen.size(), 1);
        const auto settings = chosen.front().front().value<CompressionSettings>();
        QVERIFY(settings.rdTargetRatio && *settings.rdTargetRatio == 8.0);
    }

    void cancelStopsTheSweep()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        AgreementFrontierPanel panel;
        panel.setModelPath(test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")));
        panel.setImagesFolder(imageFolder());
        QSignalSpy finished(&panel, &AgreementFrontierPanel::finished);
        panel.measure();
        QTRY_VERIFY_WITH_TIMEOUT(panel.rows().size() >= 1, kTimeout);
        panel.cancel();
        QVERIFY(finished.wait(kTimeout));
        QVERIFY(!panel.isRunning());
        QVERIFY(panel.rows().size() < agreementSweep(CompressionSettings{}).size());
    }
};

BIRKHOFF_REGISTER_TEST(TestAgreementFrontier);
#include "test_agreement_frontier.moc"
