// What the plots and the per-layer table show: one row per checkpoint tensor (how it is stored,
// its error and size) and the totals, for a finished compression or a live estimate. A plain Qt
// value type, filled from the codec's report by the sessions, so widgets never include LibTorch.
#pragma once

#include <QString>
#include <QVector>

#include <optional>

namespace birkhoff::ui {

/// How a tensor is stored: encoded by Hyper-Compression, or raw (error fallback / override,
/// buffer, fewer than 10 elements).
enum class LayerPath { Hyper, Raw, Buffer, Small };

/// "hyper", "raw", "buffer", "small" (the codec report's names).
QString layerPathName(LayerPath path);

struct LayerRow {
    QString name;
    QVector<qint64> shape;
    LayerPath path = LayerPath::Raw;
    std::optional<double> l;          ///< encoded tensors only
    std::optional<quint32> U;
    std::optional<quint32> K;
    std::optional<unsigned> bitsPerIndex;
    double bitsPerWeight = 0;
    double mae = 0;                   ///< mean |restored - original|; 0 for raw tensors
    double maxAbsError = 0;
    qint64 parameters = 0;
    quint64 originalBytes = 0;
    quint64 storedBytes = 0;
    QString warning;
    bool overridden = false;          ///< a per-layer override applies to it

    /// originalBytes / storedBytes (1 when nothing is stored).
    double ratio() const;
};

struct LayerReport {
    QVector<LayerRow> rows;           ///< checkpoint order
    quint64 originalBytes = 0;        ///< original checkpoint file size
    quint64 compressedBytes = 0;      ///< (estimated) compressed file size
    qint64 parameters = 0;
    double seconds = 0;
    /// False for a finished compression; true for a live estimate, sampledFraction telling how
    /// much of each large tensor it looked at (1 = every element).
    bool isEstimate = false;
    double sampledFraction = 1.0;
    QVector<QString> warnings;

    bool isEmpty() const { return rows.isEmpty(); }
    /// Original file size / compressed file size (the paper's ratio); 0 when unknown.
    double ratio() const;
    /// 8 * compressed bytes / parameters.
    double bitsPerWeight() const;
    /// Parameter-weighted mean MAE over the encoded tensors (0 if none).
    double meanMae() const;
    /// Largest per-tensor MAE.
    double maxMae() const;
    /// Number of rows on the Hyper path.
    int encodedCount() const;
    /// The row named `name`, or -1.
    int indexOf(const QString& name) const;
    /// The rows as CSV with a header line (shape as "768x3072"; empty cells for raw tensors).
    QString toCsv() const;
};

/// "768x3072"; "scalar" for a 0-d tensor.
QString shapeText(const QVector<qint64>& shape);

}  // namespace birkhoff::ui
