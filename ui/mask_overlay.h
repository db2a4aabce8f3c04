// Turning binary masks into the translucent images the panes draw over the photo: a single
// mask in one colour, or the difference of two masks in three colours (only original, only
// compressed, both).
#pragma once

#include <QColor>
#include <QImage>

namespace birkhoff::ui {

/// What the panes overlay on the image.
enum class OverlayView {
    Masks = 0,       ///< each pane its own model's mask
    Difference = 1,  ///< both panes: only-original / only-compressed / both pixels
};

/// `mask` (Grayscale8, non-zero = inside) as an ARGB32_Premultiplied image: `color` at
/// `opacityPercent` inside, transparent outside. A null mask gives a null image.
QImage fillOverlay(const QImage& mask, const QColor& color, int opacityPercent);

/// The difference of two masks of the same size as an ARGB32_Premultiplied image: pixels only
/// in `original` in plot_style::originalColor(), only in `compressed` in compressedColor(), in
/// both in bothColor(), at `opacityPercent`. Null when a mask is null or the sizes differ.
QImage differenceOverlay(const QImage& original, const QImage& compressed, int opacityPercent);

/// Pixel counts of a difference: only in a, only in b, in both.
struct MaskDifference {
    qint64 onlyA = 0;
    qint64 onlyB = 0;
    qint64 both = 0;
};
/// Counts for two same-sized Grayscale8 masks (all zero when they do not match).
MaskDifference maskDifference(const QImage& a, const QImage& b);

}  // namespace birkhoff::ui
