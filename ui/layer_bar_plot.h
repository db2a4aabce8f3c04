// A per-layer bar plot (QCustomPlot): one bar per checkpoint tensor in model order, coloured by
// storage path, showing the MAE (log axis, with the codec's MAE limits as threshold lines), the
// bits per weight or the compression ratio. Hovering a bar shows the tensor's name, shape, U,
// K, MAE and bits; clicking selects it; right-clicking asks for a per-layer override menu. The x
// axis is ticked at the start of each block (blockLabel); dragging pans it, the wheel zooms it
// and a double click shows every layer again.
#pragma once

#include "ui/layer_report.h"

#include "ui/qcustomplot_include.h"

#include <array>

namespace birkhoff::ui {

class LayerBarPlot : public QCustomPlot {
    Q_OBJECT
public:
    enum class Metric { Mae, BitsPerWeight, Ratio };

    explicit LayerBarPlot(Metric metric, QWidget* parent = nullptr);

    void setMetric(Metric metric);
    Metric metric() const { return metric_; }

    /// Replaces the bars with `report`'s rows and replots.
    void setReport(const LayerReport& report);
    const LayerReport& report() const { return report_; }

    /// Marks the tensor `name` (from the table) with a vertical line; "" clears it.
    void setSelectedLayer(const QString& name);

    /// The value drawn for each row in order (NaN where no bar is drawn, e.g. the MAE of a raw
    /// tensor on the log axis).
    QVector<double> plottedValues() const;
    /// The hover text of row `row`.
    QString tooltipForRow(int row) const;
    /// Row under widget position `pos`, or -1.
    int rowAt(const QPoint& pos) const;
    /// The plotted rows as CSV: "layer,path,<metric>" and one line per tensor (empty value where
    /// no bar is drawn).
    QString toCsv() const;
    /// Shows every layer (undoes zoom and pan).
    void showAllLayers();

    /// The block a tensor belongs to, for the x axis ticks: the name up to its first numbered
    /// part inside "blocks", "layers" or "stages" ("image_encoder.blocks.3",
    /// "image_encoder.layers.1", "mask_decoder.transformer.layers.0"), else its first two parts
    /// ("image_encoder.neck", "image_encoder.patch_embed").
    static QString blockOf(const QString& tensorName);
    /// The short tick label of a block: the numbered part's initial and number ("b3", "l1"), or
    /// the part's name ("neck"), prefixed by the component ("enc", "dec", "prm", "mem") at the
    /// first block of each component.
    static QString blockLabel(const QString& block, bool firstOfComponent);

    /// The MAE thresholds drawn on the MAE plot (codec: stop/escalate at 0.001, raw above 0.006).
    static constexpr double kMaeStop = 0.001;
    static constexpr double kMaeRawFallback = 0.006;

signals:
    void layerClicked(const QString& name);
    void layerContextMenuRequested(const QString& name, const QPoint& globalPos);

private:
    void rebuild();
    double valueOf(const LayerRow& row) const;
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);
    /// Collects the first row of every block (blockTicks_) and installs the text ticker.
    void updateBlockTicks();
    /// Shows the block ticks whose labels fit between their neighbours at the current axis width.
    void thinBlockTicks();

    struct BlockTick {
        int row;
        QString label;
        bool componentStart;  ///< the first block of an encoder / decoder / prompt encoder
    };
    QVector<BlockTick> blockTicks_;
    void onContextMenu(const QPoint& pos);

    Metric metric_;
    LayerReport report_;
    QString selected_;
    std::array<QCPBars*, 4> bars_{};  ///< indexed by LayerPath
    QCPItemStraightLine* selectionLine_ = nullptr;
    QPoint pressPosition_;  ///< where the left button went down (a click, not a pan, selects)
    QVector<QCPItemStraightLine*> thresholdLines_;
    QVector<QCPItemText*> thresholdLabels_;
};

}  // namespace birkhoff::ui
