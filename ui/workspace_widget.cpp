// The image workspace (see workspace_widget.h).
#include "ui/workspace_widget.h"

#include "ui/plot_style.h"
#include "ui/predictor_session.h"
#include "ui/text_format.h"
#include "ui/view_transform.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QSplitter>
#include <QStringList>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace birkhoff::ui {

namespace {

/// The button group id of "Best" (QButtonGroup reserves -1 for "assign one").
constexpr int kBestButtonId = 3;

}  // namespace

WorkspaceWidget::WorkspaceWidget(EmbeddingCache* cache, QWidget* parent) : QWidget(parent), cache_(cache)
{
    setObjectName(QStringLiteral("workspace"));
    view_ = new ViewTransform(this);

    panes_[Original] = new ImagePane(tr("Original"), plot_style::originalColor(), view_, this);
    panes_[Original]->setObjectName(QStringLiteral("originalPane"));
    panes_[Original]->setAccessibleName(tr("Original model pane"));
    panes_[Compressed] = new ImagePane(tr("Compressed"), plot_style::compressedColor(), view_, this);
    panes_[Compressed]->setObjectName(QStringLiteral("compressedPane"));
    panes_[Compressed]->setAccessibleName(tr("Compressed model pane"));
    sessions_[Original] = new PredictorSession(cache_, this);
    sessions_[Compressed] = new PredictorSession(cache_, this);

    opacitySlider_ = new QSlider(Qt::Horizontal, this);
    opacitySlider_->setObjectName(QStringLiteral("opacitySlider"));
    opacitySlider_->setAccessibleName(tr("Mask opacity"));
    opacitySlider_->setRange(0, 100);
    opacitySlider_->setValue(45);
    opacitySlider_->setMaximumWidth(140);
    opacitySlider_->setToolTip(tr("Mask opacity ([ and ])"));
    outlineCheck_ = new QCheckBox(tr("O&utline"), this);
    outlineCheck_->setObjectName(QStringLiteral("outlineCheck"));
    outlineCheck_->setToolTip(tr("Draw mask outlines only (O)"));
    viewCombo_ = new QComboBox(this);
    viewCombo_->setObjectName(QStringLiteral("overlayViewCombo"));
    viewCombo_->setAccessibleName(tr("Overlay view"));
    viewCombo_->addItem(tr("Masks"), static_cast<int>(OverlayView::Masks));
    viewCombo_->addItem(tr("Difference"), static_cast<int>(OverlayView::Difference));
    viewCombo_->setToolTip(tr("Masks: each pane its own mask. Difference: only original / only compressed / both (D)"));
    multimaskCheck_ = new QCheckBox(tr("&Multimask"), this);
    multimaskCheck_->setObjectName(QStringLiteral("multimaskCheck"));
    multimaskCheck_->setChecked(true);
    multimaskCheck_->setToolTip(tr("Three candidate masks for a single prompt (one mask for several prompts)"));
    previewCheck_ = new QCheckBox(tr("Live &preview"), this);
    previewCheck_->setObjectName(QStringLiteral("livePreviewCheck"));
    previewCheck_->setChecked(true);
    previewCheck_->setToolTip(tr("After the first click, show the mask a click at the cursor would give (P)"));

    candidateGroup_ = new QButtonGroup(this);
    candidateGroup_->setExclusive(true);
    const QStringList candidateNames{tr("Best"), QStringLiteral("1"), QStringLiteral("2"), QStringLiteral("3")};
    for (int i = 0; i < 4; ++i) {
        auto* b = new QToolButton(this);
        b->setText(candidateNames[i]);
        b->setCheckable(true);
        b->setObjectName(i == 0 ? QStringLiteral("candidateBest") : QStringLiteral("candidate%1").arg(i));
        b->setAccessibleName(i == 0 ? tr("Best candidate mask") : tr("Candidate mask %1").arg(i));
        b->setToolTip(i == 0 ? tr("Each pane shows its candidate with the highest predicted IoU (0)")
                             : tr("Show candidate %1 in both panes (%1)").arg(i));
        candidateGroup_->addButton(b, i == 0 ? kBestButtonId : i - 1);
        candidateButtons_[static_cast<std::size_t>(i)] = b;
    }
    candidateButtons_[0]->setChecked(true);
    auto* fitButton = new QToolButton(this);
    fitButton->setObjectName(QStringLiteral("fitButton"));
    fitButton->setText(tr("Fit"));
    fitButton->setToolTip(tr("Fit the image (Ctrl+0)"));

    iouLabel_ = new QLabel(this);
    iouLabel_->setObjectName(QStringLiteral("iouLabel"));
    iouLabel_->setAccessibleName(tr("IoU between original and compressed masks"));
    QFont big = iouLabel_->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    iouLabel_->setFont(big);
    readoutLabel_ = new QLabel(this);
    readoutLabel_->setObjectName(QStringLiteral("readoutLabel"));
    readoutLabel_->setAccessibleName(tr("Mask comparison readout"));
    readoutLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    readoutLabel_->setWordWrap(true);  // the difference view's pixel counts must not widen the window
    legendLabel_ = new QLabel(this);
    legendLabel_->setObjectName(QStringLiteral("legendLabel"));
    // One entry per line: the readout beside it wraps to several lines anyway.
    legendLabel_->setText(tr("<span style='color:%1'>&#9632;</span>&nbsp;only&nbsp;original<br>"
                             "<span style='color:%2'>&#9632;</span>&nbsp;only&nbsp;compressed<br>"
                             "<span style='color:%3'>&#9632;</span>&nbsp;both")
                              .arg(plot_style::originalColor().name(), plot_style::compressedColor().name(),
                                   plot_style::bothColor().name()));

    auto* controls = new QHBoxLayout;
    auto* opacityLabel = new QLabel(tr("Op&acity"), this);
    opacityLabel->setBuddy(opacitySlider_);
    controls->addWidget(opacityLabel);
    controls->addWidget(opacitySlider_);
    controls->addWidget(outlineCheck_);
    auto* viewLabel = new QLabel(tr("&View"), this);
    viewLabel->setBuddy(viewCombo_);
    controls->addWidget(viewLabel);
    controls->addWidget(viewCombo_);
    controls->addSpacing(8);
    controls->addWidget(multimaskCheck_);
    for (QToolButton* b : candidateButtons_)
        controls->addWidget(b);
    controls->addSpacing(8);
    controls->addWidget(previewCheck_);
    controls->addStretch(1);
    controls->addWidget(fitButton);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setObjectName(QStringLiteral("paneSplitter"));
    splitter->addWidget(panes_[Original]);
    splitter->addWidget(panes_[Compressed]);
    splitter->setChildrenCollapsible(false);

    auto* readout = new QHBoxLayout;
    readout->addWidget(iouLabel_);
    readout->addSpacing(12);
    readout->addWidget(readoutLabel_, 1);
    readout->addWidget(legendLabel_);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);
    layout->addLayout(readout);

    for (Pane p : {Original, Compressed}) {
        ImagePane* pane = panes_[p];
        connect(pane, &ImagePane::pointRequested, this,
                [this](const QPointF& pos, int label) { prompts_.addPoint(pos, label); });
        connect(pane, &ImagePane::pointRemovalRequested, &prompts_, &PromptDocument::removePoint);
        connect(pane, &ImagePane::boxDragged, this, &WorkspaceWidget::onBoxDragged);
        connect(pane, &ImagePane::hovered, this, &WorkspaceWidget::onHovered);
        PredictorSession* session = sessions_[p];
        connect(session, &PredictorSession::stateChanged, pane,
                [this, pane](PaneState state, const QString& detail) {
                    pane->setState(state, detail);
                    refreshReadout();
                });
        connect(session, &PredictorSession::predictionReady, this,
                [this, p](const MaskPrediction& prediction) { onPrediction(p, prediction); });
        connect(session, &PredictorSession::failed, this,
                [this, p](const QString& message) { emit paneFailed(p == Original ? tr("original") : tr("compressed"), message); });
    }
    connect(&prompts_, &PromptDocument::promptsChanged, this, &WorkspaceWidget::onPromptsChanged);
    connect(opacitySlider_, &QSlider::valueChanged, this, [this] {
        refreshOverlays();
        emit overlayOptionsChanged();
    });
    connect(outlineCheck_, &QCheckBox::toggled, this, [this] {
        refreshOverlays();
        emit overlayOptionsChanged();
    });
    connect(viewCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        refreshOverlays();
        refreshReadout();
        emit overlayOptionsChanged();
    });
    connect(multimaskCheck_, &QCheckBox::toggled, this, [this] {
        requestDecodes();
        emit overlayOptionsChanged();
    });
    connect(previewCheck_, &QCheckBox::toggled, this, [this](bool on) {
        if (!on) {
            setHoverActive(false, std::nullopt);
            refreshOverlays();
        }
        emit overlayOptionsChanged();
    });
    connect(candidateGroup_, &QButtonGroup::idClicked, this,
            [this](int id) { setCandidate(id == kBestButtonId ? -1 : id); });
    connect(fitButton, &QToolButton::clicked, this, &WorkspaceWidget::fitView);

    refreshCandidateButtons();
    refreshReadout();
}

WorkspaceWidget::~WorkspaceWidget() = default;

void WorkspaceWidget::setModel(Pane pane, std::shared_ptr<const models::SamModel> model, const QString& modelId,
                               const QString& subtitle)
{
    panes_[pane]->setSubtitle(subtitle);
    committed_[pane] = MaskPrediction{};
    preview_[pane] = MaskPrediction{};
    sessions_[pane]->setModel(std::move(model), modelId);
    if (sessions_[pane]->hasModel() && !prompts_.prompts().isEmpty())
        lastCommittedRequest_[pane] = sessions_[pane]->requestDecode(prompts_.prompts(), multimask(), false);
    refreshOverlays();
    refreshReadout();
}

void WorkspaceWidget::setImage(const LoadedImage& image)
{
    image_ = image;
    prompts_.reset();
    view_->fit(QSizeF(image.rgb.size()));
    for (Pane p : {Original, Compressed}) {
        committed_[p] = MaskPrediction{};
        preview_[p] = MaskPrediction{};
        panes_[p]->setImage(image.rgb);
        sessions_[p]->setImage(image);
    }
    setHoverActive(false, std::nullopt);
    refreshOverlays();
    refreshReadout();
}

void WorkspaceWidget::onPromptsChanged(const PromptSet& prompts)
{
    for (ImagePane* pane : panes_)
        pane->setPrompts(prompts);
    setHoverActive(false, std::nullopt);
    requestDecodes();
}

void WorkspaceWidget::requestDecodes()
{
    for (Pane p : {Original, Compressed}) {
        if (sessions_[p]->hasModel() && !image_.isNull())
            lastCommittedRequest_[p] = sessions_[p]->requestDecode(prompts_.prompts(), multimask(), false);
    }
}

void WorkspaceWidget::onPrediction(Pane pane, const MaskPrediction& prediction)
{
    if (prediction.preview) {
        preview_[pane] = prediction;
    } else {
        if (prediction.requestId < lastCommittedRequest_[pane])
            return;  // an older committed request finished after a newer one was made
        committed_[pane] = prediction;
        refreshCandidateButtons();
    }
    refreshOverlays();
    refreshReadout();
}

void WorkspaceWidget::onHovered(const QPointF& imagePoint)
{
    const bool inside = !std::isnan(imagePoint.x());
    const bool ready = sessions_[Original]->state() == PaneState::Ready ||
                       sessions_[Compressed]->state() == PaneState::Ready;
    const bool fast = std::max(sessions_[Original]->lastDecoderMs(), sessions_[Compressed]->lastDecoderMs()) <=
                      kPreviewMaxDecodeMs;
    const bool active = livePreview() && inside && ready && fast && !prompts_.prompts().isEmpty();
    if (!active) {
        if (hoverActive_) {
            setHoverActive(false, std::nullopt);
            refreshOverlays();
            refreshReadout();
        }
        return;
    }
    setHoverActive(true, imagePoint);
    PromptSet preview = prompts_.prompts();
    preview.points.append(PromptPoint{imagePoint, 1});
    for (Pane p : {Original, Compressed}) {
        if (sessions_[p]->state() == PaneState::Ready)
            sessions_[p]->requestDecode(preview, multimask(), true);
    }
}

void WorkspaceWidget::onBoxDragged(const QRectF& box, bool finished)
{
    for (ImagePane* pane : panes_)
        pane->setPendingBox(finished ? std::nullopt : std::optional<QRectF>(box));
    if (finished && box.width() >= 2 && box.height() >= 2)
        prompts_.setBox(box);
}

void WorkspaceWidget::setHoverActive(bool active, const std::optional<QPointF>& point)
{
    hoverActive_ = active;
    for (ImagePane* pane : panes_)
        pane->setHoverPoint(active ? point : std::nullopt);
}

const MaskPrediction& WorkspaceWidget::shownPrediction(Pane pane) const
{
    if (hoverActive_ && !preview_[pane].isEmpty())
        return preview_[pane];
    return committed_[pane];
}

int WorkspaceWidget::shownCandidate(Pane pane) const
{
    const MaskPrediction& p = shownPrediction(pane);
    if (p.isEmpty())
        return -1;
    if (candidate_ >= 0 && candidate_ < p.candidates.size())
        return candidate_;
    return p.bestIndex;
}

const MaskCandidate* WorkspaceWidget::shownMask(Pane pane) const
{
    const int k = shownCandidate(pane);
    return k < 0 ? nullptr : &shownPrediction(pane).candidates[k];
}

double WorkspaceWidget::maskIouBetweenPanes() const
{
    const MaskCandidate* a = shownMask(Original);
    const MaskCandidate* b = shownMask(Compressed);
    if (a == nullptr || b == nullptr)
        return -1.0;
    return maskIou(a->mask, b->mask);
}

void WorkspaceWidget::refreshOverlays()
{
    const MaskCandidate* masks[2] = {shownMask(Original), shownMask(Compressed)};
    const bool difference = overlayView() == OverlayView::Difference;
    QImage differenceFill;
    if (difference && masks[0] && masks[1] && !outlineMode())
        differenceFill = differenceOverlay(masks[0]->mask, masks[1]->mask, opacity());
    for (Pane p : {Original, Compressed}) {
        const MaskCandidate* m = masks[p];
        if (m == nullptr) {
            panes_[p]->clearOverlay();
            continue;
        }
        const bool preview = hoverActive_ && !preview_[p].isEmpty();
        QImage fill;
        if (!outlineMode())
            fill = difference && !differenceFill.isNull()
                       ? differenceFill
                       : fillOverlay(m->mask, p == Original ? plot_style::originalColor() : plot_style::compressedColor(),
                                     opacity());
        panes_[p]->setOverlay(fill, m->outline, preview);
    }
}

QString WorkspaceWidget::readoutText() const
{
    QStringList parts;
    const auto describe = [this](Pane p) {
        const PredictorSession* s = sessions_[p];
        const QString name = p == Original ? tr("original") : tr("compressed");
        if (!s->hasModel())
            return tr("%1: no model").arg(name);
        QString text = tr("%1:").arg(name);
        if (s->state() == PaneState::Encoding)
            return text + tr(" encoding...");
        if (s->state() == PaneState::Ready) {
            text += s->embeddingFromCache() ? tr(" encoder %1 (cached)").arg(formatMilliseconds(s->encoderMs()))
                                            : tr(" encoder %1").arg(formatMilliseconds(s->encoderMs()));
        }
        const MaskCandidate* m = shownMask(p);
        if (m != nullptr) {
            text += tr(", decoder %1, %2").arg(formatMilliseconds(committed_[p].decoderMs + committed_[p].postprocessMs),
                                              formatPredictedIou(m->predictedIou));
        }
        return text;
    };
    parts << describe(Original) << describe(Compressed);
    if (overlayView() == OverlayView::Difference) {
        const MaskCandidate* a = shownMask(Original);
        const MaskCandidate* b = shownMask(Compressed);
        if (a && b) {
            const MaskDifference d = maskDifference(a->mask, b->mask);
            parts << tr("pixels: %1 only original, %2 only compressed, %3 both").arg(d.onlyA).arg(d.onlyB).arg(d.both);
        }
    }
    return parts.join(QStringLiteral("  |  "));
}

double WorkspaceWidget::committedMaskIou() const
{
    const auto committedMask = [this](Pane p) -> const MaskCandidate* {
        const MaskPrediction& prediction = committed_[p];
        if (prediction.isEmpty())
            return nullptr;
        const int k = candidate_ >= 0 && candidate_ < prediction.candidates.size() ? candidate_ : prediction.bestIndex;
        return &prediction.candidates[k];
    };
    const MaskCandidate* a = committedMask(Original);
    const MaskCandidate* b = committedMask(Compressed);
    return a && b ? maskIou(a->mask, b->mask) : -1.0;
}

void WorkspaceWidget::refreshReadout()
{
    const double iou = maskIouBetweenPanes();
    const bool previewing = hoverActive_ && (!preview_[Original].isEmpty() || !preview_[Compressed].isEmpty());
    if (previewing) {
        // The preview's IoU, marked as such, next to the committed prompts' IoU.
        const double committed = committedMaskIou();
        iouLabel_->setText(tr("Preview IoU %1 (clicked: %2)")
                               .arg(iou < 0 ? QStringLiteral("-") : QString::number(iou, 'f', 4),
                                    committed < 0 ? QStringLiteral("-") : QString::number(committed, 'f', 4)));
    } else {
        iouLabel_->setText(iou < 0 ? tr("IoU -") : tr("IoU %1").arg(iou, 0, 'f', 4));
    }
    const QString text = previewing ? tr("Preview: %1").arg(readoutText()) : readoutText();
    readoutLabel_->setText(text);
    legendLabel_->setVisible(overlayView() == OverlayView::Difference);
    emit readoutChanged(text);
}

void WorkspaceWidget::refreshCandidateButtons()
{
    const int count = static_cast<int>(std::max(committed_[Original].candidates.size(), committed_[Compressed].candidates.size()));
    for (int k = 1; k <= 3; ++k) {
        QToolButton* b = candidateButtons_[static_cast<std::size_t>(k)];
        b->setEnabled(count >= k && count > 1);
        QStringList ious;
        for (Pane p : {Original, Compressed}) {
            const auto& c = committed_[p].candidates;
            if (k - 1 < c.size())
                ious << formatPredictedIou(c[k - 1].predictedIou);
        }
        b->setToolTip(ious.isEmpty() ? tr("Candidate %1").arg(k)
                                     : tr("Candidate %1: %2 (original / compressed)").arg(k).arg(ious.join(QStringLiteral(" / "))));
    }
    candidateButtons_[0]->setEnabled(count > 1);
}

MaskExport WorkspaceWidget::exportData(const QString& originalDetails, const QString& compressedDetails) const
{
    MaskExport data;
    data.imagePath = image_.path;
    data.width = image_.rgb.width();
    data.height = image_.rgb.height();
    data.prompts = committed_[Original].prompts.isEmpty() ? committed_[Compressed].prompts : committed_[Original].prompts;
    const auto add = [&](Pane p, const QString& model, const QString& details) {
        const MaskPrediction& prediction = committed_[p];
        const int k = candidate_ >= 0 && candidate_ < prediction.candidates.size() ? candidate_ : prediction.bestIndex;
        if (prediction.isEmpty())
            return;
        const MaskCandidate& c = prediction.candidates[k];
        data.masks.append(ExportedMask{model, details, c.mask, c.predictedIou, c.token});
    };
    add(Original, QStringLiteral("original"), originalDetails);
    add(Compressed, QStringLiteral("compressed"), compressedDetails);
    if (data.masks.size() == 2)
        data.iouBetween = maskIou(data.masks[0].mask, data.masks[1].mask);
    return data;
}

void WorkspaceWidget::setOpacity(int percent)
{
    opacitySlider_->setValue(percent);
}

int WorkspaceWidget::opacity() const
{
    return opacitySlider_->value();
}

void WorkspaceWidget::setOutlineMode(bool outline)
{
    outlineCheck_->setChecked(outline);
}

bool WorkspaceWidget::outlineMode() const
{
    return outlineCheck_->isChecked();
}

void WorkspaceWidget::setOverlayView(OverlayView view)
{
    viewCombo_->setCurrentIndex(viewCombo_->findData(static_cast<int>(view)));
}

OverlayView WorkspaceWidget::overlayView() const
{
    return static_cast<OverlayView>(viewCombo_->currentData().toInt());
}

void WorkspaceWidget::setMultimask(bool multimask)
{
    multimaskCheck_->setChecked(multimask);
}

bool WorkspaceWidget::multimask() const
{
    return multimaskCheck_->isChecked();
}

void WorkspaceWidget::setLivePreview(bool enabled)
{
    previewCheck_->setChecked(enabled);
}

bool WorkspaceWidget::livePreview() const
{
    return previewCheck_->isChecked();
}

void WorkspaceWidget::setCandidate(int candidate)
{
    candidate_ = candidate < 0 || candidate > 2 ? -1 : candidate;
    candidateButtons_[static_cast<std::size_t>(candidate_ + 1)]->setChecked(true);
    refreshOverlays();
    refreshReadout();
}

void WorkspaceWidget::zoomIn()
{
    view_->zoomBy(1.25);
}

void WorkspaceWidget::zoomOut()
{
    view_->zoomBy(1.0 / 1.25);
}

void WorkspaceWidget::fitView()
{
    if (!image_.isNull())
        view_->fit(QSizeF(image_.rgb.size()));
}

}  // namespace birkhoff::ui
