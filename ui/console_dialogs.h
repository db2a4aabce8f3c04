// A DialogProvider for unattended runs (`birkhoff-studio --screenshot`): nothing is asked, file
// choosers and number prompts answer "cancel", and messages go to stderr.
#pragma once

#include "ui/dialog_provider.h"

namespace birkhoff::ui {

class ConsoleDialogs : public DialogProvider {
public:
    QString openFileName(QWidget* parent, const QString& caption, const QString& directory, const QString& filter) override;
    QString saveFileName(QWidget* parent, const QString& caption, const QString& path, const QString& filter) override;
    void showError(QWidget* parent, const QString& title, const QString& message) override;
    void showInformation(QWidget* parent, const QString& title, const QString& message) override;
    std::optional<double> askNumber(QWidget* parent, const QString& title, const QString& label, double value,
                                    double minimum, double maximum, int decimals) override;
};

}  // namespace birkhoff::ui
