// The image workspace: the original | compressed panes side by side with shared zoom/pan, the
// prompt history (undo/redo), one predictor session per pane, the overlay controls (opacity,
// outline, masks / difference view, multimask candidate, live hover preview) and the readout
// (IoU between the two masks, each predicted IoU, encoder and decoder times).
#pragma once

#include "ui/image_pane.h"
#include "ui/loaded_image.h"
#include "ui/mask_export.h"
#include "ui/mask_overlay.h"
#include "ui/mask_prediction.h"
#include "ui/prompt_document.h"

#include <QWidget>

#include <array>
#include <memory>

class QButtonGroup;
class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;
class QToolButton;

namespace birkhoff::models {
class SamModel;
}

namespace birkhoff::ui {

class EmbeddingCache;
class PredictorSession;
class ViewTransform;

class WorkspaceWidget : public QWidget {
    Q_OBJECT
public:
    enum Pane { Original = 0, Compressed = 1 };

    /// `cache` must outlive the widget.
    explicit WorkspaceWidget(EmbeddingCache* cache, QWidget* parent = nullptr);
    ~WorkspaceWidget() override;

    /// Sets the model of a pane (null: none) with the id keying its embeddings and a subtitle.
    void setModel(Pane pane, std::shared_ptr<const models::SamModel> model, const QString& modelId,
                  const QString& subtitle);
    /// Shows `image` in both panes and starts encoding it; prompts and their history reset.
    void setImage(const LoadedImage& image);
    const LoadedImage& image() const { return image_; }
    bool hasImage() const { return !image_.isNull(); }

    PromptDocument* prompts() { return &prompts_; }
    ImagePane* pane(Pane pane) const { return panes_[pane]; }
    PredictorSession* session(Pane pane) const { return sessions_[pane]; }

    /// The committed prediction shown in a pane (empty before the first prompt).
    const MaskPrediction& prediction(Pane pane) const { return committed_[pane]; }
    /// Index of the candidate shown in a pane (-1 when there is none).
    int shownCandidate(Pane pane) const;
    /// IoU between the two shown masks, or -1 when either is missing.
    double maskIouBetweenPanes() const;
    /// The readout text (IoU, predicted IoUs, times).
    QString readoutText() const;
    /// The masks currently shown, for export (empty masks list when none).
    MaskExport exportData(const QString& originalDetails, const QString& compressedDetails) const;

    // Overlay options (also set from the main window's actions and settings).
    void setOpacity(int percent);
    int opacity() const;
    void setOutlineMode(bool outline);
    bool outlineMode() const;
    void setOverlayView(OverlayView view);
    OverlayView overlayView() const;
    void setMultimask(bool multimask);
    bool multimask() const;
    void setLivePreview(bool enabled);
    bool livePreview() const;
    /// -1 = best by predicted IoU per pane, else candidate k in both panes.
    void setCandidate(int candidate);
    int candidate() const { return candidate_; }

    void zoomIn();
    void zoomOut();
    void fitView();

    /// Decoding faster than this (ms, both panes) enables the hover preview.
    static constexpr double kPreviewMaxDecodeMs = 200.0;

signals:
    /// Something in the readout changed (status bar, tests).
    void readoutChanged(const QString& text);
    /// Overlay options changed by the user (to persist them).
    void overlayOptionsChanged();
    /// A pane reported an error (already shown in its badge).
    void paneFailed(const QString& pane, const QString& message);

private:
    void onPromptsChanged(const PromptSet& prompts);
    void onPrediction(Pane pane, const MaskPrediction& prediction);
    void onHovered(const QPointF& imagePoint);
    /// Starts or ends the hover preview and shows its point in both panes.
    void setHoverActive(bool active, const std::optional<QPointF>& point);
    /// The IoU between the panes' masks for the committed prompts (not the preview), or -1.
    double committedMaskIou() const;
    void onBoxDragged(const QRectF& box, bool finished);
    void requestDecodes();
    void refreshOverlays();
    void refreshReadout();
    void refreshCandidateButtons();
    const MaskPrediction& shownPrediction(Pane pane) const;
    const MaskCandidate* shownMask(Pane pane) const;

    EmbeddingCache* cache_;
    ViewTransform* view_ = nullptr;
    PromptDocument prompts_;
    LoadedImage image_;
    std::array<ImagePane*, 2> panes_{};
    std::array<PredictorSession*, 2> sessions_{};
    std::array<MaskPrediction, 2> committed_;
    std::array<MaskPrediction, 2> preview_;
    std::array<quint64, 2> lastCommittedRequest_{0, 0};
    bool hoverActive_ = false;
    int candidate_ = -1;

    QSlider* opacitySlider_ = nullptr;
    QCheckBox* outlineCheck_ = nullptr;
    QComboBox* viewCombo_ = nullptr;
    QCheckBox* multimaskCheck_ = nullptr;
    QCheckBox* previewCheck_ = nullptr;
    QButtonGroup* candidateGroup_ = nullptr;
    std::array<QToolButton*, 4> candidateButtons_{};  ///< best, 1, 2, 3
    QLabel* iouLabel_ = nullptr;
    QLabel* readoutLabel_ = nullptr;
    QLabel* legendLabel_ = nullptr;
};

}  // namespace birkhoff::ui
