// The ratio-versus-error frontier of every setting tried in this session (QCustomPlot): one
// point per distinct CompressionSettings (hollow for estimates, filled for finished
// compressions), the Pareto front through the non-dominated points, and the current settings
// ringed. Clicking a point emits its settings so the panel can go back to them.
#pragma once

#include "ui/compression_settings.h"

#include "ui/qcustomplot_include.h"

namespace birkhoff::ui {

struct FrontierPoint {
    CompressionSettings settings;
    double meanMae = 0;   ///< parameter-weighted mean MAE of the encoded tensors
    double ratio = 0;     ///< file size ratio
    bool estimate = true; ///< from a live estimate rather than a finished compression
};

class FrontierPlot : public QCustomPlot {
    Q_OBJECT
public:
    explicit FrontierPlot(QWidget* parent = nullptr);

    /// Adds a point, or updates the point with the same settings (a finished compression
    /// replaces an estimate, never the reverse).
    void addPoint(const FrontierPoint& point);
    /// Rings the point of `settings` (if tried).
    void setCurrentSettings(const CompressionSettings& settings);
    const QVector<FrontierPoint>& points() const { return points_; }
    /// Indices (into points()) of the Pareto-optimal points, by increasing MAE.
    QVector<int> paretoFront() const;
    /// Point under widget position `pos` (within a few pixels), or -1.
    int pointAt(const QPoint& pos) const;
    /// Removes every point.
    void clearPoints();
    /// The points as CSV: settings, mean MAE, ratio, and whether each is an estimate or on the
    /// Pareto front.
    QString toCsv() const;

signals:
    void settingsChosen(const birkhoff::ui::CompressionSettings& settings);

private:
    void rebuild();
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);

    QVector<FrontierPoint> points_;
    CompressionSettings current_;
    bool hasCurrent_ = false;
    QCPGraph* estimates_ = nullptr;
    QCPGraph* compressed_ = nullptr;
    QCPGraph* front_ = nullptr;
    QCPGraph* currentMarker_ = nullptr;
};

}  // namespace birkhoff::ui
