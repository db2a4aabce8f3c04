// `birkhoff-studio --screenshot` under Xvfb renders the documented state (golden tiny SAM opened,
// compressed with the defaults, dog_320.png, one prompt, both models' masks) into a PNG that is
// not trivial: the window's size and thousands of distinct colours (photo, overlays, plots).
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QImage>
#include <QProcess>
#include <QSet>
#include <QStandardPaths>
#include <QTest>

class TestScreenshot : public QObject {
    Q_OBJECT
private slots:
    void screenshotUnderXvfb()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const QString xvfb = QStandardPaths::findExecutable(QStringLiteral("xvfb-run"));
        if (xvfb.isEmpty())
            BIRKHOFF_SKIP(QStringLiteral("xvfb-run is not installed (scripts/setup.sh installs xvfb)"));
        const QString studio = qEnvironmentVariable("BIRKHOFF_STUDIO");
        QVERIFY2(!studio.isEmpty(), "BIRKHOFF_STUDIO is set by CTest");
        const QString output = birkhoff::test::scratchDir() + QStringLiteral("/studio.png");
        QProcess process;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("QT_QPA_PLATFORM"));  // a real X server this time
        process.setProcessEnvironment(env);
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(xvfb, {QStringLiteral("-a"), QStringLiteral("-s"), QStringLiteral("-screen 0 1600x1000x24"), studio,
                             QStringLiteral("--screenshot"), output, QStringLiteral("--model"),
                             birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")),
                             QStringLiteral("--image"), birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")),
                             QStringLiteral("--point"), QStringLiteral("160,107,1")});
        QVERIFY(process.waitForFinished(170000));
        const QString log = QString::fromLocal8Bit(process.readAll());
        std::fputs(qPrintable(log), stdout);
        QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0, qPrintable(log));
        const QImage shot(output);
        QVERIFY2(!shot.isNull(), qPrintable(output));
        QVERIFY2(shot.width() >= 1200 && shot.height() >= 700, qPrintable(QStringLiteral("%1x%2").arg(shot.width()).arg(shot.height())));
        QSet<QRgb> colours;
        for (int y = 0; y < shot.height(); y += 2)
            for (int x = 0; x < shot.width(); x += 2)
                colours.insert(shot.pixel(x, y));
        QVERIFY2(colours.size() > 2000, qPrintable(QStringLiteral("only %1 distinct colours").arg(colours.size())));
        QVERIFY(log.contains(QStringLiteral("masks shown")));
    }
};

BIRKHOFF_REGISTER_TEST(TestScreenshot);
#include "test_screenshot.moc"
