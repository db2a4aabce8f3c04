// Mask candidates delivered to the panes (see mask_prediction.h).
#include "ui/mask_prediction.h"

namespace birkhoff::ui {

double maskIou(const QImage& a, const QImage& b)
{
    if (a.isNull() || b.isNull() || a.size() != b.size() || a.format() != QImage::Format_Grayscale8 ||
        b.format() != QImage::Format_Grayscale8)
        return -1.0;
    quint64 intersection = 0;
    quint64 unionArea = 0;
    for (int y = 0; y < a.height(); ++y) {
        const uchar* ra = a.constScanLine(y);
        const uchar* rb = b.constScanLine(y);
        for (int x = 0; x < a.width(); ++x) {
            const bool ia = ra[x] != 0;
            const bool ib = rb[x] != 0;
            intersection += (ia && ib) ? 1 : 0;
            unionArea += (ia || ib) ? 1 : 0;
        }
    }
    return unionArea == 0 ? 1.0 : static_cast<double>(intersection) / static_cast<double>(unionArea);
}

}  // namespace birkhoff::ui
