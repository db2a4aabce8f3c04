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
/// A compression ratio as every widget and the status bar show it: "4.25x".
QString formatRatio(double ratio);
/// A mask's predicted IoU as the readout and the candidate tool tips show it.
QString formatPredictedIou(double value);

}  // namespace birkhoff::ui
