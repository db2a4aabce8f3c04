// `birkhoff-studio --screenshot FILE.png`: drives the real main window into a documented state -
// model open, compressed with the panel's (default) settings, an image open, one prompt, masks of
// both models shown - then grabs the window into a PNG and quits. Each step waits for the
// session signals the user would wait for; any reported error or the time limit ends the run with
// a failure. The event-loop stall monitor runs throughout and its result is printed.
#pragma once

#include "ui/prompt_set.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

#include <optional>

namespace birkhoff::ui {

class EventLoopMonitor;
class MainWindow;

struct ScreenshotOptions {
    QString output;                     ///< PNG to write
    QString model;                      ///< checkpoint; empty: the default model
    QString image;                      ///< image; empty: the bundled cat sample
    std::optional<PromptPoint> point;   ///< prompt; empty: a positive point at the image centre
    int timeoutSeconds = 900;
};

class ScreenshotRunner : public QObject {
    Q_OBJECT
public:
    ScreenshotRunner(MainWindow& window, ScreenshotOptions options, QObject* parent = nullptr);

    /// Starts the sequence; finished() follows.
    void start();
    /// "" on success, else what went wrong.
    const QString& failure() const { return failure_; }

signals:
    void finished(bool ok);

private:
    void step(const QString& what);
    void onModelReady();
    void onCompressed();
    void onImage();
    void checkPanesReady();
    void checkMasks();
    void capture();
    void fail(const QString& why);

    MainWindow& window_;
    ScreenshotOptions options_;
    EventLoopMonitor* monitor_ = nullptr;
    QTimer deadline_;
    QTimer poll_;
    QElapsedTimer clock_;
    QString failure_;
    bool done_ = false;
    enum class Stage { Model, Compress, Image, Encode, Masks, Settle, Done } stage_ = Stage::Model;
};

}  // namespace birkhoff::ui
