// The GUI never freezes while a ViT-B-sized model is opened, estimated, compressed and encoding
// an image: an EventLoopMonitor heartbeat (5 ms) runs throughout and the largest GUI-thread CPU
// time between two beats must stay below 100 ms. The largest wall-clock gap is printed too (on a
// shared, overloaded machine it also contains time the OS gave other processes). The model is a
// synthetic checkpoint with SAM ViT-B's exact keys and shapes (runnable: it encodes images).
// Also prints the live-estimate latency. Label slow: writes a 375 MB file and encodes with ViT-B.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/compression_panel.h"
#include "ui/estimate_session.h"
#include "ui/event_loop_monitor.h"
#include "ui/main_window.h"
#include "ui/model_session.h"
#include "ui/predictor_session.h"
#include "ui/studio_settings.h"
#include "ui/workspace_widget.h"

#include "core/bench/synthetic_checkpoint.h"
#include "core/io/checkpoint.h"

#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTest>

#include <cstdio>
#include <memory>

using namespace birkhoff::ui;

namespace {

constexpr int kTimeout = 600000;

QString loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    return file.open(QIODevice::ReadOnly) ? QString::fromLatin1(file.readAll()).section(QLatin1Char(' '), 0, 2)
                                          : QStringLiteral("?");
}

void print(const char* phase, const EventLoopMonitor& m)
{
    std::printf("stalls during %-28s max GUI-thread CPU between beats %6.1f ms, max wall gap %7.1f ms, %d gaps > 100 ms "
                "(%d beats, load average %s)\n",
                phase, m.maxBusyMs(), m.maxStallMs(), m.stallsOver(100.0), m.beats(), qPrintable(loadAverage()));
    std::fflush(stdout);
}

}  // namespace

class TestStudioResponsiveness : public QObject {
    Q_OBJECT
private slots:
    void guiStaysResponsive()
    {
        const QString path = birkhoff::test::scratchDir() + QStringLiteral("/vit_b_synthetic.safetensors");
        birkhoff::io::saveCheckpoint(path.toStdString(),
                                     birkhoff::bench::makeSyntheticCheckpoint(birkhoff::bench::samVitBSpec(), 1));
        birkhoff::test::ScriptedDialogs dialogs;
        StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/responsive.ini"));
        MainWindow window(settings, dialogs);
        window.resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        EventLoopMonitor monitor;
        double worstBusy = 0;

        // Opening: reading 375 MB, building the model, preparing the estimator.
        monitor.start();
        QSignalSpy ready(window.modelSession(), &ModelSession::originalReady);
        window.openModel(path);
        QVERIFY(ready.wait(kTimeout));
        QVERIFY2(window.modelSession()->originalModel() != nullptr, "the synthetic ViT-B must be runnable");
        QTRY_VERIFY_WITH_TIMEOUT(!window.estimateSession()->isBusy() && !window.shownReport().isEmpty(), kTimeout);
        print("opening + first estimate:", monitor);
        worstBusy = std::max(worstBusy, monitor.maxBusyMs());

        // Live estimate after an edit (debounce included).
        monitor.start();
        QSignalSpy estimates(window.estimateSession(), &EstimateSession::estimateReady);
        QElapsedTimer latency;
        latency.start();
        window.findChild<QDoubleSpinBox*>(QStringLiteral("lSpinBox"))->setValue(0.05);
        QVERIFY(estimates.wait(kTimeout));
        const double firstAnswer = latency.elapsed() / 1000.0;
        QTRY_VERIFY_WITH_TIMEOUT(!window.estimateSession()->isBusy(), kTimeout);
        std::printf("live estimate (ViT-B shapes, %lld parameters): first answer %.2f s after the edit (first pass %.2f s, "
                    "%d debounce ms), refined after %.2f s\n",
                    static_cast<long long>(window.modelSession()->originalSummary().parameters), firstAnswer,
                    window.estimateSession()->lastFirstPassSeconds(), EstimateSession::kDebounceMs,
                    latency.elapsed() / 1000.0);
        print("estimating:", monitor);
        worstBusy = std::max(worstBusy, monitor.maxBusyMs());

        // Encoding an image with ViT-B, then decoding a click.
        monitor.start();
        QSignalSpy opened(&window, &MainWindow::imageOpened);
        window.openImage(QStringLiteral(":/samples/chelsea.jpg"));
        QVERIFY(opened.wait(kTimeout));
        WorkspaceWidget* ws = window.workspace();
        QTRY_VERIFY_WITH_TIMEOUT(ws->session(WorkspaceWidget::Original)->state() == PaneState::Ready, kTimeout);
        ws->prompts()->addPoint(QPointF(225, 150), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Original).isEmpty(), kTimeout);
        std::printf("ViT-B image encoder %.0f ms, decoder %.1f ms\n", ws->session(WorkspaceWidget::Original)->encoderMs(),
                    ws->session(WorkspaceWidget::Original)->lastDecoderMs());
        print("encoding + decoding:", monitor);
        worstBusy = std::max(worstBusy, monitor.maxBusyMs());

        // Compressing (the first 30 % of it, then cancelled).
        monitor.start();
        auto* bar = window.findChild<QProgressBar*>(QStringLiteral("compressProgress"));
        QSignalSpy cancelled(window.modelSession(), &ModelSession::cancelled);
        window.compress();
        QTRY_VERIFY_WITH_TIMEOUT(bar->value() >= 300, kTimeout);
        window.modelSession()->cancel();
        QVERIFY(cancelled.wait(kTimeout));
        print("compressing (30 %, cancelled):", monitor);
        worstBusy = std::max(worstBusy, monitor.maxBusyMs());

        QVERIFY2(worstBusy < 100.0, qPrintable(QStringLiteral("the GUI thread was busy for %1 ms at once").arg(worstBusy)));
        QVERIFY(dialogs.errors().isEmpty());
    }
};

BIRKHOFF_REGISTER_TEST(TestStudioResponsiveness);
#include "test_studio_responsiveness.moc"
