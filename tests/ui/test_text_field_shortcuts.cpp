// Window shortcuts with Ctrl (Ctrl+E "Export Restored", Ctrl+U "Edit U", ...) must work while a
// text field of the studio has the focus (issue 16, defect 6). The line-editing bindings that
// swallow them (Ctrl+E = end of line, Ctrl+U = delete the line) belong to the X11 key scheme, which
// the offscreen platform does not use, so CTest runs this class on the xcb platform under
// xvfb-run; on any other platform it skips loudly.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/main_window.h"
#include "ui/studio_settings.h"

#include <QAction>
#include <QGuiApplication>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTest>

using namespace birkhoff::ui;

class TestTextFieldShortcuts : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        if (QGuiApplication::platformName() != QLatin1String("xcb"))
            BIRKHOFF_SKIP(QStringLiteral("needs the xcb platform (X11 key bindings); CTest runs it under xvfb-run"));
    }

    void windowShortcutsWorkInTextFields()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/keys.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        w.show();
        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        // Export Restored needs a compressed model; enable it so its shortcut can fire.
        QAction* exportRestored = w.action(QStringLiteral("actionExportRestored"));
        exportRestored->setEnabled(true);
        QSignalSpy triggered(exportRestored, &QAction::triggered);
        auto* uEdit = w.findChild<QLineEdit*>(QStringLiteral("uListEdit"));
        uEdit->setFocus();
        QTRY_VERIFY(uEdit->hasFocus());
        uEdit->setCursorPosition(0);
        QTest::keyClick(uEdit, Qt::Key_E, Qt::ControlModifier);
        QCOMPARE(triggered.count(), 1);
        QVERIFY2(uEdit->cursorPosition() == 0, "the text field consumed Ctrl+E (moved to the end of the line)");
        // The filter field of the layer table, too; plain keys still type into the field.
        auto* filter = w.findChild<QLineEdit*>(QStringLiteral("layerFilterEdit"));
        filter->setFocus();
        QTRY_VERIFY(filter->hasFocus());
        QTest::keyClick(filter, Qt::Key_E, Qt::ControlModifier);
        QCOMPARE(triggered.count(), 2);
        QTest::keyClicks(filter, QStringLiteral("do"));
        QCOMPARE(filter->text(), QStringLiteral("do"));
    }

};

BIRKHOFF_REGISTER_TEST(TestTextFieldShortcuts);
#include "test_text_field_shortcuts.moc"
