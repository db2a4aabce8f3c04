// Human-readable numbers shared by the panels and the status bar.
#pragma once

#include <QString>

namespace birkhoff::ui {

/// "812 B", "1.3 MiB", "358.0 MiB", "2.39 GiB".
QString formatByteSize(quint64 bytes);
/// "323.5 k", "93.7 M" (plain below 1000).
QString formatCount(qint64 count);
/// "12.3 ms" below a second, "1.25 s" above.
QString formatMilliseconds(double ms);
/// A compression ratio as every widget and the status bar show it, two decimals: "4.25x".
QString formatRatio(double ratio);
/// A mask's predicted IoU for the readout and tool tips: "predicted IoU 0.912" inside [0, 1];
/// outside it (SAM v1's IoU head has no sigmoid) it is not an IoU and reads "model score 1.023".
QString formatPredictedIou(double value);

}  // namespace birkhoff::ui
