// Mask overlays (see mask_overlay.h). Masks are viewed as 8-bit indexed images whose colour
// table holds the overlay colours, then converted once to premultiplied ARGB for fast drawing.
#include "ui/mask_overlay.h"

#include "ui/plot_style.h"

#include <algorithm>

namespace birkhoff::ui {

namespace {

QRgb translucent(const QColor& color, int opacityPercent)
{
    const int alpha = std::clamp(opacityPercent, 0, 100) * 255 / 100;
    return qRgba(color.red(), color.green(), color.blue(), alpha);
}

}  // namespace

QImage fillOverlay(const QImage& mask, const QColor& color, int opacityPercent)
{
    if (mask.isNull() || mask.format() != QImage::Format_Grayscale8)
        return {};
    // Indexed view of the mask bytes: 0 -> transparent, anything else -> the colour.
    QImage indexed(mask.constBits(), mask.width(), mask.height(), mask.bytesPerLine(), QImage::Format_Indexed8);
    QVector<QRgb> table(256, translucent(color, opacityPercent));
    table[0] = qRgba(0, 0, 0, 0);
    indexed.setColorTable(table);
    return indexed.convertToFormat(QImage::Format_ARGB32_Premultiplied);
}

QImage differenceOverlay(const QImage& original, const QImage& compressed, int opacityPercent)
{
    if (original.isNull() || compressed.isNull() || original.size() != compressed.size() ||
        original.format() != QImage::Format_Grayscale8 || compressed.format() != QImage::Format_Grayscale8)
        return {};
    QImage codes(original.size(), QImage::Format_Indexed8);
    for (int y = 0; y < original.height(); ++y) {
        const uchar* a = original.constScanLine(y);
        const uchar* b = compressed.constScanLine(y);
        uchar* out = codes.scanLine(y);
        for (int x = 0; x < original.width(); ++x)
            out[x] = static_cast<uchar>((a[x] != 0 ? 1 : 0) | (b[x] != 0 ? 2 : 0));
    }
    codes.setColorTable({qRgba(0, 0, 0, 0), translucent(plot_style::originalColor(), opacityPercent),
                         translucent(plot_style::compressedColor(), opacityPercent),
                         translucent(plot_style::bothColor(), opacityPercent)});
    return codes.convertToFormat(QImage::Format_ARGB32_Premultiplied);
}

MaskDifference maskDifference(const QImage& a, const QImage& b)
{
    MaskDifference d;
    if (a.isNull() || b.isNull() || a.size() != b.size() || a.format() != QImage::Format_Grayscale8 ||
        b.format() != QImage::Format_Grayscale8)
        return d;
    for (int y = 0; y < a.height(); ++y) {
        const uchar* ra = a.constScanLine(y);
        const uchar* rb = b.constScanLine(y);
        for (int x = 0; x < a.width(); ++x) {
            const bool ia = ra[x] != 0;
            const bool ib = rb[x] != 0;
            d.onlyA += (ia && !ib) ? 1 : 0;
            d.onlyB += (ib && !ia) ? 1 : 0;
            d.both += (ia && ib) ? 1 : 0;
        }
    }
    return d;
}

}  // namespace birkhoff::ui
