// Zoom and pan shared by the panes (see view_transform.h).
#include "ui/view_transform.h"

#include <algorithm>

namespace birkhoff::ui {

ViewTransform::ViewTransform(QObject* parent) : QObject(parent) {}

void ViewTransform::setView(double zoom, const QPointF& center)
{
    const double clamped = std::clamp(zoom, kMinZoom, kMaxZoom);
    if (clamped == zoom_ && center == center_)
        return;
    zoom_ = clamped;
    center_ = center;
    emit changed();
}

void ViewTransform::fit(const QSizeF& imageSize)
{
    setView(1.0, QPointF(imageSize.width() / 2.0, imageSize.height() / 2.0));
}

void ViewTransform::zoomBy(double factor)
{
    setView(zoom_ * factor, center_);
}

}  // namespace birkhoff::ui
