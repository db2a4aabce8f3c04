// The studio end to end on the small golden SAM (../shared/golden/sam_vit_tiny), driving the
// real widgets by objectName: open the model through the File action, see the estimate plots
// change with l, U and M, compress with the progress bar reaching 100 %, open dog_320.png, click
// a point and get masks in both panes with an IoU readout, switch candidates and the difference
// view, undo / redo the point, set a per-layer override through the layer menu, and export the
// masks as PNG and COCO RLE JSON, open the saved compressed file; then the golden SAM 2.1 tiny
// checkpoint compresses and runs in both panes. One main window serves all steps (in order).
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/compression_panel.h"
#include "ui/estimate_session.h"
#include "ui/frontier_plot.h"
#include "ui/layer_bar_plot.h"
#include "ui/main_window.h"
#include "ui/model_session.h"
#include "ui/plots_panel.h"
#include "ui/predictor_session.h"
#include "ui/studio_settings.h"
#include "ui/workspace_widget.h"

#include "core/eval/rle.h"
#include "core/io/model_file_kind.h"
#include "core/predict/image_io.h"

#include <opencv2/core.hpp>

#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QMouseEvent>
#include <QProgressBar>
#include <QScrollBar>
#include <QTableView>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>
#include <QTimer>

#include <cmath>
#include <memory>

using namespace birkhoff::ui;

namespace {

constexpr int kTimeout = 120000;

bool sameValues(const QVector<double>& a, const QVector<double>& b)
{
    if (a.size() != b.size())
        return false;
    for (int i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))))
            return false;
    return true;
}

}  // namespace

class TestStudioGolden : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/dog_320.png");
        settings_ = std::make_unique<StudioSettings>(birkhoff::test::scratchDir() + QStringLiteral("/golden.ini"));
        window_ = std::make_unique<MainWindow>(*settings_, dialogs_);
        window_->resize(1400, 900);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    }

    void cleanupTestCase() { window_.reset(); }

    void opensTheModel()
    {
        QSignalSpy ready(window_->modelSession(), &ModelSession::originalReady);
        dialogs_.setNextFileName(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")));
        window_->action(QStringLiteral("actionOpenModel"))->trigger();
        QVERIFY(ready.wait(kTimeout));
        QVERIFY2(dialogs_.errors().isEmpty(), qPrintable(dialogs_.errors().join(QLatin1Char('\n'))));
        const ModelSummary& s = window_->modelSession()->originalSummary();
        QCOMPARE(s.parameters, 323500);  // every state-dict element (manifest num_parameters: 323468 without buffers)
        QVERIFY2(s.family.contains(QStringLiteral("SAM")), qPrintable(s.family));
        QCOMPARE(s.runtime, QStringLiteral("dense float32"));
        const QString panel = window_->findChild<QLabel*>(QStringLiteral("originalModelLabel"))->text();
        QVERIFY(panel.contains(QStringLiteral("sam_vit_tiny.pth")));
        QVERIFY(panel.contains(QStringLiteral("323500")));
        QVERIFY(window_->action(QStringLiteral("actionCompress"))->isEnabled());
        QVERIFY(settings_->value(settings::kRecentModels).first().endsWith(QStringLiteral("sam_vit_tiny.pth")));
        // CPU-only LibTorch here: the device list says why CUDA cannot be used.
        QVERIFY(!window_->findChild<QLabel*>(QStringLiteral("deviceReasonLabel"))->text().isEmpty());
        // The live estimate fills the plots.
        LayerBarPlot* mae = window_->plotsPanel()->maePlot();
        QTRY_VERIFY_WITH_TIMEOUT(mae->report().rows.size() == 202, kTimeout);
        QVERIFY(window_->shownReport().isEstimate);
        // The layer table needs no horizontal scrolling; the tensor name takes the spare width.
        auto* table = window_->findChild<QTableView*>(QStringLiteral("layerTable"));
        QVERIFY(table != nullptr);
        QTest::qWait(100);
        QCOMPARE(table->horizontalScrollBar()->maximum(), 0);
        for (int column = 1; column < table->model()->columnCount(); ++column)
            QVERIFY(table->isColumnHidden(column) || table->columnWidth(0) >= table->columnWidth(column));
    }

    void settingsChangeThePlots()
    {
        LayerBarPlot* mae = window_->plotsPanel()->maePlot();
        LayerBarPlot* bits = window_->plotsPanel()->metricPlot();
        QTRY_VERIFY_WITH_TIMEOUT(!window_->estimateSession()->isBusy(), kTimeout);
        QVector<double> before = mae->plottedValues();

        auto* lSpin = window_->findChild<QDoubleSpinBox*>(QStringLiteral("lSpinBox"));
        lSpin->setValue(0.02);
        QTRY_VERIFY_WITH_TIMEOUT(!sameValues(mae->plottedValues(), before) && !window_->estimateSession()->isBusy(), kTimeout);
        QCOMPARE(window_->shownReport().rows.first().l.value_or(0), 0.02f);
        before = mae->plottedValues();

        const QVector<double> bitsBefore = bits->plottedValues();
        auto* uEdit = window_->findChild<QLineEdit*>(QStringLiteral("uListEdit"));
        uEdit->setFocus();
        uEdit->selectAll();
        QTest::keyClicks(uEdit, QStringLiteral("64"));
        QTRY_VERIFY_WITH_TIMEOUT(!sameValues(bits->plottedValues(), bitsBefore) && !window_->estimateSession()->isBusy(), kTimeout);
        before = mae->plottedValues();

        window_->findChild<QSpinBox*>(QStringLiteral("mSpinBox"))->setValue(0);
        QTRY_VERIFY_WITH_TIMEOUT(!sameValues(mae->plottedValues(), before) && !window_->estimateSession()->isBusy(), kTimeout);
        // Every setting tried is on the frontier.
        QVERIFY(window_->plotsPanel()->frontierPlot()->points().size() >= 3);

        window_->action(QStringLiteral("actionPaperDefaults"))->trigger();
        QCOMPARE(window_->compressionPanel()->settings(), CompressionSettings{});
        QTRY_VERIFY_WITH_TIMEOUT(!window_->estimateSession()->isBusy(), kTimeout);
    }

    void compressesToOneHundredPercent()
    {
        QSignalSpy progress(window_->modelSession(), &ModelSession::progress);
        QSignalSpy done(window_->modelSession(), &ModelSession::compressedReady);
        window_->action(QStringLiteral("actionCompress"))->trigger();
        QVERIFY(window_->modelSession()->isBusy());
        QVERIFY(window_->action(QStringLiteral("actionCancel"))->isEnabled());
        QVERIFY(done.wait(kTimeout));
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().first().toDouble(), 1.0);
        auto* bar = window_->findChild<QProgressBar*>(QStringLiteral("compressProgress"));
        QCOMPARE(bar->value(), bar->maximum());
        QVERIFY(!window_->shownReport().isEstimate);
        QVERIFY(window_->shownReport().ratio() > 2.0);
        QVERIFY(window_->action(QStringLiteral("actionSaveCompressed"))->isEnabled());
        bool compressedPoint = false;
        for (const FrontierPoint& p : window_->plotsPanel()->frontierPlot()->points())
            compressedPoint = compressedPoint || (!p.estimate && p.settings == CompressionSettings{});
        QVERIFY(compressedPoint);
        QVERIFY(window_->workspace()->session(WorkspaceWidget::Compressed)->hasModel());
    }

    void savesTheCompressedModel()
    {
        const QString path = birkhoff::test::scratchDir() + QStringLiteral("/tiny_compressed.safetensors");
        QSignalSpy saved(window_->modelSession(), &ModelSession::saved);
        dialogs_.setNextFileName(path);
        window_->action(QStringLiteral("actionSaveCompressed"))->trigger();
        QVERIFY(saved.wait(kTimeout));
        // The suggested name says what was compressed and how.
        QCOMPARE(QFileInfo(dialogs_.suggestions().last()).fileName(),
                 QStringLiteral("sam_vit_tiny-l0.1-U1225_1600-M3.safetensors"));
        QVERIFY(QFileInfo::exists(path));
        QCOMPARE(static_cast<quint64>(QFileInfo(path).size()), window_->shownReport().compressedBytes);
        QCOMPARE(birkhoff::io::detectModelFileKind(path.toStdString()), birkhoff::io::ModelFileKind::Compressed);
    }

    void changedSettingsSayCompressAgain()
    {
        auto* state = window_->findChild<QLabel*>(QStringLiteral("compressedStateLabel"));
        QVERIFY(state != nullptr);
        QCOMPARE(window_->compressionPanel()->compressedState(), CompressionPanel::CompressedState::Current);
        QVERIFY(!state->isHidden());
        CompressionSettings other;
        other.l = 0.2;
        window_->compressionPanel()->setSettings(other);
        emit window_->compressionPanel()->settingsChanged(other);
        QCOMPARE(window_->compressionPanel()->compressedState(), CompressionPanel::CompressedState::Stale);
        QVERIFY2(state->text().contains(QStringLiteral("Compress again")) &&
                     state->text().contains(QStringLiteral("l=0.1 U=1225,1600 M=3")),
                 qPrintable(state->text()));
        // Save compressed does not save something other than what the panel shows.
        const QString path = birkhoff::test::scratchDir() + QStringLiteral("/stale.safetensors");
        dialogs_.clearErrors();
        window_->action(QStringLiteral("actionSaveCompressed"))->trigger();
        QCOMPARE(dialogs_.errors().size(), 1);
        QVERIFY2(dialogs_.errors().first().contains(QStringLiteral("l=0.2")), qPrintable(dialogs_.errors().first()));
        QVERIFY(!QFileInfo::exists(path));
        dialogs_.clearErrors();
        window_->compressionPanel()->setSettings(CompressionSettings{});
        emit window_->compressionPanel()->settingsChanged(CompressionSettings{});
        QCOMPARE(window_->compressionPanel()->compressedState(), CompressionPanel::CompressedState::Current);
    }

    void clickGivesMasksInBothPanes()
    {
        WorkspaceWidget* ws = window_->workspace();
        QSignalSpy opened(window_.get(), &MainWindow::imageOpened);
        dialogs_.setNextFileName(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")));
        window_->action(QStringLiteral("actionOpenImage"))->trigger();
        QVERIFY(opened.wait(kTimeout));
        QTRY_VERIFY_WITH_TIMEOUT(ws->session(WorkspaceWidget::Original)->state() == PaneState::Ready &&
                                     ws->session(WorkspaceWidget::Compressed)->state() == PaneState::Ready,
                                 kTimeout);
        ImagePane* pane = ws->pane(WorkspaceWidget::Original);
        const QPoint at = pane->imageToWidget(QPointF(160, 107)).toPoint();
        QTest::mouseClick(pane, Qt::LeftButton, {}, at);
        QCOMPARE(ws->prompts()->prompts().points.size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Original).isEmpty() &&
                                     !ws->prediction(WorkspaceWidget::Compressed).isEmpty(),
                                 kTimeout);
        // One prompt with multimask: three candidates per model, each pane showing its best.
        QCOMPARE(ws->prediction(WorkspaceWidget::Original).candidates.size(), 3);
        QCOMPARE(ws->prediction(WorkspaceWidget::Compressed).candidates.size(), 3);
        const double iou = ws->maskIouBetweenPanes();
        QVERIFY(iou >= 0.0 && iou <= 1.0);
        const QString iouText = window_->findChild<QLabel*>(QStringLiteral("iouLabel"))->text();
        QVERIFY2(iouText.startsWith(QStringLiteral("IoU 0.")) || iouText == QStringLiteral("IoU 1.0000"), qPrintable(iouText));
        const QString readout = window_->findChild<QLabel*>(QStringLiteral("readoutLabel"))->text();
        QVERIFY2(readout.contains(QStringLiteral("predicted IoU")) && readout.contains(QStringLiteral("encoder")) &&
                     readout.contains(QStringLiteral("decoder")),
                 qPrintable(readout));

        window_->action(QStringLiteral("actionCandidate2"))->trigger();
        QCOMPARE(ws->shownCandidate(WorkspaceWidget::Original), 1);
        QCOMPARE(ws->shownCandidate(WorkspaceWidget::Compressed), 1);
        window_->action(QStringLiteral("actionCandidateBest"))->trigger();
        QCOMPARE(ws->shownCandidate(WorkspaceWidget::Original), ws->prediction(WorkspaceWidget::Original).bestIndex);
        window_->action(QStringLiteral("actionDifference"))->trigger();
        QCOMPARE(ws->overlayView(), OverlayView::Difference);
        QVERIFY(ws->readoutText().contains(QStringLiteral("only original")));
        window_->action(QStringLiteral("actionDifference"))->trigger();
        QCOMPARE(ws->overlayView(), OverlayView::Masks);
    }

    void exportsMasks()
    {
        WorkspaceWidget* ws = window_->workspace();
        const QString dir = birkhoff::test::scratchDir();
        dialogs_.setNextFileName(dir + QStringLiteral("/dog.png"));
        window_->action(QStringLiteral("actionExportMasksPng"))->trigger();
        const cv::Mat original = birkhoff::predict::readMaskPng((dir + QStringLiteral("/dog_original.png")).toStdString());
        const cv::Mat compressed = birkhoff::predict::readMaskPng((dir + QStringLiteral("/dog_compressed.png")).toStdString());
        QCOMPARE(original.cols, 320);
        QCOMPARE(original.rows, 214);
        QCOMPARE(static_cast<qint64>(cv::countNonZero(original)),
                 ws->prediction(WorkspaceWidget::Original).candidates[ws->shownCandidate(WorkspaceWidget::Original)].area);
        QVERIFY(!compressed.empty());

        dialogs_.setNextFileName(dir + QStringLiteral("/dog.json"));
        window_->action(QStringLiteral("actionExportMasksCoco"))->trigger();
        QFile file(dir + QStringLiteral("/dog.json"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
        const QJsonArray annotations = root.value(QStringLiteral("annotations")).toArray();
        QCOMPARE(annotations.size(), 2);
        const QJsonObject first = annotations[0].toObject();
        QCOMPARE(first.value(QStringLiteral("model")).toString(), QStringLiteral("original"));
        const QJsonObject seg = first.value(QStringLiteral("segmentation")).toObject();
        const birkhoff::eval::Rle rle = birkhoff::eval::rleFromString(
            seg.value(QStringLiteral("counts")).toString().toStdString(), 214, 320);
        const cv::Mat decoded = birkhoff::eval::decodeRle(rle);
        QCOMPARE(cv::countNonZero(decoded != original), 0);  // the RLE is the exported mask, column-major
        QCOMPARE(root.value(QStringLiteral("iou_between_models")).toDouble(), ws->maskIouBetweenPanes());
        QVERIFY(dialogs_.errors().isEmpty());
    }

    void undoRemovesThePoint()
    {
        WorkspaceWidget* ws = window_->workspace();
        QVERIFY(window_->action(QStringLiteral("actionUndo"))->isEnabled());
        QTest::keyClick(window_.get(), Qt::Key_Z, Qt::ControlModifier);
        QVERIFY(ws->prompts()->prompts().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(ws->prediction(WorkspaceWidget::Original).isEmpty() &&
                                     ws->prediction(WorkspaceWidget::Compressed).isEmpty(),
                                 kTimeout);
        QCOMPARE(window_->findChild<QLabel*>(QStringLiteral("iouLabel"))->text(), QStringLiteral("IoU -"));
        window_->action(QStringLiteral("actionRedo"))->trigger();
        QCOMPARE(ws->prompts()->prompts().points.size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Original).isEmpty(), kTimeout);
        // A negative point (right click) and a box refine the prompt; several prompts give one mask.
        ImagePane* pane = ws->pane(WorkspaceWidget::Compressed);
        QTest::mouseClick(pane, Qt::RightButton, {}, pane->imageToWidget(QPointF(30, 30)).toPoint());
        QCOMPARE(ws->prompts()->prompts().points.last().label, 0);
        QTRY_VERIFY_WITH_TIMEOUT(ws->prediction(WorkspaceWidget::Compressed).prompts.points.size() == 2 &&
                                     ws->prediction(WorkspaceWidget::Original).prompts.points.size() == 2,
                                 kTimeout);
        QCOMPARE(ws->prediction(WorkspaceWidget::Original).candidates.size(), 1);
        window_->action(QStringLiteral("actionClearPrompts"))->trigger();
        QVERIFY(ws->prompts()->prompts().isEmpty());
    }

    void hoverPreviewFollowsTheMouse()
    {
        WorkspaceWidget* ws = window_->workspace();
        ImagePane* pane = ws->pane(WorkspaceWidget::Original);
        ws->prompts()->addPoint(QPointF(160, 107), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Original).isEmpty() &&
                                     !ws->prediction(WorkspaceWidget::Compressed).isEmpty(),
                                 kTimeout);
        // The tiny model decodes in milliseconds, well under the preview limit.
        QVERIFY(ws->session(WorkspaceWidget::Original)->lastDecoderMs() < WorkspaceWidget::kPreviewMaxDecodeMs);
        const QPointF hover = pane->imageToWidget(QPointF(60, 60));
        QMouseEvent move(QEvent::MouseMove, hover, pane->mapToGlobal(hover), Qt::NoButton, Qt::NoButton, {});
        QApplication::sendEvent(pane, &move);
        const QString committedIou = window_->findChild<QLabel*>(QStringLiteral("iouLabel"))->text();
        QVERIFY(committedIou.startsWith(QStringLiteral("IoU ")));
        QTRY_VERIFY_WITH_TIMEOUT(pane->showsPreview() && ws->pane(WorkspaceWidget::Compressed)->showsPreview(), kTimeout);
        QCOMPARE(ws->prompts()->prompts().points.size(), 1);  // a preview adds no prompt
        // The previewed point is drawn in both panes; the readout says it is a preview and keeps
        // the clicked prompts' IoU.
        QCOMPARE(pane->hoverPoint(), std::optional<QPointF>(QPointF(60, 60)));
        QCOMPARE(ws->pane(WorkspaceWidget::Compressed)->hoverPoint(), std::optional<QPointF>(QPointF(60, 60)));
        const QString previewIou = window_->findChild<QLabel*>(QStringLiteral("iouLabel"))->text();
        QVERIFY2(previewIou.startsWith(QStringLiteral("Preview IoU")) &&
                     previewIou.contains(QStringLiteral("(clicked: %1)").arg(committedIou.mid(4))),
                 qPrintable(previewIou + QStringLiteral(" / ") + committedIou));
        QVERIFY(window_->findChild<QLabel*>(QStringLiteral("readoutLabel"))->text().startsWith(QStringLiteral("Preview: ")));
        QEvent leave(QEvent::Leave);
        QApplication::sendEvent(pane, &leave);
        QVERIFY(!pane->showsPreview());
        QVERIFY(!pane->hoverPoint());
        QCOMPARE(window_->findChild<QLabel*>(QStringLiteral("iouLabel"))->text(), committedIou);
        window_->action(QStringLiteral("actionLivePreview"))->trigger();
        QVERIFY(!ws->livePreview());
        QApplication::sendEvent(pane, &move);
        QTest::qWait(100);
        QVERIFY(!pane->showsPreview());
        window_->action(QStringLiteral("actionLivePreview"))->trigger();
        window_->action(QStringLiteral("actionClearPrompts"))->trigger();
    }

    void droppedImageReusesCachedEmbeddings()
    {
        WorkspaceWidget* ws = window_->workspace();
        const QString image = birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png"));
        QSignalSpy opened(window_.get(), &MainWindow::imageOpened);
        QMimeData data;
        data.setUrls({QUrl::fromLocalFile(image)});
        QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &data, Qt::LeftButton, {});
        QApplication::sendEvent(window_.get(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &data, Qt::LeftButton, {});
        QApplication::sendEvent(window_.get(), &drop);
        QVERIFY(opened.wait(kTimeout));
        QTRY_VERIFY_WITH_TIMEOUT(ws->session(WorkspaceWidget::Original)->state() == PaneState::Ready &&
                                     ws->session(WorkspaceWidget::Compressed)->state() == PaneState::Ready,
                                 kTimeout);
        // Same pixels, same models: both embeddings come from the cache.
        QVERIFY(ws->session(WorkspaceWidget::Original)->embeddingFromCache());
        QVERIFY(ws->session(WorkspaceWidget::Compressed)->embeddingFromCache());
        QVERIFY(ws->prompts()->prompts().isEmpty());
        // Both files are in the recent menus.
        QCOMPARE(settings_->value(settings::kRecentImages).first(), image);
        auto* recent = window_->findChild<QMenu*>(QStringLiteral("recentImagesMenu"));
        QVERIFY(!recent->actions().isEmpty());
        QCOMPARE(recent->actions().first()->data().toString(), image);
    }

    void layerMenuSetsOverrides()
    {
        const QString layer = window_->shownReport().rows.first().name;
        QTimer::singleShot(200, this, [] {
            auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
            if (menu == nullptr)
                return;
            // Activate the entry as a user would (keyboard), so QMenu::exec() returns it.
            menu->setActiveAction(menu->findChild<QAction*>(QStringLiteral("actionOverrideKeepRaw")));
            QTest::keyClick(menu, Qt::Key_Return);
        });
        window_->plotsPanel()->maePlot()->layerContextMenuRequested(layer, window_->mapToGlobal(QPoint(300, 300)));
        const CompressionSettings s = window_->compressionPanel()->settings();
        QVERIFY(s.overrides.contains(layer));
        QVERIFY(s.overrides.value(layer).keepRaw);
        QTRY_VERIFY_WITH_TIMEOUT(window_->shownReport().isEstimate && window_->shownReport().rows.first().overridden &&
                                     window_->shownReport().rows.first().path == LayerPath::Raw,
                                 kTimeout);
    }

    void opensTheSavedCompressedFile()
    {
        const QString path = birkhoff::test::scratchDir() + QStringLiteral("/tiny_compressed.safetensors");
        QVERIFY(QFileInfo::exists(path));  // written by savesTheCompressedModel
        QSignalSpy ready(window_->modelSession(), &ModelSession::compressedReady);
        dialogs_.setNextFileName(path);
        window_->action(QStringLiteral("actionOpenCompressed"))->trigger();
        QVERIFY(ready.wait(kTimeout));
        QVERIFY2(dialogs_.errors().isEmpty(), qPrintable(dialogs_.errors().join(QLatin1Char('\n'))));
        const LayerReport& report = window_->modelSession()->compressedReport();
        QCOMPARE(report.rows.size(), 202);
        QCOMPARE(report.compressedBytes, static_cast<quint64>(QFileInfo(path).size()));
        QVERIFY(report.encodedCount() > 100);
        const ModelSummary& s = window_->modelSession()->compressedSummary();
        QVERIFY2(s.runtime.startsWith(QStringLiteral("HyperLinear on")), qPrintable(s.runtime));
        QVERIFY(window_->findChild<QLabel*>(QStringLiteral("compressedModelLabel"))->text().contains(
            QStringLiteral("tiny_compressed.safetensors")));
        // The file's model runs in the compressed pane and answers prompts.
        WorkspaceWidget* ws = window_->workspace();
        QTRY_VERIFY_WITH_TIMEOUT(ws->session(WorkspaceWidget::Compressed)->state() == PaneState::Ready, kTimeout);
        ws->prompts()->addPoint(QPointF(100, 80), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Compressed).isEmpty() &&
                                     !ws->prediction(WorkspaceWidget::Original).isEmpty(),
                                 kTimeout);
        QVERIFY(ws->maskIouBetweenPanes() >= 0.0);
    }

    void sam2CompressesAndRunsInBothPanes()
    {
        // The golden SAM 2.1 checkpoint holds Linear weights of the video memory that the image
        // model does not run; compressing it must still give a runnable compressed model.
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/sam2_tiny.pth");
        QSignalSpy failed(window_->modelSession(), &ModelSession::failed);
        QSignalSpy opened(window_->modelSession(), &ModelSession::originalReady);
        window_->openFile(birkhoff::test::goldenPath(QStringLiteral("sam2_tiny/sam2_tiny.pth")));
        QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.isEmpty() ? QString() : failed.first().at(1).toString()));
        QSignalSpy compressed(window_->modelSession(), &ModelSession::compressedReady);
        window_->action(QStringLiteral("actionCompress"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!compressed.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.isEmpty() ? QString() : failed.first().at(1).toString()));
        const QString runtime = window_->modelSession()->compressedSummary().runtime;
        QVERIFY2(runtime.startsWith(QStringLiteral("HyperLinear on")), qPrintable(runtime));
        WorkspaceWidget* ws = window_->workspace();
        ws->prompts()->addPoint(QPointF(160, 107), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Original).isEmpty() &&
                                     !ws->prediction(WorkspaceWidget::Compressed).isEmpty(),
                                 kTimeout);
        QCOMPARE(ws->session(WorkspaceWidget::Compressed)->state(), PaneState::Ready);
        QVERIFY2(dialogs_.errors().isEmpty(), qPrintable(dialogs_.errors().join(QLatin1Char('\n'))));
    }

private:
    birkhoff::test::ScriptedDialogs dialogs_;
    std::unique_ptr<StudioSettings> settings_;
    std::unique_ptr<MainWindow> window_;
};

BIRKHOFF_REGISTER_TEST(TestStudioGolden);
#include "test_studio_golden.moc"
