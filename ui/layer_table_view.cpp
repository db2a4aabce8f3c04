// The per-layer table view (see layer_table_view.h).
#include "ui/layer_table_view.h"

#include "ui/layer_table_model.h"

#include <QEvent>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace birkhoff::ui {

LayerTableView::LayerTableView(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("layerTableView"));
    model_ = new LayerTableModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(LayerTableModel::SortRole);
    proxy_->setFilterKeyColumn(LayerTableModel::Name);
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);

    filter_ = new QLineEdit(this);
    filter_->setObjectName(QStringLiteral("layerFilterEdit"));
    filter_->setAccessibleName(tr("Filter layers by name"));
    filter_->setPlaceholderText(tr("Filter tensors (e.g. attn.qkv)"));
    filter_->setClearButtonEnabled(true);
    summary_ = new QLabel(this);
    summary_->setObjectName(QStringLiteral("layerSummaryLabel"));

    table_ = new QTableView(this);
    table_->setObjectName(QStringLiteral("layerTable"));
    table_->setAccessibleName(tr("Per-layer compression table"));
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(-1, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setContextMenuPolicy(Qt::CustomContextMenu);
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 4);
    table_->verticalHeader()->hide();
    // The tensor name takes the spare width (elided in the middle, full name in the tooltip); the
    // other columns are as wide as their contents. The detail columns start hidden so the table
    // needs no horizontal scrolling; the header's context menu shows or hides any column.
    QHeaderView* header = table_->horizontalHeader();
    header->setStretchLastSection(false);
    header->setSectionResizeMode(LayerTableModel::Name, QHeaderView::Interactive);
    table_->viewport()->installEventFilter(this);
    table_->setTextElideMode(Qt::ElideMiddle);
    table_->setWordWrap(false);  // wrapped cells elide at the end, whatever the elide mode
    for (const int column : {LayerTableModel::L, LayerTableModel::BitsPerIndex, LayerTableModel::MaxError,
                             LayerTableModel::Override})
        table_->setColumnHidden(column, true);
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this, [this, header](const QPoint& pos) {
        QMenu menu(this);
        menu.setObjectName(QStringLiteral("layerColumnsMenu"));
        for (int column = 1; column < LayerTableModel::ColumnCount; ++column) {
            QAction* a = menu.addAction(model_->headerData(column, Qt::Horizontal).toString());
            a->setCheckable(true);
            a->setChecked(!table_->isColumnHidden(column));
            connect(a, &QAction::toggled, this, [this, column](bool shown) {
                table_->setColumnHidden(column, !shown);
                if (shown)
                    table_->resizeColumnToContents(column);
                fitNameColumn();
            });
        }
        menu.exec(header->mapToGlobal(pos));
    });
    table_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    table_->setAlternatingRowColors(true);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(filter_);
    layout->addWidget(table_, 1);
    layout->addWidget(summary_);

    connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (current.isValid())
                    emit layerSelected(current.data(LayerTableModel::NameRole).toString());
            });
    connect(table_, &QTableView::customContextMenuRequested, this, [this](const QPoint& pos) {
        const QModelIndex index = table_->indexAt(pos);
        if (index.isValid())
            emit layerContextMenuRequested(index.data(LayerTableModel::NameRole).toString(),
                                           table_->viewport()->mapToGlobal(pos));
    });
}

void LayerTableView::setReport(const LayerReport& report)
{
    const QString selected = selectedLayer();
    model_->setReport(report);
    for (int column = 1; column < LayerTableModel::ColumnCount; ++column)
        if (!table_->isColumnHidden(column))
            table_->resizeColumnToContents(column);
    fitNameColumn();
    summary_->setText(report.isEmpty() ? QString()
                                       : tr("%1 tensors, %2 encoded%3")
                                             .arg(report.rows.size())
                                             .arg(report.encodedCount())
                                             .arg(report.isEstimate ? tr(" (estimate)") : QString()));
    if (!selected.isEmpty())
        selectLayer(selected);
}

bool LayerTableView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == table_->viewport() && event->type() == QEvent::Resize)
        fitNameColumn();
    return QWidget::eventFilter(watched, event);
}

void LayerTableView::fitNameColumn()
{
    int others = 0;
    for (int column = 1; column < LayerTableModel::ColumnCount; ++column)
        if (!table_->isColumnHidden(column))
            others += table_->columnWidth(column);
    table_->setColumnWidth(LayerTableModel::Name, std::max(kMinNameWidth, table_->viewport()->width() - others));
}

const LayerReport& LayerTableView::report() const
{
    return model_->report();
}

void LayerTableView::selectLayer(const QString& name)
{
    const int row = model_->report().indexOf(name);
    if (row < 0)
        return;
    const QModelIndex index = proxy_->mapFromSource(model_->index(row, 0));
    if (!index.isValid())
        return;
    if (table_->selectionModel()->currentIndex().row() == index.row())
        return;
    table_->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    table_->scrollTo(index);
}

QString LayerTableView::selectedLayer() const
{
    const QModelIndex current = table_->selectionModel()->currentIndex();
    return current.isValid() ? current.data(LayerTableModel::NameRole).toString() : QString();
}

}  // namespace birkhoff::ui
