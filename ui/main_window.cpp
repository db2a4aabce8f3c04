// The main window of Birkhoff Studio.
#include "ui/main_window.h"

#include "core/util/runtime.h"

#include <QAction>
#include <QApplication>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>

namespace birkhoff::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("Birkhoff Studio"));
    resize(1280, 800);

    QMenu* fileMenu = menuBar()->addMenu(tr("&File"));
    QAction* quit = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setObjectName(QStringLiteral("actionQuit"));
    quit->setShortcut(QKeySequence::Quit);

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    QAction* about = helpMenu->addAction(tr("&About Birkhoff Studio"), this, &MainWindow::showAbout);
    about->setObjectName(QStringLiteral("actionAbout"));

    runtimeLabel_ = new QLabel(this);
    runtimeLabel_->setObjectName(QStringLiteral("runtimeLabel"));
    runtimeLabel_->setAlignment(Qt::AlignCenter);
    runtimeLabel_->setText(QString::fromStdString(runtimeReport()));
    runtimeLabel_->setAccessibleName(tr("Runtime information"));
    setCentralWidget(runtimeLabel_);
    statusBar()->showMessage(tr("Ready"));
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About Birkhoff Studio"),
                       tr("<b>Birkhoff Studio %1</b><p>Data-free compression of Segment Anything Models "
                          "with Hyper-Compression (Birkhoff, arXiv 2507.08765).</p>")
                           .arg(QString::fromStdString(versionString())));
}

}  // namespace birkhoff::ui
