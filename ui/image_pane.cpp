// One image pane (see image_pane.h).
#include "ui/image_pane.h"

#include "ui/view_transform.h"

#include <QLineF>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <limits>

namespace birkhoff::ui {

namespace {

constexpr double kDragThreshold = 5.0;  // widget pixels before a press becomes a box drag
constexpr double kMargin = 8.0;         // widget pixels around the fitted image

}  // namespace

ImagePane::ImagePane(const QString& title, const QColor& accent, ViewTransform* view, QWidget* parent)
    : QWidget(parent), title_(title), accent_(accent), view_(view)
{
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(200, 160);
    setAttribute(Qt::WA_OpaquePaintEvent);
    connect(view_, &ViewTransform::changed, this, qOverload<>(&QWidget::update));
    busyTicker_.setInterval(200);
    connect(&busyTicker_, &QTimer::timeout, this, qOverload<>(&QWidget::update));
}

void ImagePane::setImage(const QImage& image)
{
    image_ = image;
    overlayFill_ = QImage();
    overlayOutline_ = QPainterPath();
    update();
}

void ImagePane::setPrompts(const PromptSet& prompts)
{
    prompts_ = prompts;
    update();
}

void ImagePane::setOverlay(const QImage& fill, const QPainterPath& outline, bool preview)
{
    overlayFill_ = fill;
    overlayOutline_ = outline;
    overlayPreview_ = preview;
    update();
}

void ImagePane::clearOverlay()
{
    setOverlay(QImage(), QPainterPath(), false);
}

void ImagePane::setPendingBox(const std::optional<QRectF>& box)
{
    pendingBox_ = box;
    update();
}

void ImagePane::setState(PaneState state, const QString& detail)
{
    if (state == PaneState::Encoding && state_ != PaneState::Encoding)
        busyClock_.start();
    state_ = state;
    stateDetail_ = detail;
    if (state == PaneState::Encoding)
        busyTicker_.start();
    else
        busyTicker_.stop();
    setCursor(state == PaneState::Encoding ? Qt::BusyCursor : Qt::CrossCursor);
    setAccessibleDescription(stateText());
    update();
}

QString ImagePane::stateText() const
{
    switch (state_) {
    case PaneState::NoModel: return tr("no model");
    case PaneState::NoImage: return tr("open an image (Ctrl+I) or drop one here");
    case PaneState::Encoding:
        return tr("encoding image... %1 s").arg(busyClock_.isValid() ? busyClock_.elapsed() / 1000.0 : 0.0, 0, 'f', 1);
    case PaneState::Ready: return stateDetail_.isEmpty() ? tr("ready") : stateDetail_;
    case PaneState::Failed: return tr("failed: %1").arg(stateDetail_);
    }
    return {};
}

void ImagePane::setSubtitle(const QString& subtitle)
{
    subtitle_ = subtitle;
    update();
}

double ImagePane::scale() const
{
    if (image_.isNull())
        return 1.0;
    const double fit = std::min((width() - 2 * kMargin) / image_.width(), (height() - 2 * kMargin) / image_.height());
    return std::max(fit, 1e-3) * view_->zoom();
}

QPointF ImagePane::effectiveCenter() const
{
    const QPointF c = view_->center();
    if (c.isNull() && !image_.isNull())
        return QPointF(image_.width() / 2.0, image_.height() / 2.0);
    return c;
}

QPointF ImagePane::imageToWidget(const QPointF& imagePoint) const
{
    const QPointF widgetCenter(width() / 2.0, height() / 2.0);
    return widgetCenter + (imagePoint - effectiveCenter()) * scale();
}

QPointF ImagePane::widgetToImage(const QPointF& widgetPoint) const
{
    const QPointF widgetCenter(width() / 2.0, height() / 2.0);
    return effectiveCenter() + (widgetPoint - widgetCenter) / scale();
}

bool ImagePane::insideImage(const QPointF& p) const
{
    return !image_.isNull() && p.x() >= 0 && p.y() >= 0 && p.x() <= image_.width() - 1 && p.y() <= image_.height() - 1;
}

int ImagePane::pointMarkerAt(const QPointF& widgetPoint) const
{
    for (int i = static_cast<int>(prompts_.points.size()) - 1; i >= 0; --i) {
        if (QLineF(imageToWidget(prompts_.points[i].position), widgetPoint).length() <= kPointRadius)
            return i;
    }
    return -1;
}

void ImagePane::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.fillRect(rect(), QColor(38, 40, 44));
    if (!image_.isNull()) {
        const QPointF topLeft = imageToWidget(QPointF(0, 0));
        const QRectF target(topLeft, QSizeF(image_.width() * scale(), image_.height() * scale()));
        painter.setRenderHint(QPainter::SmoothPixmapTransform, scale() < 2.0);
        painter.drawImage(target, image_);
        if (!overlayFill_.isNull())
            painter.drawImage(target, overlayFill_);
        if (!overlayOutline_.isEmpty()) {
            painter.save();
            painter.setRenderHint(QPainter::Antialiasing);
            painter.translate(topLeft);
            painter.scale(scale(), scale());
            QPen pen(accent_, 2.0);
            pen.setCosmetic(true);
            if (overlayPreview_)
                pen.setStyle(Qt::DashLine);
            painter.setPen(pen);
            painter.setBrush(Qt::NoBrush);
            painter.drawPath(overlayOutline_);
            painter.restore();
        }
        drawPrompts(painter);
    }
    drawBadge(painter);
    if (hasFocus()) {
        painter.setPen(QPen(accent_, 1));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(rect().adjusted(0, 0, -1, -1));
    }
}

void ImagePane::drawPrompts(QPainter& painter)
{
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    const auto drawBox = [&](const QRectF& box, Qt::PenStyle style) {
        const QRectF r(imageToWidget(box.topLeft()), imageToWidget(box.bottomRight()));
        painter.setPen(QPen(QColor(0, 0, 0, 160), 4));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(r);
        painter.setPen(QPen(QColor(255, 220, 40), 2, style));
        painter.drawRect(r);
    };
    if (prompts_.box)
        drawBox(*prompts_.box, Qt::SolidLine);
    if (pendingBox_)
        drawBox(*pendingBox_, Qt::DashLine);
    for (const PromptPoint& p : prompts_.points) {
        const QPointF c = imageToWidget(p.position);
        const QColor fill = p.label == 1 ? QColor(40, 200, 80) : QColor(230, 50, 50);
        painter.setPen(QPen(Qt::white, 2));
        painter.setBrush(fill);
        painter.drawEllipse(c, kPointRadius, kPointRadius);
        painter.setPen(QPen(Qt::white, 2));
        painter.drawLine(c + QPointF(-3.5, 0), c + QPointF(3.5, 0));
        if (p.label == 1)
            painter.drawLine(c + QPointF(0, -3.5), c + QPointF(0, 3.5));
    }
    if (hoverPoint_) {
        // The previewed click: a hollow, dashed positive point.
        const QPointF c = imageToWidget(*hoverPoint_);
        painter.setBrush(Qt::NoBrush);
        painter.setPen(QPen(QColor(0, 0, 0, 160), 4));
        painter.drawEllipse(c, kPointRadius, kPointRadius);
        painter.setPen(QPen(QColor(40, 200, 80), 2, Qt::DashLine));
        painter.drawEllipse(c, kPointRadius, kPointRadius);
        painter.drawLine(c + QPointF(-3.5, 0), c + QPointF(3.5, 0));
        painter.drawLine(c + QPointF(0, -3.5), c + QPointF(0, 3.5));
    }
    painter.restore();
}

void ImagePane::drawBadge(QPainter& painter)
{
    painter.save();
    QFont bold = font();
    bold.setBold(true);
    const QFontMetrics boldMetrics(bold);
    const QFontMetrics metrics(font());
    const QString state = stateText();
    const int textWidth = std::max({boldMetrics.horizontalAdvance(title_), metrics.horizontalAdvance(subtitle_),
                                    metrics.horizontalAdvance(state)});
    const int lineHeight = metrics.height();
    const int lines = subtitle_.isEmpty() ? 2 : 3;
    const QRect badge(6, 6, std::min(textWidth + 22, width() - 12), lines * lineHeight + 8);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0, 0, 0, 170));
    painter.drawRoundedRect(badge, 4, 4);
    painter.setBrush(accent_);
    painter.drawRect(QRect(badge.left(), badge.top() + 4, 4, badge.height() - 8));
    int y = badge.top() + 4 + boldMetrics.ascent();
    painter.setPen(Qt::white);
    painter.setFont(bold);
    painter.drawText(badge.left() + 12, y, title_);
    painter.setFont(font());
    if (!subtitle_.isEmpty()) {
        y += lineHeight;
        painter.setPen(QColor(220, 220, 220));
        painter.drawText(badge.left() + 12, y, metrics.elidedText(subtitle_, Qt::ElideRight, badge.width() - 16));
    }
    y += lineHeight;
    QColor stateColor(200, 200, 200);
    if (state_ == PaneState::Encoding)
        stateColor = QColor(255, 200, 60);
    else if (state_ == PaneState::Failed)
        stateColor = QColor(255, 110, 110);
    else if (state_ == PaneState::Ready)
        stateColor = QColor(130, 230, 150);
    painter.setPen(stateColor);
    painter.drawText(badge.left() + 12, y, metrics.elidedText(state, Qt::ElideRight, badge.width() - 16));
    if (overlayPreview_) {
        painter.setPen(QColor(255, 255, 255, 200));
        painter.drawText(QRect(0, height() - lineHeight - 6, width() - 8, lineHeight), Qt::AlignRight,
                         tr("preview (click to add the point)"));
    }
    painter.restore();
}

void ImagePane::setHoverPoint(const std::optional<QPointF>& point)
{
    if (point == hoverPoint_)
        return;
    hoverPoint_ = point;
    update();
}

void ImagePane::mousePressEvent(QMouseEvent* event)
{
    setFocus(Qt::MouseFocusReason);
    pressWidget_ = event->position();
    pressImage_ = widgetToImage(event->position());
    dragButton_ = event->button();
    const bool panGesture = event->button() == Qt::MiddleButton ||
                            (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ControlModifier));
    if (panGesture) {
        drag_ = Drag::Pan;
        panStartCenter_ = effectiveCenter();
        setCursor(Qt::ClosedHandCursor);
        return;
    }
    if (event->button() == Qt::LeftButton || event->button() == Qt::RightButton)
        drag_ = Drag::Pending;
}

void ImagePane::mouseMoveEvent(QMouseEvent* event)
{
    const QPointF imagePoint = widgetToImage(event->position());
    switch (drag_) {
    case Drag::Pan: {
        const QPointF delta = (event->position() - pressWidget_) / scale();
        view_->setView(view_->zoom(), panStartCenter_ - delta);
        return;
    }
    case Drag::Pending:
        if (dragButton_ == Qt::LeftButton && state_ != PaneState::Encoding && insideImage(pressImage_) &&
            QLineF(pressWidget_, event->position()).length() > kDragThreshold)
            drag_ = Drag::Box;
        else
            return;
        [[fallthrough]];
    case Drag::Box: {
        const QPointF clamped(std::clamp(imagePoint.x(), 0.0, image_.width() - 1.0),
                              std::clamp(imagePoint.y(), 0.0, image_.height() - 1.0));
        emit boxDragged(QRectF(pressImage_, clamped).normalized(), false);
        return;
    }
    case Drag::None:
        if (insideImage(imagePoint))
            emit hovered(imagePoint);
        else
            emit hovered(QPointF(std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()));
        return;
    }
}

void ImagePane::mouseReleaseEvent(QMouseEvent* event)
{
    const Drag drag = drag_;
    drag_ = Drag::None;
    if (drag == Drag::Pan) {
        setCursor(state_ == PaneState::Encoding ? Qt::BusyCursor : Qt::CrossCursor);
        return;
    }
    if (event->button() != dragButton_)
        return;
    if (drag == Drag::Box) {
        const QPointF end = widgetToImage(event->position());
        const QPointF clamped(std::clamp(end.x(), 0.0, image_.width() - 1.0), std::clamp(end.y(), 0.0, image_.height() - 1.0));
        emit boxDragged(QRectF(pressImage_, clamped).normalized(), true);
        return;
    }
    if (drag != Drag::Pending || state_ == PaneState::Encoding || !insideImage(pressImage_))
        return;
    const int marker = pointMarkerAt(event->position());
    if (marker >= 0 && event->button() == Qt::LeftButton && !(event->modifiers() & Qt::ShiftModifier)) {
        emit pointRemovalRequested(marker);
        return;
    }
    const bool negative = event->button() == Qt::RightButton || (event->modifiers() & Qt::ShiftModifier);
    emit pointRequested(pressImage_, negative ? 0 : 1);
}

void ImagePane::wheelEvent(QWheelEvent* event)
{
    if (image_.isNull())
        return;
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0)
        return;
    const QPointF anchorWidget = event->position();
    const QPointF anchorImage = widgetToImage(anchorWidget);
    const double newZoom = std::clamp(view_->zoom() * std::pow(1.25, steps), ViewTransform::kMinZoom, ViewTransform::kMaxZoom);
    // Keep the image point under the cursor where it is.
    const double fit = scale() / view_->zoom();
    const QPointF widgetCenter(width() / 2.0, height() / 2.0);
    const QPointF newCenter = anchorImage - (anchorWidget - widgetCenter) / (fit * newZoom);
    view_->setView(newZoom, newCenter);
    event->accept();
}

void ImagePane::leaveEvent(QEvent*)
{
    emit hovered(QPointF(std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace birkhoff::ui
