// Image files as hostile input: the dimensions stated in PNG, JPEG, BMP, WebP and GIF headers are
// read without decoding (checked against files OpenCV wrote, and a GIF header written here), and a file whose header
// claims more than kMaxImagePixels (a 30000 x 30000 PNG, a 60000 x 60000 JPEG) is refused at once
// with its size named, before any pixel is decoded; an ordinary photo still reads.
#include "core/predict/image_io.h"
#include "core/util/error.h"

#include "tests/support/test_registry.h"

#include <opencv2/imgcodecs.hpp>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>

namespace {

void writeBytes(const std::string& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

std::string be32(std::uint32_t v)
{
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace

class TestImageLimits : public QObject {
    Q_OBJECT
private slots:
    void headersGiveTheDimensions()
    {
        QTemporaryDir folder;
        cv::Mat image(23, 37, CV_8UC3, cv::Scalar(10, 200, 30));
        for (const char* suffix : {"png", "jpg", "bmp", "webp"}) {
            const std::string path = folder.filePath(QStringLiteral("a.%1").arg(QString::fromLatin1(suffix))).toStdString();
            QVERIFY(cv::imwrite(path, image));
            const auto dims = birkhoff::predict::imageDimensions(path);
            QVERIFY2(dims && *dims == cv::Size(37, 23), suffix);
        }
        // GIF (OpenCV 4.6 writes none): the logical screen descriptor, little-endian.
        const std::string gif = folder.filePath(QStringLiteral("a.gif")).toStdString();
        writeBytes(gif, std::string("GIF89a\x25\x00\x17\x00\xf0\x00\x00", 13) + std::string(20, '\0'));
        QCOMPARE(*birkhoff::predict::imageDimensions(gif), cv::Size(37, 23));
        const std::string text = folder.filePath(QStringLiteral("notes.txt")).toStdString();
        writeBytes(text, "not an image at all, just some words");
        QVERIFY(!birkhoff::predict::imageDimensions(text));
        // A lossless WebP header too (OpenCV writes lossy by default).
        QVERIFY(cv::imwrite(folder.filePath(QStringLiteral("l.webp")).toStdString(), image, {cv::IMWRITE_WEBP_QUALITY, 101}));
        QCOMPARE(*birkhoff::predict::imageDimensions(folder.filePath(QStringLiteral("l.webp")).toStdString()), cv::Size(37, 23));
        // And the photo reads as before.
        QCOMPARE(birkhoff::predict::readImageRgb(folder.filePath(QStringLiteral("a.png")).toStdString()).size(), cv::Size(37, 23));
    }

    void hugeImagesAreRefusedBeforeDecoding()
    {
        QTemporaryDir folder;
        // A PNG signature and IHDR stating 30000 x 30000, 8-bit RGB (no pixel data follows).
        const std::string png = folder.filePath(QStringLiteral("huge.png")).toStdString();
        writeBytes(png, std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(30000) + be32(30000) +
                            std::string("\x08\x02\x00\x00\x00", 5) + be32(0));
        // A JPEG whose first frame header (SOF0) states 60000 x 60000.
        const std::string jpg = folder.filePath(QStringLiteral("huge.jpg")).toStdString();
        writeBytes(jpg, std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20) +
                            std::string("\xff\xc0\x00\x11\x08\xea\x60\xea\x60\x03", 10) + std::string(9, '\x01'));
        for (const auto& [path, text] : {std::pair<std::string, const char*>{png, "30000 x 30000 = 900 megapixels"},
                                         std::pair<std::string, const char*>{jpg, "60000 x 60000 = 3600 megapixels"}}) {
            QElapsedTimer timer;
            timer.start();
            QString message;
            try {
                birkhoff::predict::readImageRgb(path);
            } catch (const birkhoff::Error& e) {
                message = QString::fromStdString(e.what());
            }
            QVERIFY2(message.contains(QString::fromLatin1(text)) && message.contains(QStringLiteral("50 megapixels")),
                     qPrintable(message));
            QVERIFY(message.contains(QString::fromStdString(path)));
            QVERIFY2(timer.elapsed() < 1000, "refused from the header, not after decoding");
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestImageLimits);
#include "test_image_limits.moc"
