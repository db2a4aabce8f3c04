// Undo command swapping prompt sets (see change_prompts_command.h).
#include "ui/change_prompts_command.h"

#include "ui/prompt_document.h"

#include <utility>

namespace birkhoff::ui {

ChangePromptsCommand::ChangePromptsCommand(PromptDocument* document, PromptSet before, PromptSet after,
                                           const QString& text)
    : QUndoCommand(text), document_(document), before_(std::move(before)), after_(std::move(after))
{
}

void ChangePromptsCommand::undo()
{
    document_->apply(before_);
}

void ChangePromptsCommand::redo()
{
    document_->apply(after_);
}

}  // namespace birkhoff::ui
