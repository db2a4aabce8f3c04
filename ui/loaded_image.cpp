// Loading workspace images (see loaded_image.h).
#include "ui/loaded_image.h"

#include "core/predict/image_io.h"
#include "core/util/error.h"

#include <QCryptographicHash>
#include <QFileInfo>
#include <QImageReader>

namespace birkhoff::ui {

QString LoadedImage::displayName() const
{
    return QFileInfo(path).fileName();
}

LoadedImage imageFromQImage(const QImage& image, const QString& path)
{
    LoadedImage loaded;
    loaded.path = path;
    loaded.rgb = image.convertToFormat(QImage::Format_RGB888);
    QCryptographicHash hash(QCryptographicHash::Sha1);
    hash.addData(QByteArray::number(loaded.rgb.width()) + 'x' + QByteArray::number(loaded.rgb.height()));
    for (int y = 0; y < loaded.rgb.height(); ++y)
        hash.addData(QByteArrayView(reinterpret_cast<const char*>(loaded.rgb.constScanLine(y)), loaded.rgb.width() * 3));
    loaded.hash = hash.result().toHex();
    return loaded;
}

LoadedImage loadImage(const QString& path)
{
    if (path.startsWith(QLatin1Char(':'))) {
        QImageReader reader(path);
        reader.setAutoTransform(true);
        const QImage image = reader.read();
        if (image.isNull())
            throw Error("cannot read image " + path.toStdString() + ": " + reader.errorString().toStdString());
        return imageFromQImage(image, path);
    }
    const cv::Mat rgb = predict::readImageRgb(std::filesystem::path(path.toStdString()));
    const QImage view(rgb.data, rgb.cols, rgb.rows, static_cast<qsizetype>(rgb.step), QImage::Format_RGB888);
    return imageFromQImage(view.copy(), path);
}

}  // namespace birkhoff::ui
