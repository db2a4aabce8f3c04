// The prompts of the image workspace, shared by both panes: positive / negative points and an
// optional box, in original-image pixel coordinates.
#pragma once

#include <QPointF>
#include <QRectF>
#include <QString>
#include <QVector>

#include <optional>

namespace birkhoff::ui {

struct PromptPoint {
    QPointF position;  ///< image pixels (x right, y down)
    int label = 1;     ///< 1 = positive (foreground), 0 = negative (background)

    bool operator==(const PromptPoint& other) const { return position == other.position && label == other.label; }
};

struct PromptSet {
    QVector<PromptPoint> points;
    std::optional<QRectF> box;  ///< normalised (positive width/height)

    bool isEmpty() const { return points.isEmpty() && !box; }
    /// Number of prompt elements (points + 1 for a box).
    int elementCount() const { return static_cast<int>(points.size()) + (box ? 1 : 0); }
    bool operator==(const PromptSet& other) const { return points == other.points && box == other.box; }
    bool operator!=(const PromptSet& other) const { return !(*this == other); }
    /// "2 points (1 negative), box" for status lines.
    QString describe() const;

    /// A saved prompt set: {"points": [[x, y, label], ...], "box": [x0, y0, x1, y1]} (image pixels;
    /// "box" absent when there is none), replayable on any model, settings or image.
    QByteArray toJson() const;
    /// Reads toJson()'s format. Returns nothing and sets `error` (naming the value at fault) for
    /// malformed JSON, non-finite or negative coordinates, labels other than 0/1, more than
    /// kMaxSavedPoints points or an empty box.
    static std::optional<PromptSet> fromJson(const QByteArray& json, QString* error);
    static constexpr int kMaxSavedPoints = 256;
};

}  // namespace birkhoff::ui
