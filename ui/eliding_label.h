// A one-line label that elides its text to the width it gets (the end, or the middle for file
// and tensor names) and shows the full text as its tooltip, so long text never widens a dock
// or the window.
#pragma once

#include <QLabel>

namespace birkhoff::ui {

class ElidingLabel : public QLabel {
    Q_OBJECT
public:
    explicit ElidingLabel(QWidget* parent = nullptr, Qt::TextElideMode mode = Qt::ElideRight);

    /// Sets the full text (plain text); the tooltip repeats it whenever it does not fit.
    void setFullText(const QString& text);
    const QString& fullText() const { return fullText_; }
    /// True when the text is cut at the current width.
    bool isElided() const;

    QSize minimumSizeHint() const override;
    QSize sizeHint() const override;

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void updateShownText();

    QString fullText_;
    Qt::TextElideMode mode_;
};

}  // namespace birkhoff::ui
