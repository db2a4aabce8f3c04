// The per-layer table model (see layer_table_model.h).
#include "ui/layer_table_model.h"

#include "ui/plot_style.h"

#include <QBrush>
#include <QFont>

namespace birkhoff::ui {

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void LayerTableModel::setReport(const LayerReport& report)
{
    beginResetModel();
    report_ = report;
    endResetModel();
}

int LayerTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(report_.rows.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

namespace {

template <typename T>
QVariant optionalValue(const std::optional<T>& value)
{
    return value ? QVariant::fromValue(*value) : QVariant();
}

QString scientific(double value)
{
    return value == 0 ? QStringLiteral("0") : QString::number(value, 'e', 2);
}

}  // namespace

QVariant LayerTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= report_.rows.size())
        return {};
    const LayerRow& row = report_.rows[index.row()];
    if (role == NameRole)
        return row.name;
    if (role == Qt::DisplayRole || role == SortRole) {
        const bool sort = role == SortRole;
        switch (index.column()) {
        case Name: return row.name;
        case Shape: return sort ? QVariant(static_cast<qlonglong>(row.parameters)) : QVariant(shapeText(row.shape));
        case Path: return layerPathName(row.path);
        case L: return row.l ? (sort ? QVariant(*row.l) : QVariant(QString::number(*row.l, 'g', 4))) : QVariant();
        case U: return optionalValue(row.U);
        case K: return optionalValue(row.K);
        case BitsPerIndex: return optionalValue(row.bitsPerIndex);
        case BitsPerWeight: return sort ? QVariant(row.bitsPerWeight) : QVariant(QString::number(row.bitsPerWeight, 'f', 2));
        case Mae: return sort ? QVariant(row.mae) : QVariant(scientific(row.mae));
        case MaxError: return sort ? QVariant(row.maxAbsError) : QVariant(scientific(row.maxAbsError));
        case Ratio: return sort ? QVariant(row.ratio()) : QVariant(QString::number(row.ratio(), 'f', 2));
        case Override: return row.overridden ? QStringLiteral("yes") : QString();
        default: return {};
        }
    }
    if (role == Qt::TextAlignmentRole && index.column() != Name && index.column() != Path)
        return static_cast<int>(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ForegroundRole && index.column() == Path)
        return QBrush(plot_style::pathColor(row.path).darker(130));
    if (role == Qt::ToolTipRole) {
        QString tip = QStringLiteral("%1\nshape %2, %3 parameters").arg(row.name, shapeText(row.shape)).arg(row.parameters);
        if (row.overridden)
            tip += QStringLiteral("\nper-layer override");
        if (!row.warning.isEmpty())
            tip += QStringLiteral("\n") + row.warning;
        return tip;
    }
    if (role == Qt::FontRole && row.overridden && index.column() == Name) {
        // Overridden layers stand out even while the Override column is hidden.
        QFont font;
        font.setItalic(true);
        font.setBold(true);
        return font;
    }
    return {};
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case Name: return tr("Tensor");
        case Shape: return tr("Shape");
        case Path: return tr("Path");
        case L: return tr("l");
        case U: return tr("U");
        case K: return tr("K");
        case BitsPerIndex: return tr("Bits/index");
        case BitsPerWeight: return tr("Bits/w");
        case Mae: return tr("MAE");
        case MaxError: return tr("Max |err|");
        case Ratio: return tr("Ratio");
        case Override: return tr("Override");
        default: return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Path: return tr("hyper: encoded; raw: stored as is (error fallback or override); buffer / small: never encoded");
        case K: return tr("Number of outlier rings used (searched in 0..M)");
        case BitsPerWeight: return tr("Stored bits per weight");
        case Override: return tr("The layer's own settings (right-click a layer to set them)");
        case Mae: return tr("Mean absolute error of the restored weights");
        case Ratio: return tr("Original bytes / stored bytes of this tensor");
        default: return {};
        }
    }
    return {};
}

}  // namespace birkhoff::ui
