// Atomic plot and text export (see plot_export.h).
#include "ui/plot_export.h"

#include "ui/qcustomplot_include.h"

#include <QFileInfo>
#include <QPdfWriter>
#include <QSaveFile>

namespace birkhoff::ui {

namespace {

bool commit(QSaveFile& file, const QString& path, QString* error)
{
    if (!file.commit()) {
        if (error)
            *error = QStringLiteral("could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

}  // namespace

bool exportPlot(QCustomPlot& plot, const QString& path, QString* error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error)
            *error = QStringLiteral("could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    const int width = plot.width();
    const int height = plot.height();
    if (QFileInfo(path).suffix().compare(QLatin1String("pdf"), Qt::CaseInsensitive) == 0) {
        QPdfWriter writer(&file);
        writer.setCreator(QStringLiteral("Birkhoff Studio"));
        writer.setPageSize(QPageSize(QSizeF(width, height), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        writer.setResolution(72);
        QCPPainter painter(&writer);
        if (!painter.isActive()) {
            if (error)
                *error = QStringLiteral("could not start a PDF for %1").arg(path);
            file.cancelWriting();
            return false;
        }
        plot.toPainter(&painter, width, height);
        painter.end();
    } else {
        const QPixmap pixmap = plot.toPixmap(width, height, 2.0);
        if (pixmap.isNull() || !pixmap.save(&file, "PNG")) {
            if (error)
                *error = QStringLiteral("could not render the plot to %1").arg(path);
            file.cancelWriting();
            return false;
        }
    }
    return commit(file, path, error);
}

bool writeTextFileAtomically(const QString& path, const QString& text, QString* error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error)
            *error = QStringLiteral("could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    file.write(text.toUtf8());
    return commit(file, path, error);
}

}  // namespace birkhoff::ui
