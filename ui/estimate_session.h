// The live compression estimate behind the plots: every settings change is debounced (a
// single-shot timer), the stale estimate is cancelled, and a fresh one runs off the GUI thread
// in two passes - a small deterministic sample sized to answer in about kFirstPassSeconds, then
// a larger one that refines it - through codec::CompressionEstimator.
#pragma once

#include "ui/compression_settings.h"
#include "ui/layer_report.h"

#include "core/util/progress.h"

#include <QObject>
#include <QThreadPool>
#include <QTimer>

#include <memory>

namespace birkhoff::codec {
class CompressionEstimator;
}

namespace birkhoff::ui {

class EstimateSession : public QObject {
    Q_OBJECT
public:
    explicit EstimateSession(QObject* parent = nullptr);
    /// Cancels a running estimate and waits for it.
    ~EstimateSession() override;

    /// The estimator of the open model (null: no model; pending estimates are dropped).
    void setEstimator(std::shared_ptr<const codec::CompressionEstimator> estimator);
    /// Asks for an estimate of `settings`, after kDebounceMs without a newer request.
    void request(const CompressionSettings& settings);
    /// Starts the estimate of the latest request now (skips the debounce).
    void flush();
    /// True while an estimate is scheduled or running.
    bool isBusy() const;
    /// Seconds the last first pass took (0 before any).
    double lastFirstPassSeconds() const { return lastFirstPassSeconds_; }

    static constexpr int kDebounceMs = 120;
    /// Target duration of the first (coarse) pass.
    static constexpr double kFirstPassSeconds = 0.3;

signals:
    /// An estimate for `settings`; `refined` for the second pass (or an exact first pass).
    void estimateReady(const birkhoff::ui::LayerReport& report, const birkhoff::ui::CompressionSettings& settings,
                       bool refined);
    void busyChanged(bool busy);
    void failed(const QString& message);

private:
    void start(const CompressionSettings& settings, int pass);
    double fractionForPass(int pass) const;

    QThreadPool pool_;
    QTimer debounce_;
    std::shared_ptr<const codec::CompressionEstimator> estimator_;
    CompressionSettings pending_;
    bool hasPending_ = false;
    std::shared_ptr<CancelToken> running_;   ///< token of the running estimate
    quint64 generation_ = 0;
    bool busy_ = false;
    /// Measured throughput (sampled weights per second), refined after each pass.
    double elementsPerSecond_ = 4e6;
    double firstPassFraction_ = 1.0;
    double lastFirstPassSeconds_ = 0;
};

}  // namespace birkhoff::ui
