// A DialogProvider for GUI tests (KeePassXC's pattern): file choosers and number prompts return
// pre-set answers in order, errors and messages are recorded instead of shown, so tests drive
// the real main window without a user.
#pragma once

#include "ui/dialog_provider.h"

#include <QQueue>
#include <QStringList>

namespace birkhoff::test {

class ScriptedDialogs : public ui::DialogProvider {
public:
    /// The next file dialog (open or save) returns `path`; "" simulates Cancel.
    void setNextFileName(const QString& path) { fileNames_.enqueue(path); }
    /// The next number prompt returns `value` (nullopt simulates Cancel).
    void setNextNumber(std::optional<double> value) { numbers_.enqueue(value); }

    /// "title: message" of every error shown so far.
    const QStringList& errors() const { return errors_; }
    void clearErrors() { errors_.clear(); }
    /// Dialog captions asked for while no answer was queued.
    const QStringList& unanswered() const { return unanswered_; }

    /// The folder (open dialogs) or suggested path (save dialogs) each file dialog started with.
    const QStringList& suggestions() const { return suggestions_; }

    QString openFileName(QWidget*, const QString& caption, const QString& directory, const QString&) override
    {
        suggestions_.append(directory);
        return nextFile(caption);
    }
    QString saveFileName(QWidget*, const QString& caption, const QString& suggestion, const QString&) override
    {
        suggestions_.append(suggestion);
        return nextFile(caption);
    }
    void showError(QWidget*, const QString& title, const QString& message) override
    {
        errors_.append(title + QStringLiteral(": ") + message);
    }
    void showInformation(QWidget*, const QString&, const QString&) override {}
    std::optional<double> askNumber(QWidget*, const QString& title, const QString&, double, double, double, int) override
    {
        if (numbers_.isEmpty()) {
            unanswered_.append(title);
            return std::nullopt;
        }
        return numbers_.dequeue();
    }

private:
    QString nextFile(const QString& caption)
    {
        if (fileNames_.isEmpty()) {
            unanswered_.append(caption);
            return {};
        }
        return fileNames_.dequeue();
    }

    QQueue<QString> fileNames_;
    QQueue<std::optional<double>> numbers_;
    QStringList errors_;
    QStringList unanswered_;
    QStringList suggestions_;
};

}  // namespace birkhoff::test
