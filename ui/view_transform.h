// The zoom and pan shared by the two image panes, so both always show the same part of the
// image: a zoom factor relative to "fit the image" and the image point at the pane centre.
#pragma once

#include <QObject>
#include <QPointF>
#include <QSizeF>

namespace birkhoff::ui {

class ViewTransform : public QObject {
    Q_OBJECT
public:
    explicit ViewTransform(QObject* parent = nullptr);

    /// 1 = the whole image fits the pane.
    double zoom() const { return zoom_; }
    /// Image point shown at the pane centre.
    QPointF center() const { return center_; }

    /// Sets both (zoom clamped to [kMinZoom, kMaxZoom]); emits changed() when something changed.
    void setView(double zoom, const QPointF& center);
    /// Fit the whole image of `imageSize` (zoom 1, centred).
    void fit(const QSizeF& imageSize);
    /// Multiplies the zoom by `factor` keeping the centre.
    void zoomBy(double factor);

    static constexpr double kMinZoom = 0.25;
    static constexpr double kMaxZoom = 64.0;

signals:
    void changed();

private:
    double zoom_ = 1.0;
    QPointF center_;
};

}  // namespace birkhoff::ui
