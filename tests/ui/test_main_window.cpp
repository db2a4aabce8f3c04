// The studio's main window opens (offscreen) with its menus.
#include "ui/main_window.h"
#include "tests/support/test_registry.h"

#include <QMenuBar>
#include <QTest>

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void opensOffscreen()
    {
        birkhoff::ui::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QCOMPARE(w.windowTitle(), QStringLiteral("Birkhoff Studio"));
        QVERIFY(w.findChild<QAction*>(QStringLiteral("actionQuit")) != nullptr);
    }
};

BIRKHOFF_REGISTER_TEST(TestMainWindow);
#include "test_main_window.moc"
