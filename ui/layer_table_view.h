// The per-layer table: one sortable row per tensor of the current report or estimate, a filter
// field, and a context menu request (right click) for per-layer overrides.
#pragma once

#include "ui/layer_report.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace birkhoff::ui {

class LayerTableModel;

class LayerTableView : public QWidget {
    Q_OBJECT
public:
    explicit LayerTableView(QWidget* parent = nullptr);

    void setReport(const LayerReport& report);
    const LayerReport& report() const;
    /// Selects and scrolls to the row of tensor `name`.
    void selectLayer(const QString& name);
    QString selectedLayer() const;
    QTableView* table() const { return table_; }
    LayerTableModel* model() const { return model_; }

signals:
    void layerSelected(const QString& name);
    void layerContextMenuRequested(const QString& name, const QPoint& globalPos);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    /// Gives the tensor name the width the other columns leave, but never less than
    /// kMinNameWidth (narrower tables scroll instead of cutting names to a few letters).
    void fitNameColumn();
    static constexpr int kMinNameWidth = 130;

    LayerTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QTableView* table_ = nullptr;
    QLineEdit* filter_ = nullptr;
    QLabel* summary_ = nullptr;
};

}  // namespace birkhoff::ui
