// Prompts of the current image with undo (see prompt_document.h).
#include "ui/prompt_document.h"

#include "ui/change_prompts_command.h"

#include <QLineF>

namespace birkhoff::ui {

PromptDocument::PromptDocument(QObject* parent) : QObject(parent)
{
    undoStack_.setObjectName(QStringLiteral("promptUndoStack"));
}

void PromptDocument::push(const PromptSet& after, const QString& text)
{
    if (after == prompts_)
        return;
    undoStack_.push(new ChangePromptsCommand(this, prompts_, after, text));
}

void PromptDocument::addPoint(const QPointF& position, int label)
{
    PromptSet after = prompts_;
    after.points.append(PromptPoint{position, label});
    push(after, label == 1 ? tr("Add positive point") : tr("Add negative point"));
}

void PromptDocument::removePoint(int index)
{
    if (index < 0 || index >= prompts_.points.size())
        return;
    PromptSet after = prompts_;
    after.points.removeAt(index);
    push(after, tr("Remove point"));
}

void PromptDocument::setBox(const QRectF& box)
{
    PromptSet after = prompts_;
    after.box = box.normalized();
    push(after, prompts_.box ? tr("Replace box") : tr("Draw box"));
}

void PromptDocument::clear()
{
    push(PromptSet{}, tr("Clear prompts"));
}

void PromptDocument::replace(const PromptSet& prompts)
{
    if (prompts != prompts_)
        push(prompts, tr("Load prompt set"));
}

void PromptDocument::reset()
{
    undoStack_.clear();
    apply(PromptSet{});
}

int PromptDocument::pointNear(const QPointF& position, double radius) const
{
    int best = -1;
    double bestDistance = radius;
    for (int i = 0; i < prompts_.points.size(); ++i) {
        const double d = QLineF(prompts_.points[i].position, position).length();
        if (d <= bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    return best;
}

void PromptDocument::apply(const PromptSet& prompts)
{
    prompts_ = prompts;
    emit promptsChanged(prompts_);
}

}  // namespace birkhoff::ui
