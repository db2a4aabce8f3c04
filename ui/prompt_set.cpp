// Prompt points and box shared by both panes (see prompt_set.h).
#include "ui/prompt_set.h"

namespace birkhoff::ui {

QString PromptSet::describe() const
{
    if (isEmpty())
        return QStringLiteral("no prompts");
    int negatives = 0;
    for (const PromptPoint& p : points)
        negatives += p.label == 0 ? 1 : 0;
    QString text;
    if (!points.isEmpty()) {
        text = points.size() == 1 ? QStringLiteral("1 point") : QStringLiteral("%1 points").arg(points.size());
        if (negatives > 0)
            text += QStringLiteral(" (%1 negative)").arg(negatives);
    }
    if (box)
        text += text.isEmpty() ? QStringLiteral("box") : QStringLiteral(", box");
    return text;
}

}  // namespace birkhoff::ui
