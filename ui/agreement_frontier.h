// The studio's measured frontier (Plots > Mask agreement): compression ratio against the mean
// mask agreement with the original model, measured on box prompts over the folder of the open
// image (core/eval/frontier.h: measureFrontierPoint), for the paper's lattice at the current
// settings, the rate-distortion codec at several target ratios and the rtn / hqq integer
// baselines. The sweep runs on a background thread, one point after the other, with progress
// and cancel; each finished point appears at once. The point of the current settings is ringed;
// clicking a Birkhoff point applies its settings.
#pragma once

#include "core/eval/frontier.h"
#include "core/util/progress.h"

#include "ui/compression_settings.h"
#include "ui/qcustomplot_include.h"

#include <QMap>
#include <QString>
#include <QThreadPool>
#include <QVector>
#include <QWidget>

#include <memory>

class QLabel;
class QProgressBar;
class QPushButton;

namespace birkhoff::ui {

class ProgressRelay;

/// One point of the studio's sweep: its frontier spec and, for Birkhoff points, the studio
/// settings that reproduce it.
struct AgreementSweepPoint {
    std::string spec;
    std::optional<CompressionSettings> settings;
};

/// The sweep for `current`: the current settings (paper lattice without overrides, or the
/// rate-distortion ratio), the paper defaults, rate-distortion ratios 6, 8, 10 and 12, rtn int8
/// per channel, int6 g64, int4 g32 and hqq int4 g32, int3 g64; no spec twice.
QVector<AgreementSweepPoint> agreementSweep(const CompressionSettings& current);

class AgreementFrontierPanel : public QWidget {
    Q_OBJECT
public:
    explicit AgreementFrontierPanel(QWidget* parent = nullptr);
    /// Cancels a running sweep and waits for it.
    ~AgreementFrontierPanel() override;

    /// The checkpoint to measure (empty: none; the Measure button is disabled).
    void setModelPath(const QString& path);
    /// The folder whose images are measured (the open image's folder).
    void setImagesFolder(const QString& folder);
    /// Rings the point of `settings`, if measured, and is what the next sweep starts from.
    void setCurrentSettings(const CompressionSettings& settings);

    /// Measured rows so far, in sweep order.
    const QVector<eval::FrontierRow>& rows() const { return rows_; }
    bool isRunning() const { return running_; }
    /// Images per sweep (the first ones of the folder in name order) and grid points per side.
    static constexpr int kImages = 4;
    static constexpr int kGrid = 4;

    QCustomPlot* plot() const { return plot_; }
    /// Index (into rows()) of the point under widget position `pos` of the plot, or -1.
    int rowAt(const QPoint& pos) const;

public slots:
    void measure();
    void cancel();

signals:
    void settingsChosen(const birkhoff::ui::CompressionSettings& settings);
    /// The sweep finished (or was cancelled, or failed with `error`).
    void finished(const QString& error);

private:
    void addRow(const eval::FrontierRow& row);
    void rebuild();
    void refreshState();
    void onPlotClicked(QMouseEvent* event);

    QCustomPlot* plot_ = nullptr;
    QPushButton* measureButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    ProgressRelay* relay_ = nullptr;
    QThreadPool pool_;
    std::shared_ptr<CancelToken> cancel_;
    bool running_ = false;
    QString modelPath_;
    QString imagesFolder_;
    CompressionSettings current_;
    QVector<eval::FrontierRow> rows_;
    QMap<QString, CompressionSettings> settingsOfSpec_;
    QMap<QString, QCPGraph*> graphs_;
    QCPGraph* currentMarker_ = nullptr;
};

}  // namespace birkhoff::ui
