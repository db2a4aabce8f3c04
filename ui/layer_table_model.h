// The per-layer table (one row per checkpoint tensor of the current report or estimate) as a Qt
// item model; the layer view sorts it through a QSortFilterProxyModel (numbers sort as numbers
// through Qt::UserRole).
#pragma once

#include "ui/layer_report.h"

#include <QAbstractTableModel>

namespace birkhoff::ui {

class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Shape, Path, L, U, K, BitsPerIndex, BitsPerWeight, Mae, MaxError, Ratio, Override, ColumnCount };

    explicit LayerTableModel(QObject* parent = nullptr);

    /// Replaces the rows (model reset).
    void setReport(const LayerReport& report);
    const LayerReport& report() const { return report_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    /// The sort key role: numbers for numeric columns, text otherwise.
    static constexpr int SortRole = Qt::UserRole;
    /// The tensor name of a row (any column).
    static constexpr int NameRole = Qt::UserRole + 1;

private:
    LayerReport report_;
};

}  // namespace birkhoff::ui
