// Ratio-versus-MAE frontier of the settings tried (see frontier_plot.h).
#include "ui/frontier_plot.h"

#include "ui/plot_style.h"
#include "ui/text_format.h"

#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace birkhoff::ui {

FrontierPlot::FrontierPlot(QWidget* parent) : QCustomPlot(parent)
{
    setMinimumHeight(105);
    setMouseTracking(true);
    xAxis->setLabel(tr("mean MAE (log)"));
    yAxis->setLabel(tr("compression ratio"));
    xAxis->setScaleType(QCPAxis::stLogarithmic);
    QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
    xAxis->setTicker(ticker);
    xAxis->setNumberFormat(QStringLiteral("eb"));
    xAxis->setNumberPrecision(0);
    // The legend sits in a row of its own above the plot area, so it never covers a point.
    legend->setVisible(true);
    legend->setFont(QFont(font().family(), 8));
    axisRect()->insetLayout()->take(legend);
    axisRect()->insetLayout()->simplify();
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, legend);
    plotLayout()->setRowStretchFactor(0, 0.001);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(2);
    legend->setBorderPen(Qt::NoPen);

    front_ = addGraph();
    front_->setName(tr("Pareto front"));
    front_->setPen(QPen(QColor(120, 120, 120), 1, Qt::DashLine));
    front_->setLineStyle(QCPGraph::lsLine);

    estimates_ = addGraph();
    estimates_->setName(tr("estimate"));
    estimates_->setLineStyle(QCPGraph::lsNone);
    estimates_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, plot_style::pathColor(LayerPath::Hyper), 7));

    compressed_ = addGraph();
    compressed_->setName(tr("compressed"));
    compressed_->setLineStyle(QCPGraph::lsNone);
    compressed_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, plot_style::pathColor(LayerPath::Hyper), 7));

    currentMarker_ = addGraph();
    currentMarker_->setName(tr("current settings"));
    currentMarker_->setLineStyle(QCPGraph::lsNone);
    currentMarker_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(plot_style::originalColor(), 2),
                                                    Qt::NoBrush, 14));

    connect(this, &QCustomPlot::mouseMove, this, &FrontierPlot::onMouseMove);
    connect(this, &QCustomPlot::mousePress, this, &FrontierPlot::onMousePress);
    // Drag pans, the wheel zooms, a double click shows every point again.
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    connect(this, &QCustomPlot::mouseDoubleClick, this, [this] { rebuild(); });
    rebuild();
}

void FrontierPlot::addPoint(const FrontierPoint& point)
{
    if (!(point.meanMae > 0) || !(point.ratio > 0))
        return;
    for (FrontierPoint& existing : points_) {
        if (existing.settings == point.settings) {
            if (existing.estimate || !point.estimate)
                existing = point;
            rebuild();
            return;
        }
    }
    points_.append(point);
    rebuild();
}

void FrontierPlot::setCurrentSettings(const CompressionSettings& settings)
{
    current_ = settings;
    hasCurrent_ = true;
    rebuild();
}

void FrontierPlot::clearPoints()
{
    points_.clear();
    rebuild();
}

QVector<int> FrontierPlot::paretoFront() const
{
    QVector<int> order(points_.size());
    for (int i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [this](int a, int b) {
        if (points_[a].meanMae != points_[b].meanMae)
            return points_[a].meanMae < points_[b].meanMae;
        return points_[a].ratio > points_[b].ratio;
    });
    // Walking by increasing MAE, a point is on the front when its ratio beats every point with
    // a lower MAE.
    QVector<int> front;
    double bestRatio = -1;
    for (int i : order) {
        if (points_[i].ratio > bestRatio) {
            front.append(i);
            bestRatio = points_[i].ratio;
        }
    }
    return front;
}

void FrontierPlot::rebuild()
{
    QVector<double> ex, ey, cx, cy, fx, fy, mx, my;
    double lowMae = 1e300, highMae = 0, lowRatio = 1e300, highRatio = 0;
    for (const FrontierPoint& p : points_) {
        (p.estimate ? ex : cx).append(p.meanMae);
        (p.estimate ? ey : cy).append(p.ratio);
        lowMae = std::min(lowMae, p.meanMae);
        highMae = std::max(highMae, p.meanMae);
        lowRatio = std::min(lowRatio, p.ratio);
        highRatio = std::max(highRatio, p.ratio);
        if (hasCurrent_ && p.settings == current_) {
            mx.append(p.meanMae);
            my.append(p.ratio);
        }
    }
    for (int i : paretoFront()) {
        fx.append(points_[i].meanMae);
        fy.append(points_[i].ratio);
    }
    estimates_->setData(ex, ey);
    compressed_->setData(cx, cy);
    front_->setData(fx, fy, true);
    currentMarker_->setData(mx, my);
    if (points_.isEmpty()) {
        xAxis->setRange(1e-5, 1e-2);
        yAxis->setRange(0, 8);
    } else {
        xAxis->setRange(lowMae / 2.0, highMae * 2.0);
        const double pad = std::max(0.25, (highRatio - lowRatio) * 0.15);
        yAxis->setRange(std::max(0.0, lowRatio - pad), highRatio + pad);
    }
    replot(QCustomPlot::rpQueuedReplot);
}

int FrontierPlot::pointAt(const QPoint& pos) const
{
    int best = -1;
    double bestDistance = 10.0;  // pixels
    for (int i = 0; i < points_.size(); ++i) {
        const double dx = xAxis->coordToPixel(points_[i].meanMae) - pos.x();
        const double dy = yAxis->coordToPixel(points_[i].ratio) - pos.y();
        const double distance = std::hypot(dx, dy);
        if (distance <= bestDistance) {
            bestDistance = distance;
            best = i;
        }
    }
    return best;
}

void FrontierPlot::onMouseMove(QMouseEvent* event)
{
    const int i = pointAt(event->pos());
    if (i < 0) {
        QToolTip::hideText();
        return;
    }
    const FrontierPoint& p = points_[i];
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("%1\nratio %2, mean MAE %3 (%4)\nclick to restore these settings")
                           .arg(p.settings.summary(), formatRatio(p.ratio))
                           .arg(p.meanMae, 0, 'e', 2)
                           .arg(p.estimate ? tr("estimate") : tr("compressed")),
                       this);
}

QString FrontierPlot::toCsv() const
{
    const QVector<int> front = paretoFront();
    QString csv = QStringLiteral("settings,mean_mae,ratio,kind,pareto\n");
    for (int i = 0; i < points_.size(); ++i) {
        const FrontierPoint& p = points_[i];
        csv += QStringLiteral("\"%1\",%2,%3,%4,%5\n")
                   .arg(p.settings.summary())
                   .arg(p.meanMae, 0, 'g', 8)
                   .arg(p.ratio, 0, 'g', 8)
                   .arg(p.estimate ? QStringLiteral("estimate") : QStringLiteral("compressed"))
                   .arg(front.contains(i) ? 1 : 0);
    }
    return csv;
}

void FrontierPlot::onMousePress(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton)
        return;
    const int i = pointAt(event->pos());
    if (i >= 0)
        emit settingsChosen(points_[i].settings);
}

}  // namespace birkhoff::ui
