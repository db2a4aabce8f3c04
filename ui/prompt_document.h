// The prompt state of the current image and its undo history: every change (add a point, remove
// one, draw a box, clear) is a ChangePromptsCommand on the QUndoStack, so Undo / Redo walk
// through prompt states. Opening another image starts a fresh history.
#pragma once

#include "ui/prompt_set.h"

#include <QObject>
#include <QUndoStack>

namespace birkhoff::ui {

class PromptDocument : public QObject {
    Q_OBJECT
public:
    explicit PromptDocument(QObject* parent = nullptr);

    const PromptSet& prompts() const { return prompts_; }
    QUndoStack* undoStack() { return &undoStack_; }

    /// Adds a point (label 1 positive, 0 negative) as one undo step.
    void addPoint(const QPointF& position, int label);
    /// Removes point `index` as one undo step (no-op for a bad index).
    void removePoint(int index);
    /// Sets (replaces) the box as one undo step.
    void setBox(const QRectF& box);
    /// Removes every prompt as one undo step (no-op when there are none).
    void clear();
    /// Replaces every prompt with `prompts` (a loaded prompt set) as one undo step.
    void replace(const PromptSet& prompts);
    /// Forgets prompts and history (a new image).
    void reset();

    /// Index of the point within `radius` image pixels of `position`, or -1.
    int pointNear(const QPointF& position, double radius) const;

signals:
    void promptsChanged(const birkhoff::ui::PromptSet& prompts);

private:
    friend class ChangePromptsCommand;
    void apply(const PromptSet& prompts);
    void push(const PromptSet& after, const QString& text);

    PromptSet prompts_;
    QUndoStack undoStack_;
};

}  // namespace birkhoff::ui
