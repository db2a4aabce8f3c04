// Colours shared by the plots, the table and the image panes, so one meaning has one colour
// everywhere: storage paths (hyper / raw / buffer / small) and the two models (original,
// compressed) plus their overlap in the difference view.
#pragma once

#include "ui/layer_report.h"

#include <QColor>

namespace birkhoff::ui::plot_style {

/// Colour of a storage path in bars and table cells.
QColor pathColor(LayerPath path);
/// The original model's mask colour (and "only original" in the difference view).
QColor originalColor();
/// The compressed model's mask colour (and "only compressed" in the difference view).
QColor compressedColor();
/// Pixels in both masks (difference view).
QColor bothColor();
/// Threshold lines (MAE limits) in plots.
QColor thresholdColor();

}  // namespace birkhoff::ui::plot_style
