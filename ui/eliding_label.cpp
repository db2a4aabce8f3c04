// A label that elides its text to its width (see eliding_label.h).
#include "ui/eliding_label.h"

#include <QFontMetrics>
#include <QResizeEvent>

namespace birkhoff::ui {

namespace {

/// The narrowest a label gets: a few characters and the ellipsis.
constexpr int kMinimumCharacters = 6;

}  // namespace

ElidingLabel::ElidingLabel(QWidget* parent, Qt::TextElideMode mode) : QLabel(parent), mode_(mode)
{
    setTextFormat(Qt::PlainText);
    setWordWrap(false);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void ElidingLabel::setFullText(const QString& text)
{
    fullText_ = text;
    updateShownText();
    updateGeometry();
}

bool ElidingLabel::isElided() const
{
    return text() != fullText_;
}

QSize ElidingLabel::minimumSizeHint() const
{
    const QFontMetrics metrics(font());
    return {metrics.horizontalAdvance(QLatin1Char('x')) * kMinimumCharacters, metrics.height()};
}

QSize ElidingLabel::sizeHint() const
{
    const QFontMetrics metrics(font());
    return {metrics.horizontalAdvance(fullText_) + 2, metrics.height()};
}

void ElidingLabel::resizeEvent(QResizeEvent* event)
{
    QLabel::resizeEvent(event);
    updateShownText();
}

void ElidingLabel::updateShownText()
{
    const QString shown = fontMetrics().elidedText(fullText_, mode_, std::max(0, contentsRect().width()));
    if (shown != text())
        QLabel::setText(shown);
    setToolTip(shown == fullText_ ? QString() : fullText_);
}

}  // namespace birkhoff::ui
