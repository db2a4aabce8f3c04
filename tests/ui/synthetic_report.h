// A small synthetic per-layer report for widget tests that need no model: encoded Linear
// weights with growing MAE, a raw fallback, a buffer and a small tensor.
#pragma once

#include "ui/layer_report.h"

namespace birkhoff::test {

inline ui::LayerReport syntheticReport(double maeScale = 1.0)
{
    ui::LayerReport r;
    r.isEstimate = true;
    r.sampledFraction = 0.25;
    const auto encoded = [&](const QString& name, qint64 out, qint64 in, double mae, quint32 U, quint32 K) {
        ui::LayerRow row;
        row.name = name;
        row.shape = {out, in};
        row.path = ui::LayerPath::Hyper;
        row.l = 0.1;
        row.U = U;
        row.K = K;
        row.bitsPerIndex = 12;
        row.parameters = out * in;
        row.originalBytes = static_cast<quint64>(out * in * 4);
        row.storedBytes = static_cast<quint64>(out * in * 12 / 16) + 40;
        row.bitsPerWeight = 8.0 * static_cast<double>(row.storedBytes) / static_cast<double>(row.parameters);
        row.mae = mae * maeScale;
        row.maxAbsError = 4 * mae * maeScale;
        return row;
    };
    r.rows.append(encoded(QStringLiteral("blocks.0.attn.qkv.weight"), 192, 64, 2e-4, 1225, 1));
    r.rows.append(encoded(QStringLiteral("blocks.0.mlp.lin1.weight"), 256, 64, 4e-4, 1600, 2));
    ui::LayerRow raw;
    raw.name = QStringLiteral("blocks.0.mlp.lin2.weight");
    raw.shape = {64, 256};
    raw.path = ui::LayerPath::Raw;
    raw.parameters = 64 * 256;
    raw.originalBytes = raw.storedBytes = 64 * 256 * 4;
    raw.bitsPerWeight = 32;
    raw.warning = QStringLiteral("MAE 0.007 > 0.006: stored raw");
    r.rows.append(raw);
    ui::LayerRow buffer;
    buffer.name = QStringLiteral("pe.positional_encoding_gaussian_matrix");
    buffer.shape = {2, 64};
    buffer.path = ui::LayerPath::Buffer;
    buffer.parameters = 128;
    buffer.originalBytes = buffer.storedBytes = 512;
    buffer.bitsPerWeight = 32;
    r.rows.append(buffer);
    ui::LayerRow small;
    small.name = QStringLiteral("tiny");
    small.shape = {3};
    small.path = ui::LayerPath::Small;
    small.parameters = 3;
    small.originalBytes = small.storedBytes = 12;
    small.bitsPerWeight = 32;
    r.rows.append(small);
    for (const ui::LayerRow& row : r.rows) {
        r.parameters += row.parameters;
        r.originalBytes += row.originalBytes;
        r.compressedBytes += row.storedBytes;
    }
    return r;
}

}  // namespace birkhoff::test
