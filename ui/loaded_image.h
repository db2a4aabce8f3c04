// An image opened in the workspace: its pixels (8-bit RGB, as the predictor wants them), where it
// came from, and a content hash that keys the embedding cache (the same pixels opened twice, or
// under another name, reuse their embeddings).
#pragma once

#include <QByteArray>
#include <QImage>
#include <QString>

namespace birkhoff::ui {

struct LoadedImage {
    QString path;      ///< file path, or ":/samples/..." for a bundled sample
    QImage rgb;        ///< Format_RGB888
    QByteArray hash;   ///< hex SHA-1 of size + pixels

    bool isNull() const { return rgb.isNull(); }
    QString displayName() const;
};

/// Reads an image file (EXIF orientation applied, grayscale / 16-bit / alpha converted to 8-bit
/// RGB by the core reader) or a Qt resource (":/..."). Call it off the GUI thread for large files.
/// @throws birkhoff::Error naming the file when it is missing or cannot be decoded.
LoadedImage loadImage(const QString& path);

/// Wraps an in-memory image (converted to RGB888) with its hash.
LoadedImage imageFromQImage(const QImage& image, const QString& path);

}  // namespace birkhoff::ui
