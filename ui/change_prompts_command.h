// The one undo command of the prompt history: it swaps the whole prompt set between the state
// before and after an edit (adding, removing, boxing, clearing), so every edit undoes the same way.
#pragma once

#include "ui/prompt_set.h"

#include <QUndoCommand>

namespace birkhoff::ui {

class PromptDocument;

class ChangePromptsCommand : public QUndoCommand {
public:
    ChangePromptsCommand(PromptDocument* document, PromptSet before, PromptSet after, const QString& text);

    void undo() override;
    void redo() override;

private:
    PromptDocument* document_;
    PromptSet before_;
    PromptSet after_;
};

}  // namespace birkhoff::ui
