// Per-layer bar plot (see layer_bar_plot.h).
#include "ui/layer_bar_plot.h"

#include "ui/plot_style.h"
#include "ui/text_format.h"

#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <limits>

namespace birkhoff::ui {

namespace {

constexpr std::array<LayerPath, 4> kPaths{LayerPath::Hyper, LayerPath::Raw, LayerPath::Buffer, LayerPath::Small};

}  // namespace

LayerBarPlot::LayerBarPlot(Metric metric, QWidget* parent) : QCustomPlot(parent), metric_(metric)
{
    setMinimumHeight(105);  // two of them and the image panes fit a 720-pixel screen
    setContextMenuPolicy(Qt::CustomContextMenu);
    setMouseTracking(true);
    legend->setVisible(true);
    legend->setFont(QFont(font().family(), 8));
    legend->setRowSpacing(-3);
    // The legend has a row of its own above the bars, so it covers neither bars nor the axis
    // labels, and the bars keep the full width.
    axisRect()->insetLayout()->take(legend);
    axisRect()->insetLayout()->simplify();
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, legend);
    plotLayout()->setRowStretchFactor(0, 0.001);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(4);
    legend->setBorderPen(Qt::NoPen);
    legend->setMargins(QMargins(2, 0, 2, 0));
    xAxis->setLabel(tr("layer by block (drag: pan, wheel: zoom)"));
    // Block ticks are thinned to the labels that fit the axis at its current width and zoom.
    connect(this, &QCustomPlot::beforeReplot, this, &LayerBarPlot::thinBlockTicks);
    xAxis->setTickLabelFont(QFont(font().family(), 7));
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    axisRect()->setRangeDrag(Qt::Horizontal);
    axisRect()->setRangeZoom(Qt::Horizontal);
    for (LayerPath path : kPaths) {
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(layerPathName(path));  // short, so four fit in a row of a narrow dock
        bars->setWidth(0.8);
        bars->setPen(Qt::NoPen);
        bars->setBrush(plot_style::pathColor(path));
        bars_[static_cast<std::size_t>(path)] = bars;
    }
    selectionLine_ = new QCPItemStraightLine(this);
    selectionLine_->setPen(QPen(QColor(0, 0, 0, 160), 1, Qt::DashLine));
    selectionLine_->setVisible(false);

    connect(this, &QCustomPlot::mouseMove, this, &LayerBarPlot::onMouseMove);
    connect(this, &QCustomPlot::mousePress, this, &LayerBarPlot::onMousePress);
    connect(this, &QCustomPlot::mouseRelease, this, &LayerBarPlot::onMouseRelease);
    connect(this, &QCustomPlot::mouseDoubleClick, this, [this] { showAllLayers(); });
    connect(this, &QWidget::customContextMenuRequested, this, &LayerBarPlot::onContextMenu);
    rebuild();
}

void LayerBarPlot::setMetric(Metric metric)
{
    if (metric_ == metric)
        return;
    metric_ = metric;
    rebuild();
}

void LayerBarPlot::setReport(const LayerReport& report)
{
    report_ = report;
    rebuild();
}

void LayerBarPlot::setSelectedLayer(const QString& name)
{
    selected_ = name;
    const int row = report_.indexOf(name);
    selectionLine_->setVisible(row >= 0);
    if (row >= 0) {
        selectionLine_->point1->setCoords(row, 1);
        selectionLine_->point2->setCoords(row, 2);
    }
    replot(QCustomPlot::rpQueuedReplot);
}

double LayerBarPlot::valueOf(const LayerRow& row) const
{
    switch (metric_) {
    case Metric::Mae: return row.mae > 0 ? row.mae : std::numeric_limits<double>::quiet_NaN();
    case Metric::BitsPerWeight: return row.bitsPerWeight;
    case Metric::Ratio: return row.ratio();
    }
    return std::numeric_limits<double>::quiet_NaN();
}

QVector<double> LayerBarPlot::plottedValues() const
{
    QVector<double> values;
    values.reserve(report_.rows.size());
    for (const LayerRow& row : report_.rows)
        values.append(valueOf(row));
    return values;
}

void LayerBarPlot::rebuild()
{
    for (QCPItemStraightLine* line : thresholdLines_)
        removeItem(line);
    for (QCPItemText* label : thresholdLabels_)
        removeItem(label);
    thresholdLines_.clear();
    thresholdLabels_.clear();

    const bool logScale = metric_ == Metric::Mae;
    yAxis->setScaleType(logScale ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (logScale) {
        QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
        ticker->setLogBase(10);
        yAxis->setTicker(ticker);
        yAxis->setNumberFormat(QStringLiteral("eb"));
        yAxis->setNumberPrecision(0);
    } else {
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        yAxis->setNumberFormat(QStringLiteral("gb"));
        yAxis->setNumberPrecision(3);
    }
    switch (metric_) {
    case Metric::Mae: yAxis->setLabel(tr("MAE (log)")); break;
    case Metric::BitsPerWeight: yAxis->setLabel(tr("bits / weight")); break;
    case Metric::Ratio: yAxis->setLabel(tr("compression ratio")); break;
    }

    std::array<QVector<double>, 4> keys;
    std::array<QVector<double>, 4> values;
    double low = std::numeric_limits<double>::infinity();
    double high = 0;
    for (int i = 0; i < report_.rows.size(); ++i) {
        const LayerRow& row = report_.rows[i];
        const double value = valueOf(row);
        if (!std::isfinite(value))
            continue;
        keys[static_cast<std::size_t>(row.path)].append(i);
        values[static_cast<std::size_t>(row.path)].append(value);
        low = std::min(low, value);
        high = std::max(high, value);
    }
    for (LayerPath path : kPaths) {
        const auto p = static_cast<std::size_t>(path);
        bars_[p]->setData(keys[p], values[p], true);
        bars_[p]->setBaseValue(logScale ? 1e-12 : 0.0);
        if (keys[p].isEmpty())
            bars_[p]->removeFromLegend();
        else
            bars_[p]->addToLegend();
    }

    if (logScale) {
        const double floor = std::isfinite(low) ? std::min(low, kMaeStop) / 3.0 : 1e-5;
        const double ceiling = std::max(high, kMaeRawFallback) * 3.0;
        yAxis->setRange(floor, ceiling);
        for (const auto& [value, text] : {std::pair<double, QString>{kMaeStop, tr("0.001 stop")},
                                          std::pair<double, QString>{kMaeRawFallback, tr("0.006 raw fallback")}}) {
            auto* line = new QCPItemStraightLine(this);
            line->setPen(QPen(plot_style::thresholdColor(), 1, Qt::DashLine));
            line->point1->setCoords(0, value);
            line->point2->setCoords(1, value);
            thresholdLines_.append(line);
            auto* label = new QCPItemText(this);
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
            label->position->setTypeY(QCPItemPosition::ptPlotCoords);
            label->position->setCoords(0.01, value);
            label->setText(text);
            label->setColor(plot_style::thresholdColor());
            label->setFont(QFont(font().family(), 7));
            thresholdLabels_.append(label);
        }
    } else {
        yAxis->setRange(0, high > 0 ? high * 1.1 : 1.0);
    }
    updateBlockTicks();
    const int count = static_cast<int>(report_.rows.size());
    xAxis->setRange(-1, std::max(count, 1));
    setSelectedLayer(selected_);
    replot(QCustomPlot::rpQueuedReplot);
}

int LayerBarPlot::rowAt(const QPoint& pos) const
{
    if (report_.rows.isEmpty() || !axisRect()->rect().contains(pos))
        return -1;
    const int row = static_cast<int>(std::lround(xAxis->pixelToCoord(pos.x())));
    return row >= 0 && row < report_.rows.size() ? row : -1;
}

QString LayerBarPlot::tooltipForRow(int row) const
{
    if (row < 0 || row >= report_.rows.size())
        return {};
    const LayerRow& r = report_.rows[row];
    QString text = QStringLiteral("<b>%1</b><br>shape %2 &middot; %3").arg(r.name.toHtmlEscaped(), shapeText(r.shape),
                                                                          layerPathName(r.path));
    if (r.path == LayerPath::Hyper) {
        text += QStringLiteral("<br>l = %1, U = %2, K = %3<br>MAE %4, max |err| %5<br>%6 bits/index, %7 bits/weight")
                    .arg(r.l ? QString::number(*r.l, 'g', 4) : QStringLiteral("?"))
                    .arg(r.U ? QString::number(*r.U) : QStringLiteral("?"))
                    .arg(r.K ? QString::number(*r.K) : QStringLiteral("?"))
                    .arg(QString::number(r.mae, 'e', 3), QString::number(r.maxAbsError, 'e', 3))
                    .arg(r.bitsPerIndex ? QString::number(*r.bitsPerIndex) : QStringLiteral("?"))
                    .arg(r.bitsPerWeight, 0, 'f', 2);
    } else {
        text += QStringLiteral("<br>stored exactly, %1 bits/weight").arg(r.bitsPerWeight, 0, 'f', 1);
    }
    text += QStringLiteral("<br>ratio %1").arg(formatRatio(r.ratio()));
    if (r.overridden)
        text += QStringLiteral("<br><i>per-layer override</i>");
    if (!r.warning.isEmpty())
        text += QStringLiteral("<br><span style='color:#b00'>%1</span>").arg(r.warning.toHtmlEscaped());
    return text;
}

void LayerBarPlot::onMouseMove(QMouseEvent* event)
{
    const int row = rowAt(event->pos());
    if (row < 0) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(event->globalPosition().toPoint(), tooltipForRow(row), this);
}

void LayerBarPlot::onMousePress(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton)
        pressPosition_ = event->pos();
}

void LayerBarPlot::onMouseRelease(QMouseEvent* event)
{
    constexpr int kClickSlop = 4;  // pixels the mouse may move during a click (more is a pan)
    if (event->button() != Qt::LeftButton || (event->pos() - pressPosition_).manhattanLength() > kClickSlop)
        return;
    const int row = rowAt(event->pos());
    if (row >= 0)
        emit layerClicked(report_.rows[row].name);
}

void LayerBarPlot::showAllLayers()
{
    xAxis->setRange(-1, std::max(static_cast<int>(report_.rows.size()), 1));
    replot(QCustomPlot::rpQueuedReplot);
}

QString LayerBarPlot::blockOf(const QString& tensorName)
{
    static const QStringList containers{QStringLiteral("blocks"), QStringLiteral("layers"), QStringLiteral("stages")};
    const QStringList parts = tensorName.split(QLatin1Char('.'));
    for (int i = 1; i < parts.size(); ++i) {
        bool numeric = false;
        parts[i].toInt(&numeric);
        if (numeric && containers.contains(parts[i - 1]))
            return parts.mid(0, i + 1).join(QLatin1Char('.'));
    }
    return parts.mid(0, std::min<qsizetype>(2, parts.size() - 1)).join(QLatin1Char('.'));
}

QString LayerBarPlot::blockLabel(const QString& block, bool firstOfComponent)
{
    const QStringList parts = block.split(QLatin1Char('.'));
    QString label;
    bool numeric = false;
    parts.last().toInt(&numeric);
    if (numeric && parts.size() >= 2)
        label = parts[parts.size() - 2].left(1) + parts.last();
    else
        label = parts.last().left(5);
    if (!firstOfComponent)
        return label;
    const QString component = parts.first();
    const QString prefix = component == QLatin1String("image_encoder")     ? QStringLiteral("enc")
                           : component == QLatin1String("mask_decoder")    ? QStringLiteral("dec")
                           : component == QLatin1String("prompt_encoder")  ? QStringLiteral("prm")
                           : component == QLatin1String("memory_attention") ? QStringLiteral("mem")
                                                                            : component.left(3);
    return parts.size() == 1 ? prefix : prefix + QLatin1Char(' ') + label;
}

void LayerBarPlot::updateBlockTicks()
{
    blockTicks_.clear();
    QString previousBlock;
    QString previousComponent;
    for (int i = 0; i < report_.rows.size(); ++i) {
        const QString block = blockOf(report_.rows[i].name);
        if (block == previousBlock)
            continue;
        const QString component = block.section(QLatin1Char('.'), 0, 0);
        const bool first = component != previousComponent;
        blockTicks_.append({i, blockLabel(block, first), first});
        previousBlock = block;
        previousComponent = component;
    }
    xAxis->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
    thinBlockTicks();
}

void LayerBarPlot::thinBlockTicks()
{
    auto ticker = xAxis->ticker().dynamicCast<QCPAxisTickerText>();
    if (!ticker)
        return;
    // Labels must not overlap (a small gap between them): the first block of each component
    // (enc, dec, prm, ...) is placed first, then every other block whose label still fits.
    const QFontMetrics metrics(xAxis->tickLabelFont());
    QVector<QPair<double, double>> taken;  // pixel extents of the kept labels
    QMap<double, QString> ticks;
    const auto place = [&](const BlockTick& tick) {
        const double x = xAxis->coordToPixel(tick.row);
        const double half = metrics.horizontalAdvance(tick.label) / 2.0 + 3.0;
        for (const auto& [left, right] : std::as_const(taken))
            if (x - half < right && x + half > left)
                return;
        taken.append({x - half, x + half});
        ticks.insert(tick.row, tick.label);
    };
    for (const BlockTick& tick : std::as_const(blockTicks_))
        if (tick.componentStart)
            place(tick);
    for (const BlockTick& tick : std::as_const(blockTicks_))
        if (!tick.componentStart)
            place(tick);
    ticker->setTicks(ticks);
}

QString LayerBarPlot::toCsv() const
{
    QString metricName;
    switch (metric_) {
    case Metric::Mae: metricName = QStringLiteral("mae"); break;
    case Metric::BitsPerWeight: metricName = QStringLiteral("bits_per_weight"); break;
    case Metric::Ratio: metricName = QStringLiteral("ratio"); break;
    }
    QString csv = QStringLiteral("layer,path,%1\n").arg(metricName);
    for (const LayerRow& row : report_.rows) {
        const double value = valueOf(row);
        csv += QStringLiteral("%1,%2,%3\n")
                   .arg(row.name, layerPathName(row.path), std::isfinite(value) ? QString::number(value, 'g', 8) : QString());
    }
    return csv;
}

void LayerBarPlot::onContextMenu(const QPoint& pos)
{
    const int row = rowAt(pos);
    if (row >= 0)
        emit layerContextMenuRequested(report_.rows[row].name, mapToGlobal(pos));
}

}  // namespace birkhoff::ui
