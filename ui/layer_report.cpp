// The per-layer report shown by the plots and the table (see layer_report.h).
#include "ui/layer_report.h"

#include <QStringList>

#include <algorithm>

namespace birkhoff::ui {

QString layerPathName(LayerPath path)
{
    switch (path) {
    case LayerPath::Hyper: return QStringLiteral("hyper");
    case LayerPath::Raw: return QStringLiteral("raw");
    case LayerPath::Buffer: return QStringLiteral("buffer");
    case LayerPath::Small: return QStringLiteral("small");
    }
    return QStringLiteral("raw");
}

double LayerRow::ratio() const
{
    return storedBytes == 0 ? 1.0 : static_cast<double>(originalBytes) / static_cast<double>(storedBytes);
}

double LayerReport::ratio() const
{
    return compressedBytes == 0 ? 0.0 : static_cast<double>(originalBytes) / static_cast<double>(compressedBytes);
}

double LayerReport::bitsPerWeight() const
{
    return parameters == 0 ? 0.0 : 8.0 * static_cast<double>(compressedBytes) / static_cast<double>(parameters);
}

double LayerReport::meanMae() const
{
    double weighted = 0;
    double count = 0;
    for (const LayerRow& row : rows) {
        if (row.path != LayerPath::Hyper)
            continue;
        weighted += row.mae * static_cast<double>(row.parameters);
        count += static_cast<double>(row.parameters);
    }
    return count == 0 ? 0.0 : weighted / count;
}

double LayerReport::maxMae() const
{
    double largest = 0;
    for (const LayerRow& row : rows)
        largest = std::max(largest, row.mae);
    return largest;
}

int LayerReport::encodedCount() const
{
    return static_cast<int>(std::count_if(rows.cbegin(), rows.cend(),
                                          [](const LayerRow& row) { return row.path == LayerPath::Hyper; }));
}

int LayerReport::indexOf(const QString& name) const
{
    for (int i = 0; i < rows.size(); ++i) {
        if (rows[i].name == name)
            return i;
    }
    return -1;
}

namespace {

QString csvField(const QString& text)
{
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) && !text.contains(QLatin1Char('\n')))
        return text;
    QString quoted = text;
    quoted.replace(QStringLiteral("\""), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

template <typename T>
QString optionalText(const std::optional<T>& value)
{
    return value ? QString::number(*value) : QString();
}

}  // namespace

QString LayerReport::toCsv() const
{
    QString csv = QStringLiteral("name,shape,path,l,U,K,bits_per_index,bits_per_weight,mae,max_abs_error,"
                                 "parameters,original_bytes,stored_bytes,ratio,override,warning\n");
    for (const LayerRow& row : rows) {
        const QStringList fields{csvField(row.name),
                                 shapeText(row.shape),
                                 layerPathName(row.path),
                                 row.l ? QString::number(*row.l, 'g', 9) : QString(),
                                 optionalText(row.U),
                                 optionalText(row.K),
                                 optionalText(row.bitsPerIndex),
                                 QString::number(row.bitsPerWeight, 'g', 9),
                                 QString::number(row.mae, 'g', 9),
                                 QString::number(row.maxAbsError, 'g', 9),
                                 QString::number(row.parameters),
                                 QString::number(row.originalBytes),
                                 QString::number(row.storedBytes),
                                 QString::number(row.ratio(), 'g', 9),
                                 row.overridden ? QStringLiteral("yes") : QString(),
                                 csvField(row.warning)};
        csv += fields.join(QLatin1Char(',')) + QLatin1Char('\n');
    }
    return csv;
}

QString shapeText(const QVector<qint64>& shape)
{
    if (shape.isEmpty())
        return QStringLiteral("scalar");
    QStringList parts;
    for (qint64 d : shape)
        parts.append(QString::number(d));
    return parts.join(QLatin1Char('x'));
}

}  // namespace birkhoff::ui
