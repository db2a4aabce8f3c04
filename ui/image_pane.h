// One image pane of the workspace: draws the photo with the shared zoom/pan, the mask overlay
// (fill and/or outline), the prompts and a badge naming the model and its state (encoding,
// ready, failed). It turns mouse input into prompt requests: left click = positive point,
// right click or Shift+click = negative point, drag = box, click on a point = remove it; the
// wheel zooms at the cursor and middle-drag (or Ctrl+drag) pans. It owns no prompt or mask
// state; the workspace feeds it.
#pragma once

#include "ui/prompt_set.h"

#include <QColor>
#include <QElapsedTimer>
#include <QImage>
#include <QPainterPath>
#include <QTimer>
#include <QWidget>

#include <optional>

namespace birkhoff::ui {

class ViewTransform;

/// What a pane's model is doing with the current image.
enum class PaneState {
    NoModel,   ///< no model for this pane yet
    NoImage,   ///< model ready, no image open
    Encoding,  ///< the image encoder is running (clicks on this pane are ignored)
    Ready,     ///< embedding available: prompts decode immediately
    Failed,    ///< the last operation failed (detail says why)
};

class ImagePane : public QWidget {
    Q_OBJECT
public:
    ImagePane(const QString& title, const QColor& accent, ViewTransform* view, QWidget* parent = nullptr);

    void setImage(const QImage& image);
    const QImage& image() const { return image_; }
    void setPrompts(const PromptSet& prompts);
    /// The translucent fill (ARGB, image size; may be null) and the outline path (image
    /// coordinates; may be empty). `preview` marks a hover preview.
    void setOverlay(const QImage& fill, const QPainterPath& outline, bool preview);
    void clearOverlay();
    /// True while the overlay is a hover preview.
    bool showsPreview() const { return overlayPreview_ && (!overlayFill_.isNull() || !overlayOutline_.isEmpty()); }
    /// The box being dragged (in either pane), drawn dashed; nullopt when none.
    void setPendingBox(const std::optional<QRectF>& box);
    /// The point a hover preview adds (image coordinates), drawn as a hollow positive point;
    /// nullopt when no preview runs.
    void setHoverPoint(const std::optional<QPointF>& point);
    const std::optional<QPointF>& hoverPoint() const { return hoverPoint_; }

    void setState(PaneState state, const QString& detail = {});
    PaneState state() const { return state_; }
    QString stateText() const;
    /// Second badge line (the model: "SAM ViT-B", "l=0.1 U=1225,1600 M=3").
    void setSubtitle(const QString& subtitle);

    /// Coordinate mapping between this widget and the image (shared zoom/pan).
    QPointF imageToWidget(const QPointF& imagePoint) const;
    QPointF widgetToImage(const QPointF& widgetPoint) const;
    /// Pixels of the widget per image pixel at the current zoom.
    double scale() const;

    /// Radius (widget pixels) of a point marker; clicking inside it removes the point.
    static constexpr double kPointRadius = 7.0;

signals:
    void pointRequested(const QPointF& imagePosition, int label);
    void pointRemovalRequested(int index);
    /// A box drag in image coordinates; finished = mouse released.
    void boxDragged(const QRectF& imageRect, bool finished);
    /// The mouse moved over the image (hover preview); an invalid (NaN) point when it left.
    void hovered(const QPointF& imagePosition);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    enum class Drag { None, Pending, Box, Pan };

    bool insideImage(const QPointF& imagePoint) const;
    int pointMarkerAt(const QPointF& widgetPoint) const;
    QPointF effectiveCenter() const;
    void drawBadge(QPainter& painter);
    void drawPrompts(QPainter& painter);

    QString title_;
    QString subtitle_;
    QColor accent_;
    ViewTransform* view_;
    QImage image_;
    PromptSet prompts_;
    QImage overlayFill_;
    QPainterPath overlayOutline_;
    bool overlayPreview_ = false;
    std::optional<QRectF> pendingBox_;
    std::optional<QPointF> hoverPoint_;
    PaneState state_ = PaneState::NoModel;
    QString stateDetail_;
    QElapsedTimer busyClock_;
    QTimer busyTicker_;

    Drag drag_ = Drag::None;
    Qt::MouseButton dragButton_ = Qt::NoButton;
    QPointF pressWidget_;
    QPointF pressImage_;
    QPointF panStartCenter_;
};

}  // namespace birkhoff::ui
