// The plots dock: per-layer MAE (log) and a second per-layer metric (bits per weight or ratio)
// stacked with a shared layer axis, the ratio-versus-MAE frontier of the settings tried, and the
// measured ratio-versus-mask-agreement frontier (agreement_frontier.h).
#pragma once

#include "ui/agreement_frontier.h"
#include "ui/frontier_plot.h"
#include "ui/layer_bar_plot.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QTabWidget;

namespace birkhoff::ui {

class ElidingLabel;

class PlotsPanel : public QWidget {
    Q_OBJECT
public:
    explicit PlotsPanel(QWidget* parent = nullptr);

    /// Shows a report (estimate or finished compression) in both per-layer plots.
    void setReport(const LayerReport& report);
    void setSelectedLayer(const QString& name);
    /// 0 = bits per weight, 1 = compression ratio.
    void setSecondMetric(int metric);
    int secondMetric() const;

    LayerBarPlot* maePlot() const { return maePlot_; }
    LayerBarPlot* metricPlot() const { return metricPlot_; }
    FrontierPlot* frontierPlot() const { return frontier_; }
    AgreementFrontierPanel* agreementPanel() const { return agreement_; }

signals:
    void layerClicked(const QString& name);
    void layerContextMenuRequested(const QString& name, const QPoint& globalPos);
    void settingsChosen(const birkhoff::ui::CompressionSettings& settings);
    void secondMetricChanged(int metric);

private:
    LayerBarPlot* maePlot_ = nullptr;
    LayerBarPlot* metricPlot_ = nullptr;
    FrontierPlot* frontier_ = nullptr;
    AgreementFrontierPanel* agreement_ = nullptr;
    QComboBox* metricCombo_ = nullptr;
    ElidingLabel* sourceLabel_ = nullptr;
    QTabWidget* tabs_ = nullptr;
};

}  // namespace birkhoff::ui
