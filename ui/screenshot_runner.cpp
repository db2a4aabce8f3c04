// Unattended screenshot of a documented state (see screenshot_runner.h).
#include "ui/screenshot_runner.h"

#include "ui/event_loop_monitor.h"
#include "ui/main_window.h"
#include "ui/model_session.h"
#include "ui/predictor_session.h"
#include "ui/workspace_widget.h"

#include "core/util/paths.h"

#include <QPixmap>

#include <cstdio>

namespace birkhoff::ui {

ScreenshotRunner::ScreenshotRunner(MainWindow& window, ScreenshotOptions options, QObject* parent)
    : QObject(parent), window_(window), options_(std::move(options))
{
    monitor_ = new EventLoopMonitor(this);
    deadline_.setSingleShot(true);
    deadline_.setInterval(options_.timeoutSeconds * 1000);
    connect(&deadline_, &QTimer::timeout, this,
            [this] { fail(QStringLiteral("timed out after %1 s").arg(options_.timeoutSeconds)); });
    poll_.setInterval(50);
    connect(&poll_, &QTimer::timeout, this, [this] {
        if (stage_ == Stage::Encode)
            checkPanesReady();
        else if (stage_ == Stage::Masks)
            checkMasks();
    });
    connect(&window_, &MainWindow::errorReported, this,
            [this](const QString& title, const QString& message) { fail(title + QStringLiteral(": ") + message); });
    connect(window_.modelSession(), &ModelSession::originalReady, this, &ScreenshotRunner::onModelReady);
    connect(window_.modelSession(), &ModelSession::compressedReady, this, &ScreenshotRunner::onCompressed);
    connect(window_.modelSession(), &ModelSession::cancelled, this,
            [this](const QString& operation) { fail(operation + QStringLiteral(" was cancelled")); });
    connect(&window_, &MainWindow::imageOpened, this, &ScreenshotRunner::onImage);
}

void ScreenshotRunner::step(const QString& what)
{
    std::fprintf(stderr, "screenshot: %6.1f s  %s\n", clock_.elapsed() / 1000.0, qPrintable(what));
}

void ScreenshotRunner::start()
{
    clock_.start();
    monitor_->start();
    deadline_.start();
    poll_.start();
    QString model = options_.model;
    if (model.isEmpty()) {
        model = QString::fromStdString(findDefaultModel().string());
        if (model.isEmpty()) {
            fail(QStringLiteral("no --model given and the default model (%1) is not installed")
                     .arg(QString::fromLatin1(kDefaultModelFileName)));
            return;
        }
    }
    stage_ = Stage::Model;
    step(QStringLiteral("opening model %1").arg(model));
    window_.openModel(model);
}

void ScreenshotRunner::onModelReady()
{
    if (stage_ != Stage::Model)
        return;
    if (!window_.modelSession()->originalModel()) {
        fail(QStringLiteral("the model opened but cannot run in the studio: ") +
             window_.modelSession()->originalSummary().notes.join(QLatin1Char(' ')));
        return;
    }
    stage_ = Stage::Compress;
    step(QStringLiteral("compressing with the panel's settings"));
    window_.compress();
}

void ScreenshotRunner::onCompressed()
{
    if (stage_ != Stage::Compress)
        return;
    stage_ = Stage::Image;
    const QString image = options_.image.isEmpty() ? QStringLiteral(":/samples/chelsea.jpg") : options_.image;
    step(QStringLiteral("opening image %1").arg(image));
    window_.openImage(image);
}

void ScreenshotRunner::onImage()
{
    if (stage_ != Stage::Image)
        return;
    stage_ = Stage::Encode;
    step(QStringLiteral("encoding the image with both models"));
}

void ScreenshotRunner::checkPanesReady()
{
    WorkspaceWidget* w = window_.workspace();
    for (auto pane : {WorkspaceWidget::Original, WorkspaceWidget::Compressed}) {
        const PaneState state = w->session(pane)->state();
        if (state == PaneState::Failed) {
            fail(QStringLiteral("the %1 pane failed").arg(pane == WorkspaceWidget::Original ? QStringLiteral("original")
                                                                                           : QStringLiteral("compressed")));
            return;
        }
        if (state != PaneState::Ready)
            return;
    }
    const QSize size = w->image().rgb.size();
    const PromptPoint point = options_.point.value_or(PromptPoint{QPointF(size.width() / 2.0, size.height() / 2.0), 1});
    stage_ = Stage::Masks;
    step(QStringLiteral("prompting (%1, %2) label %3").arg(point.position.x()).arg(point.position.y()).arg(point.label));
    w->prompts()->addPoint(point.position, point.label);
}

void ScreenshotRunner::checkMasks()
{
    WorkspaceWidget* w = window_.workspace();
    if (w->prediction(WorkspaceWidget::Original).isEmpty() || w->prediction(WorkspaceWidget::Compressed).isEmpty())
        return;
    stage_ = Stage::Settle;
    step(QStringLiteral("masks shown: %1").arg(w->readoutText()));
    // Let the last estimate, plots and repaints land before grabbing.
    QTimer::singleShot(800, this, &ScreenshotRunner::capture);
}

void ScreenshotRunner::capture()
{
    if (done_)
        return;
    const QPixmap shot = window_.grab();
    if (shot.isNull() || !shot.save(options_.output, "PNG")) {
        fail(QStringLiteral("could not write %1").arg(options_.output));
        return;
    }
    stage_ = Stage::Done;
    step(QStringLiteral("wrote %1 (%2 x %3)").arg(options_.output).arg(shot.width()).arg(shot.height()));
    std::fprintf(stderr,
                 "screenshot: event loop over %d heartbeats: max stall %.1f ms (%d stalls > 100 ms), max GUI-thread "
                 "CPU between beats %.1f ms\n",
                 monitor_->beats(), monitor_->maxStallMs(), monitor_->stallsOver(100.0), monitor_->maxBusyMs());
    done_ = true;
    deadline_.stop();
    poll_.stop();
    emit finished(true);
}

void ScreenshotRunner::fail(const QString& why)
{
    if (done_)
        return;
    done_ = true;
    failure_ = why;
    deadline_.stop();
    poll_.stop();
    std::fprintf(stderr, "screenshot: failed: %s\n", qPrintable(why));
    emit finished(false);
}

}  // namespace birkhoff::ui
