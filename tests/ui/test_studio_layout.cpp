// The studio's layout on the smallest supported screen (issue 16, defect 4). CTest runs this class
// on an offscreen screen of 1280x720 (screen_1280x720.json): the window with the golden tiny SAM
// opened and compressed, an image, a prompt and masks in both panes, then the difference view,
// must stay within the screen; no dock may overlap another or leave the window; inside the docks
// and the workspace no two widgets may lie on top of each other, none may be squeezed below its
// minimum size, and every word-wrapped label gets the height its text needs (no clipped lines).
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/main_window.h"
#include "ui/model_session.h"
#include "ui/predictor_session.h"
#include "ui/studio_settings.h"
#include "ui/workspace_widget.h"

#include <QAbstractScrollArea>
#include <QDockWidget>
#include <QGuiApplication>
#include <QLabel>
#include <QScreen>
#include <QScrollArea>
#include <QSignalSpy>
#include <QTest>

using namespace birkhoff::ui;

namespace {

constexpr int kTimeout = 120000;

QString describe(const QWidget* w)
{
    return QStringLiteral("%1 '%2' %3x%4").arg(QString::fromLatin1(w->metaObject()->className()), w->objectName())
        .arg(w->width())
        .arg(w->height());
}

/// True when `w` is shown through a scroll area's viewport (its size may exceed what is visible).
bool insideScrollArea(const QWidget* w)
{
    for (const QWidget* p = w->parentWidget(); p != nullptr; p = p->parentWidget())
        if (qobject_cast<const QAbstractScrollArea*>(p))
            return true;
    return false;
}

/// Problems inside `root`: overlapping visible siblings, widgets squeezed below their minimum
/// size, word-wrapped labels shorter than their text.
QStringList layoutProblems(QWidget* root)
{
    QStringList problems;
    const QList<QWidget*> all = root->findChildren<QWidget*>();
    for (QWidget* w : all) {
        if (!w->isVisible() || w->isWindow())
            continue;
        const QString cls = QString::fromLatin1(w->metaObject()->className());
        if (cls.startsWith(QLatin1String("QScrollBar")) || w->objectName().startsWith(QLatin1String("qt_")))
            continue;
        // What layouts honour (qSmartMinSize): an explicit minimum size, else the size hint's.
        QSize minimum = w->minimumSizeHint();
        if (w->minimumWidth() > 0)
            minimum.setWidth(w->minimumWidth());
        if (w->minimumHeight() > 0)
            minimum.setHeight(w->minimumHeight());
        const bool scrolledAway = insideScrollArea(w) && qobject_cast<QScrollArea*>(w->parentWidget()) == nullptr;
        if (minimum.isValid() && (w->width() < minimum.width() || w->height() < minimum.height()) && !scrolledAway &&
            w->sizePolicy().horizontalPolicy() != QSizePolicy::Ignored)
            problems << QStringLiteral("%1 is below its minimum %2x%3").arg(describe(w)).arg(minimum.width()).arg(minimum.height());
        if (auto* label = qobject_cast<QLabel*>(w); label && label->wordWrap() && !label->text().isEmpty()) {
            const int needed = label->heightForWidth(label->width());
            if (needed > label->height())
                problems << QStringLiteral("%1 needs %2 px for its text: lines are cut off").arg(describe(w)).arg(needed);
        }
    }
    QList<QWidget*> parents = all;
    parents << root;
    for (QWidget* parent : std::as_const(parents)) {
        QList<QWidget*> siblings;
        for (QObject* o : parent->children())
            if (auto* w = qobject_cast<QWidget*>(o); w && w->isVisible() && !w->isWindow() &&
                                                     !w->objectName().startsWith(QLatin1String("qt_")))
                siblings << w;
        for (int i = 0; i < siblings.size(); ++i)
            for (int j = i + 1; j < siblings.size(); ++j)
                if (siblings[i]->geometry().intersects(siblings[j]->geometry()))
                    problems << QStringLiteral("%1 overlaps %2").arg(describe(siblings[i]), describe(siblings[j]));
    }
    return problems;
}

void checkFitsTheScreen(MainWindow& w, const QString& when)
{
    QTest::qWait(200);  // let queued layout requests land
    const QRect screen = w.screen()->availableGeometry();
    QVERIFY2(w.frameGeometry().width() <= screen.width() && w.frameGeometry().height() <= screen.height(),
             qPrintable(when + QStringLiteral(": the window is %1x%2 on a %3x%4 screen")
                                   .arg(w.frameGeometry().width()).arg(w.frameGeometry().height())
                                   .arg(screen.width()).arg(screen.height())));
    const QSize minimum = w.minimumSizeHint();
    QVERIFY2(minimum.width() <= screen.width() && minimum.height() <= screen.height(),
             qPrintable(when + QStringLiteral(": the window needs at least %1x%2").arg(minimum.width()).arg(minimum.height())));

    QList<QDockWidget*> docks;
    for (QDockWidget* d : w.findChildren<QDockWidget*>())
        if (d->isVisible() && !d->isFloating())
            docks << d;
    QCOMPARE(docks.size(), 4);
    for (int i = 0; i < docks.size(); ++i) {
        QVERIFY2(w.rect().contains(docks[i]->geometry()),
                 qPrintable(when + QStringLiteral(": dock %1 leaves the window").arg(docks[i]->objectName())));
        for (int j = i + 1; j < docks.size(); ++j)
            QVERIFY2(!docks[i]->geometry().intersects(docks[j]->geometry()),
                     qPrintable(when + QStringLiteral(": dock %1 overlaps dock %2").arg(docks[i]->objectName(), docks[j]->objectName())));
    }
    QStringList problems;
    for (QDockWidget* d : docks)
        problems << layoutProblems(d->widget());
    problems << layoutProblems(w.workspace());
    QVERIFY2(problems.isEmpty(), qPrintable(when + QStringLiteral(":\n  ") + problems.join(QStringLiteral("\n  "))));
}

}  // namespace

class TestStudioLayout : public QObject {
    Q_OBJECT
private slots:
    void runsOnA1280x720Screen()
    {
        const QScreen* screen = QGuiApplication::primaryScreen();
        QVERIFY(screen != nullptr);
        QCOMPARE(screen->geometry().size(), QSize(1280, 720));
    }

    void fitsTheSmallestScreen()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/dog_320.png");
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/layout.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        checkFitsTheScreen(w, QStringLiteral("no model"));
        if (QTest::currentTestFailed())
            return;

        ModelSession* models = w.modelSession();
        QSignalSpy opened(models, &ModelSession::originalReady);
        w.openModel(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")));
        QVERIFY(opened.wait(kTimeout));
        QSignalSpy compressed(models, &ModelSession::compressedReady);
        w.compress();
        QVERIFY(compressed.wait(kTimeout));
        QSignalSpy image(&w, &MainWindow::imageOpened);
        w.openImage(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")));
        QVERIFY(image.wait(kTimeout));
        WorkspaceWidget* ws = w.workspace();
        QTRY_VERIFY_WITH_TIMEOUT(ws->session(WorkspaceWidget::Original)->state() == PaneState::Ready &&
                                     ws->session(WorkspaceWidget::Compressed)->state() == PaneState::Ready,
                                 kTimeout);
        ws->prompts()->addPoint(QPointF(160, 107), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Original).isEmpty() &&
                                     !ws->prediction(WorkspaceWidget::Compressed).isEmpty(),
                                 kTimeout);
        QVERIFY2(dialogs.errors().isEmpty(), qPrintable(dialogs.errors().join(QLatin1Char('\n'))));
        checkFitsTheScreen(w, QStringLiteral("model, compressed model and masks"));
        if (QTest::currentTestFailed())
            return;

        ws->setOverlayView(OverlayView::Difference);
        QTRY_VERIFY(ws->readoutText().contains(QStringLiteral("only original")));
        checkFitsTheScreen(w, QStringLiteral("difference view"));
        if (QTest::currentTestFailed())
            return;
    }
};

BIRKHOFF_REGISTER_TEST(TestStudioLayout);
#include "test_studio_layout.moc"
