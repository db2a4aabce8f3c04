// The plots dock (see plots_panel.h).
#include "ui/plots_panel.h"

#include "ui/eliding_label.h"

#include "ui/text_format.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

namespace birkhoff::ui {

PlotsPanel::PlotsPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("plotsPanel"));
    maePlot_ = new LayerBarPlot(LayerBarPlot::Metric::Mae, this);
    maePlot_->setObjectName(QStringLiteral("maePlot"));
    maePlot_->setAccessibleName(tr("Per-layer MAE plot"));
    metricPlot_ = new LayerBarPlot(LayerBarPlot::Metric::BitsPerWeight, this);
    metricPlot_->setObjectName(QStringLiteral("metricPlot"));
    metricPlot_->setAccessibleName(tr("Per-layer bits per weight or ratio plot"));
    frontier_ = new FrontierPlot(this);
    frontier_->setObjectName(QStringLiteral("frontierPlot"));
    frontier_->setAccessibleName(tr("Ratio versus MAE frontier of the settings tried"));

    metricCombo_ = new QComboBox(this);
    metricCombo_->setObjectName(QStringLiteral("metricCombo"));
    metricCombo_->setAccessibleName(tr("Second per-layer metric"));
    metricCombo_->addItem(tr("Bits per weight"));
    metricCombo_->addItem(tr("Compression ratio"));
    sourceLabel_ = new ElidingLabel(this);
    sourceLabel_->setObjectName(QStringLiteral("plotSourceLabel"));

    auto* perLayer = new QWidget(this);
    auto* header = new QHBoxLayout;
    header->addWidget(sourceLabel_, 1);
    auto* metricLabel = new QLabel(tr("Lower plot:"), perLayer);
    metricLabel->setBuddy(metricCombo_);
    header->addWidget(metricLabel);
    header->addWidget(metricCombo_);
    auto* splitter = new QSplitter(Qt::Vertical, perLayer);
    splitter->addWidget(maePlot_);
    splitter->addWidget(metricPlot_);
    auto* perLayerLayout = new QVBoxLayout(perLayer);
    perLayerLayout->setContentsMargins(0, 0, 0, 0);
    perLayerLayout->addLayout(header);
    perLayerLayout->addWidget(splitter, 1);

    tabs_ = new QTabWidget(this);
    tabs_->setObjectName(QStringLiteral("plotTabs"));
    tabs_->addTab(perLayer, tr("Per &layer"));
    tabs_->addTab(frontier_, tr("&Frontier"));
    agreement_ = new AgreementFrontierPanel(this);
    tabs_->addTab(agreement_, tr("Mask &agreement"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(tabs_);

    // One x range for both per-layer plots: zooming one follows in the other.
    connect(maePlot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), metricPlot_->xAxis,
            qOverload<const QCPRange&>(&QCPAxis::setRange));
    for (LayerBarPlot* plot : {maePlot_, metricPlot_}) {
        connect(plot, &LayerBarPlot::layerClicked, this, &PlotsPanel::layerClicked);
        connect(plot, &LayerBarPlot::layerContextMenuRequested, this, &PlotsPanel::layerContextMenuRequested);
    }
    connect(frontier_, &FrontierPlot::settingsChosen, this, &PlotsPanel::settingsChosen);
    connect(agreement_, &AgreementFrontierPanel::settingsChosen, this, &PlotsPanel::settingsChosen);
    connect(metricCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        metricPlot_->setMetric(index == 1 ? LayerBarPlot::Metric::Ratio : LayerBarPlot::Metric::BitsPerWeight);
        emit secondMetricChanged(index);
    });
}

void PlotsPanel::setReport(const LayerReport& report)
{
    maePlot_->setReport(report);
    metricPlot_->setReport(report);
    if (report.isEmpty())
        sourceLabel_->setFullText(tr("No report yet."));
    else if (!report.isEstimate)
        sourceLabel_->setFullText(tr("Compressed: ratio %1").arg(formatRatio(report.ratio())));
    else
        sourceLabel_->setFullText(tr("Estimate from %1 of the weights: ratio %2")
                                  .arg(report.sampledFraction >= 1.0 ? tr("all")
                                                                     : QStringLiteral("%1 %").arg(report.sampledFraction * 100.0, 0, 'g', 3))
                                  .arg(formatRatio(report.ratio())));
}

void PlotsPanel::setSelectedLayer(const QString& name)
{
    maePlot_->setSelectedLayer(name);
    metricPlot_->setSelectedLayer(name);
}

void PlotsPanel::setSecondMetric(int metric)
{
    metricCombo_->setCurrentIndex(metric == 1 ? 1 : 0);
}

int PlotsPanel::secondMetric() const
{
    return metricCombo_->currentIndex();
}

}  // namespace birkhoff::ui
