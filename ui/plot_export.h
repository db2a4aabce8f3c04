// Writing a plot to PNG or PDF, atomically (QSaveFile: a temporary file renamed when complete).
#pragma once

#include <QString>

class QCustomPlot;

namespace birkhoff::ui {

/// Renders `plot` at its current size into `path`: PDF when the name ends in ".pdf", PNG
/// otherwise (at twice the pixel density). Returns false and sets `error` on failure; the
/// destination is then left untouched.
bool exportPlot(QCustomPlot& plot, const QString& path, QString* error);

/// Writes `text` (UTF-8) to `path` atomically. Returns false and sets `error` on failure.
bool writeTextFileAtomically(const QString& path, const QString& text, QString* error);

}  // namespace birkhoff::ui
