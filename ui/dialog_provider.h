// Every modal dialog the studio opens (file choosers, error and question boxes) goes through a
// DialogProvider, so tests can answer them without a user (as KeePassXC's GUI tests do): the
// main window receives the provider, tests pass a scripted one (tests/ui/scripted_dialogs.h).
#pragma once

#include <QString>

#include <optional>

class QWidget;

namespace birkhoff::ui {

class DialogProvider {
public:
    virtual ~DialogProvider() = default;

    /// Path of an existing file chosen by the user, or "" when cancelled.
    virtual QString openFileName(QWidget* parent, const QString& caption, const QString& directory,
                                 const QString& filter);
    /// Path to write chosen by the user (the dialog confirms overwriting), or "" when cancelled.
    virtual QString saveFileName(QWidget* parent, const QString& caption, const QString& path,
                                 const QString& filter);
    /// Shows an error (e.g. a birkhoff::Error message) and waits for the user to close it.
    virtual void showError(QWidget* parent, const QString& title, const QString& message);
    /// Shows an information message.
    virtual void showInformation(QWidget* parent, const QString& title, const QString& message);
    /// Asks for a number in [minimum, maximum]; nullopt when cancelled.
    virtual std::optional<double> askNumber(QWidget* parent, const QString& title, const QString& label, double value,
                                            double minimum, double maximum, int decimals);
};

}  // namespace birkhoff::ui
