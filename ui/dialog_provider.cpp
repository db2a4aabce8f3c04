// The interactive DialogProvider: Qt's standard file dialogs and message boxes.
#include "ui/dialog_provider.h"

#include <QFileDialog>
#include <QInputDialog>
#include <QMessageBox>

namespace birkhoff::ui {

QString DialogProvider::openFileName(QWidget* parent, const QString& caption, const QString& directory,
                                     const QString& filter)
{
    return QFileDialog::getOpenFileName(parent, caption, directory, filter);
}

QString DialogProvider::saveFileName(QWidget* parent, const QString& caption, const QString& path,
                                     const QString& filter)
{
    return QFileDialog::getSaveFileName(parent, caption, path, filter);
}

void DialogProvider::showError(QWidget* parent, const QString& title, const QString& message)
{
    QMessageBox box(QMessageBox::Critical, title, message, QMessageBox::Ok, parent);
    box.setObjectName(QStringLiteral("errorMessageBox"));
    box.setTextInteractionFlags(Qt::TextSelectableByMouse);
    box.exec();
}

void DialogProvider::showInformation(QWidget* parent, const QString& title, const QString& message)
{
    QMessageBox box(QMessageBox::Information, title, message, QMessageBox::Ok, parent);
    box.setObjectName(QStringLiteral("informationMessageBox"));
    box.exec();
}

std::optional<double> DialogProvider::askNumber(QWidget* parent, const QString& title, const QString& label,
                                                double value, double minimum, double maximum, int decimals)
{
    bool ok = false;
    const double chosen = QInputDialog::getDouble(parent, title, label, value, minimum, maximum, decimals, &ok);
    return ok ? std::optional<double>(chosen) : std::nullopt;
}

}  // namespace birkhoff::ui
