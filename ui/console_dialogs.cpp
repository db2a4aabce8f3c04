// Non-interactive dialogs for unattended runs (see console_dialogs.h).
#include "ui/console_dialogs.h"

#include <cstdio>

namespace birkhoff::ui {

QString ConsoleDialogs::openFileName(QWidget*, const QString&, const QString&, const QString&)
{
    return {};
}

QString ConsoleDialogs::saveFileName(QWidget*, const QString&, const QString&, const QString&)
{
    return {};
}

void ConsoleDialogs::showError(QWidget*, const QString& title, const QString& message)
{
    std::fprintf(stderr, "birkhoff-studio: %s: %s\n", qPrintable(title), qPrintable(message));
}

void ConsoleDialogs::showInformation(QWidget*, const QString& title, const QString& message)
{
    std::fprintf(stderr, "birkhoff-studio: %s: %s\n", qPrintable(title), qPrintable(message));
}

std::optional<double> ConsoleDialogs::askNumber(QWidget*, const QString&, const QString&, double, double, double, int)
{
    return std::nullopt;
}

}  // namespace birkhoff::ui
