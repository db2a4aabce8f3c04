// Persistent settings: the typed keys round-trip through a temporary INI file (never the user's
// settings), recent-file lists stay short and unique, and the main window writes and restores
// its layout, overlay options and last hyperparameters.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/compression_panel.h"
#include "ui/main_window.h"
#include "ui/studio_settings.h"
#include "ui/workspace_widget.h"

#include <QTest>

using namespace birkhoff::ui;

class TestStudioSettings : public QObject {
    Q_OBJECT
private slots:
    void typedKeysRoundTrip()
    {
        const QString ini = birkhoff::test::scratchDir() + QStringLiteral("/typed.ini");
        {
            StudioSettings s(ini);
            QCOMPARE(s.value(settings::kOverlayOpacity), 45);          // default
            QCOMPARE(s.value(settings::kCompressionU), QStringLiteral("1225,1600"));
            s.setValue(settings::kOverlayOpacity, 70);
            s.setValue(settings::kOverlayOutline, true);
            s.setValue(settings::kCompressionL, 0.0375);
            s.setValue(settings::kCompressionU, QStringLiteral("1600"));
            s.setValue(settings::kWindowState, QByteArray("\x00\x01\xff", 3));
            s.sync();
            QCOMPARE(s.fileName(), ini);
        }
        StudioSettings s(ini);
        QCOMPARE(s.value(settings::kOverlayOpacity), 70);
        QCOMPARE(s.value(settings::kOverlayOutline), true);
        QCOMPARE(s.value(settings::kCompressionL), 0.0375);
        QCOMPARE(s.value(settings::kCompressionU), QStringLiteral("1600"));
        QCOMPARE(s.value(settings::kWindowState), QByteArray("\x00\x01\xff", 3));
        QCOMPARE(s.value(settings::kCompressionM), 3);
    }

    void recentFilesStayShortAndUnique()
    {
        StudioSettings s(birkhoff::test::scratchDir() + QStringLiteral("/recent.ini"));
        for (int i = 0; i < 14; ++i)
            s.addRecentFile(settings::kRecentModels, QStringLiteral("/m/%1.pth").arg(i));
        s.addRecentFile(settings::kRecentModels, QStringLiteral("/m/5.pth"));
        const QStringList files = s.value(settings::kRecentModels);
        QCOMPARE(files.size(), StudioSettings::kMaxRecentFiles);
        QCOMPARE(files.first(), QStringLiteral("/m/5.pth"));
        QCOMPARE(files.count(QStringLiteral("/m/5.pth")), 1);
        s.removeRecentFile(settings::kRecentModels, QStringLiteral("/m/5.pth"));
        QVERIFY(!s.value(settings::kRecentModels).contains(QStringLiteral("/m/5.pth")));
        // A single stored path comes back as a one-element list.
        s.setValue(settings::kRecentImages, QStringList{QStringLiteral("/only.png")});
        s.sync();
        StudioSettings reread(s.fileName());
        QCOMPARE(reread.value(settings::kRecentImages), QStringList{QStringLiteral("/only.png")});
    }

    void mainWindowPersistsItsState()
    {
        const QString ini = birkhoff::test::scratchDir() + QStringLiteral("/window.ini");
        birkhoff::test::ScriptedDialogs dialogs;
        QSize closedSize;
        {
            StudioSettings s(ini);
            MainWindow w(s, dialogs);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            w.workspace()->setOpacity(70);
            w.workspace()->setOutlineMode(true);
            w.workspace()->setOverlayView(OverlayView::Difference);
            w.workspace()->setLivePreview(false);
            CompressionSettings c;
            c.l = 0.05;
            c.uList = {1600};
            c.maxRings = 2;
            w.compressionPanel()->setSettings(c);
            w.resize(w.minimumSizeHint() + QSize(40, 30));
            closedSize = w.size();
            w.close();
        }
        StudioSettings s(ini);
        QCOMPARE(s.value(settings::kOverlayOpacity), 70);
        MainWindow w(s, dialogs);
        QCOMPARE(w.workspace()->opacity(), 70);
        QCOMPARE(w.workspace()->outlineMode(), true);
        QCOMPARE(w.workspace()->overlayView(), OverlayView::Difference);
        QCOMPARE(w.workspace()->livePreview(), false);
        QVERIFY(w.action(QStringLiteral("actionOutline"))->isChecked());
        QVERIFY(w.action(QStringLiteral("actionDifference"))->isChecked());
        QCOMPARE(w.compressionPanel()->settings().l, 0.05);
        QCOMPARE(w.compressionPanel()->settings().uList, QVector<quint32>{1600});
        QCOMPARE(w.compressionPanel()->settings().maxRings, 2);
        QCOMPARE(w.size(), closedSize);
        QVERIFY(dialogs.errors().isEmpty());
    }
};

BIRKHOFF_REGISTER_TEST(TestStudioSettings);
#include "test_settings.moc"
