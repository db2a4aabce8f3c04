// The compression panel (see compression_panel.h).
#include "ui/compression_panel.h"

#include "ui/layer_report.h"
#include "ui/text_format.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace birkhoff::ui {


CompressionPanel::CompressionPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("compressionPanel"));

    rdCheck_ = new QCheckBox(tr("&Rate-distortion codec, target ratio"), this);
    rdCheck_->setObjectName(QStringLiteral("rdCheckBox"));
    rdCheck_->setToolTip(tr("Per-row scales, steps growing with the square root of a tensor's size and "
                            "entropy-coded indices (birkhoff compress --rd): higher ratios at the same mask "
                            "agreement than the paper's lattice. l, U, M and overrides do not apply."));
    rdRatioSpin_ = new QDoubleSpinBox(this);
    rdRatioSpin_->setObjectName(QStringLiteral("rdRatioSpinBox"));
    rdRatioSpin_->setAccessibleName(tr("Rate-distortion target ratio"));
    rdRatioSpin_->setRange(kMinRdRatio, kMaxRdRatio);
    rdRatioSpin_->setDecimals(1);
    rdRatioSpin_->setSingleStep(0.5);
    rdRatioSpin_->setSuffix(QStringLiteral("x"));
    rdRatioSpin_->setValue(8.0);
    connect(rdCheck_, &QCheckBox::toggled, this, [this](bool on) {
        settings_.rdTargetRatio = on ? std::optional<double>(rdRatioSpin_->value()) : std::nullopt;
        refreshDerived();
        emitChanged();
    });
    connect(rdRatioSpin_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double value) {
        if (!settings_.rdTargetRatio)
            return;
        settings_.rdTargetRatio = value;
        emitChanged();
    });

    lSpin_ = new QDoubleSpinBox(this);
    lSpin_->setObjectName(QStringLiteral("lSpinBox"));
    lSpin_->setAccessibleName(tr("Lattice square side l"));
    lSpin_->setDecimals(4);
    lSpin_->setRange(kMinL, kMaxL);
    lSpin_->setSingleStep(0.01);
    lSpin_->setKeyboardTracking(false);
    lSpin_->setToolTip(tr("Side of the square holding the lattice (rect_l). Smaller l: finer grid, more rings needed "
                          "for outliers. Paper default 0.1."));
    lSlider_ = new QSlider(Qt::Horizontal, this);
    lSlider_->setObjectName(QStringLiteral("lSlider"));
    lSlider_->setAccessibleName(tr("l on a logarithmic scale"));
    lSlider_->setRange(0, kSliderSteps);
    lSlider_->setPageStep(kSliderSteps / 20);
    lSlider_->setToolTip(tr("l on a logarithmic scale from %1 to %2").arg(kMinL).arg(kMaxL));

    uEdit_ = new QLineEdit(this);
    uEdit_->setObjectName(QStringLiteral("uListEdit"));
    uEdit_->setAccessibleName(tr("U candidates"));
    uEdit_->setPlaceholderText(QStringLiteral("1225, 1600"));
    uEdit_->setToolTip(tr("Codebook sizes U (perfect squares), tried in order until the MAE is small enough"));
    bitsLabel_ = new QLabel(this);
    bitsLabel_->setObjectName(QStringLiteral("bitsLabel"));
    bitsLabel_->setWordWrap(true);
    bitsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    mSpin_ = new QSpinBox(this);
    mSpin_->setObjectName(QStringLiteral("mSpinBox"));
    mSpin_->setAccessibleName(tr("Maximum outlier rings M"));
    mSpin_->setRange(0, kMaxRingsInUi);
    mSpin_->setToolTip(tr("Maximum number of outlier rings K searched per tensor (paper default 3)"));

    latticeModeCombo_ = new QComboBox(this);
    latticeModeCombo_->setObjectName(QStringLiteral("latticeModeCombo"));
    latticeModeCombo_->setAccessibleName(tr("How l is chosen per tensor"));
    latticeModeCombo_->addItem(tr("Global l (paper)"), static_cast<int>(LatticeMode::GlobalL));
    latticeModeCombo_->addItem(tr("Auto l per tensor"), static_cast<int>(LatticeMode::AutoL));
    latticeModeCombo_->addItem(tr("Target MAE per tensor"), static_cast<int>(LatticeMode::TargetMae));
    latticeModeCombo_->addItem(tr("Target file ratio"), static_cast<int>(LatticeMode::TargetRatio));
    latticeModeCombo_->setToolTip(tr("Global l: every tensor uses l (the paper). Auto l: l from each tensor's spread "
                                     "(--auto-l). Target MAE: per tensor the cheapest l, U, K whose MAE is at most the "
                                     "target (--target-mae). Target ratio: the settings that reach the file ratio "
                                     "(--target-ratio). Auto l and the targets are known only by compressing: the live "
                                     "estimate shows the global settings."));
    targetSpin_ = new QDoubleSpinBox(this);
    targetSpin_->setObjectName(QStringLiteral("targetSpinBox"));
    targetSpin_->setAccessibleName(tr("Target MAE or ratio"));
    targetSpin_->setKeyboardTracking(false);

    overridesLabel_ = new QLabel(this);
    overridesLabel_->setObjectName(QStringLiteral("overridesLabel"));
    clearOverridesButton_ = new QPushButton(tr("Clear"), this);
    clearOverridesButton_->setObjectName(QStringLiteral("clearOverridesButton"));
    clearOverridesButton_->setAccessibleName(tr("Clear per-layer overrides"));
    defaultsButton_ = new QPushButton(tr("Paper &defaults"), this);
    defaultsButton_->setObjectName(QStringLiteral("defaultsButton"));
    defaultsButton_->setToolTip(tr("l = 0.1, U = 1225, 1600, M = 3, no overrides"));

    estimateLabel_ = new QLabel(tr("Open a model to see an estimate."), this);
    estimateLabel_->setObjectName(QStringLiteral("estimateLabel"));
    estimateLabel_->setWordWrap(true);
    estimateLabel_->setAccessibleName(tr("Compression estimate"));
    estimateLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    compressButton_ = new QPushButton(tr("&Compress"), this);
    compressButton_->setObjectName(QStringLiteral("compressButton"));
    compressButton_->setToolTip(tr("Compress the whole model with these settings (Ctrl+R)"));
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelButton"));
    cancelButton_->setToolTip(tr("Stop the running compression (Esc); nothing is kept"));
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("compressProgress"));
    progress_->setAccessibleName(tr("Compression progress"));
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setFormat(QStringLiteral("%p %"));
    progressLabel_ = new QLabel(this);
    progressLabel_->setObjectName(QStringLiteral("progressLabel"));
    progressLabel_->setMinimumWidth(10);
    saveButton_ = new QPushButton(tr("&Save compressed..."), this);
    saveButton_->setObjectName(QStringLiteral("saveCompressedButton"));
    exportButton_ = new QPushButton(tr("&Export restored..."), this);
    exportButton_->setObjectName(QStringLiteral("exportRestoredButton"));
    exportButton_->setToolTip(tr("Write the decompressed (dense) checkpoint as .pth or .safetensors"));
    compressedStateLabel_ = new QLabel(this);
    compressedStateLabel_->setObjectName(QStringLiteral("compressedStateLabel"));
    compressedStateLabel_->setAccessibleName(tr("What the compressed pane runs"));
    compressedStateLabel_->setWordWrap(true);
    compressedStateLabel_->setTextFormat(Qt::RichText);
    compressedStateLabel_->setVisible(false);

    auto* form = new QFormLayout;
    auto* rdRow = new QHBoxLayout;
    rdRow->addWidget(rdCheck_);
    rdRow->addWidget(rdRatioSpin_);
    rdRow->addStretch(1);
    form->addRow(tr("Codec"), rdRow);
    auto* lRow = new QHBoxLayout;
    lRow->addWidget(lSpin_);
    lRow->addWidget(lSlider_, 1);
    auto* lLabel = new QLabel(tr("&l"), this);
    lLabel->setBuddy(lSpin_);
    form->addRow(lLabel, lRow);
    auto* uLabel = new QLabel(tr("&U"), this);
    uLabel->setBuddy(uEdit_);
    form->addRow(uLabel, uEdit_);
    form->addRow(QString(), bitsLabel_);
    auto* mLabel = new QLabel(tr("&M"), this);
    mLabel->setBuddy(mSpin_);
    auto* mRow = new QHBoxLayout;
    mRow->addWidget(mSpin_);
    mRow->addStretch(1);
    mRow->addWidget(defaultsButton_);
    form->addRow(mLabel, mRow);
    auto* modeRow = new QHBoxLayout;
    modeRow->addWidget(latticeModeCombo_, 1);
    modeRow->addWidget(targetSpin_);
    auto* modeLabel = new QLabel(tr("l &chosen by"), this);
    modeLabel->setBuddy(latticeModeCombo_);
    form->addRow(modeLabel, modeRow);
    auto* overridesRow = new QHBoxLayout;
    overridesRow->addWidget(overridesLabel_, 1);
    overridesRow->addWidget(clearOverridesButton_);
    form->addRow(tr("Overrides"), overridesRow);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(compressButton_);
    buttons->addWidget(cancelButton_);
    buttons->addWidget(progress_, 1);
    auto* fileButtons = new QHBoxLayout;
    fileButtons->addWidget(saveButton_);
    fileButtons->addWidget(exportButton_);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(estimateLabel_);
    layout->addLayout(buttons);
    layout->addWidget(progressLabel_);
    layout->addWidget(compressedStateLabel_);
    layout->addLayout(fileButtons);
    layout->addStretch(1);

    connect(lSpin_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &CompressionPanel::onLSpinChanged);
    connect(lSlider_, &QSlider::valueChanged, this, &CompressionPanel::onLSliderChanged);
    connect(uEdit_, &QLineEdit::textEdited, this, &CompressionPanel::onUListEdited);
    connect(mSpin_, qOverload<int>(&QSpinBox::valueChanged), this, &CompressionPanel::onMChanged);
    connect(latticeModeCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &CompressionPanel::onLatticeModeChanged);
    connect(targetSpin_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &CompressionPanel::onTargetChanged);
    connect(defaultsButton_, &QPushButton::clicked, this, &CompressionPanel::resetToDefaults);
    connect(clearOverridesButton_, &QPushButton::clicked, this, &CompressionPanel::clearOverrides);
    connect(compressButton_, &QPushButton::clicked, this, &CompressionPanel::compressRequested);
    connect(cancelButton_, &QPushButton::clicked, this, &CompressionPanel::cancelRequested);
    connect(saveButton_, &QPushButton::clicked, this, &CompressionPanel::saveCompressedRequested);
    connect(exportButton_, &QPushButton::clicked, this, &CompressionPanel::exportRestoredRequested);

    setSettings(settings_);
}

int CompressionPanel::sliderPositionForL(double l)
{
    const double lo = std::log10(kMinL);
    const double hi = std::log10(kMaxL);
    const double t = (std::log10(std::clamp(l, kMinL, kMaxL)) - lo) / (hi - lo);
    return static_cast<int>(std::lround(t * kSliderSteps));
}

double CompressionPanel::lForSliderPosition(int position)
{
    const double lo = std::log10(kMinL);
    const double hi = std::log10(kMaxL);
    const double exponent = lo + (hi - lo) * static_cast<double>(position) / kSliderSteps;
    // Round to 3 significant digits so slider values are readable (0.0501, not 0.050118723).
    const double raw = std::pow(10.0, exponent);
    const double scale = std::pow(10.0, std::floor(std::log10(raw)) - 2);
    return std::clamp(std::round(raw / scale) * scale, kMinL, kMaxL);
}

void CompressionPanel::setSettings(const CompressionSettings& settings)
{
    settings_ = settings;
    {
        const QSignalBlocker blockSpin(lSpin_);
        const QSignalBlocker blockSlider(lSlider_);
        const QSignalBlocker blockM(mSpin_);
        const QSignalBlocker blockRd(rdCheck_);
        const QSignalBlocker blockRdRatio(rdRatioSpin_);
        const QSignalBlocker blockMode(latticeModeCombo_);
        const QSignalBlocker blockTarget(targetSpin_);
        latticeModeCombo_->setCurrentIndex(latticeModeCombo_->findData(static_cast<int>(settings_.latticeMode)));
        configureTargetSpin();
        if (settings_.latticeMode == LatticeMode::TargetMae || settings_.latticeMode == LatticeMode::TargetRatio)
            targetSpin_->setValue(settings_.target);
        rdCheck_->setChecked(settings_.rdTargetRatio.has_value());
        if (settings_.rdTargetRatio)
            rdRatioSpin_->setValue(*settings_.rdTargetRatio);
        lSpin_->setValue(settings_.l);
        lSlider_->setValue(sliderPositionForL(settings_.l));
        mSpin_->setValue(settings_.maxRings);
        uEdit_->setText(formatUList(settings_.uList));
    }
    uEdit_->setStyleSheet(QString());
    refreshDerived();
}

void CompressionPanel::setOverride(const QString& name, const std::optional<LayerOverride>& override)
{
    if (override)
        settings_.overrides.insert(name, *override);
    else
        settings_.overrides.remove(name);
    refreshDerived();
    emitChanged();
}

void CompressionPanel::onLSpinChanged(double value)
{
    settings_.l = value;
    const QSignalBlocker block(lSlider_);
    lSlider_->setValue(sliderPositionForL(value));
    emitChanged();
}

void CompressionPanel::onLSliderChanged(int position)
{
    const double l = lForSliderPosition(position);
    settings_.l = l;
    const QSignalBlocker block(lSpin_);
    lSpin_->setValue(l);
    emitChanged();
}

void CompressionPanel::onUListEdited(const QString& text)
{
    QString error;
    const auto parsed = parseUList(text, &error);
    if (!parsed) {
        uEdit_->setStyleSheet(QStringLiteral("QLineEdit { background: #ffe0e0; }"));
        uEdit_->setToolTip(error);
        bitsLabel_->setText(error);
        return;
    }
    uEdit_->setStyleSheet(QString());
    uEdit_->setToolTip(tr("Codebook sizes U (perfect squares), tried in order until the MAE is small enough"));
    if (*parsed == settings_.uList) {
        refreshDerived();
        return;
    }
    settings_.uList = *parsed;
    refreshDerived();
    emitChanged();
}

void CompressionPanel::onMChanged(int value)
{
    settings_.maxRings = value;
    refreshDerived();
    emitChanged();
}

void CompressionPanel::configureTargetSpin()
{
    const QSignalBlocker block(targetSpin_);
    if (settings_.latticeMode == LatticeMode::TargetRatio) {
        targetSpin_->setDecimals(2);
        targetSpin_->setRange(kMinTargetRatio, kMaxTargetRatio);
        targetSpin_->setSingleStep(0.25);
        targetSpin_->setPrefix(QString());
        targetSpin_->setSuffix(QStringLiteral("x"));
        targetSpin_->setToolTip(tr("File ratio to reach (original size / compressed size); compressing fails naming the "
                                   "largest reachable ratio when it cannot be reached"));
    } else {
        targetSpin_->setDecimals(6);
        targetSpin_->setRange(kMinTargetMae, kMaxTargetMae);
        targetSpin_->setSingleStep(0.0001);
        targetSpin_->setPrefix(QStringLiteral("MAE "));
        targetSpin_->setSuffix(QString());
        targetSpin_->setToolTip(tr("Largest mean absolute error allowed per tensor"));
    }
}

void CompressionPanel::onLatticeModeChanged(int index)
{
    settings_.latticeMode = static_cast<LatticeMode>(latticeModeCombo_->itemData(index).toInt());
    configureTargetSpin();
    if (settings_.latticeMode == LatticeMode::TargetMae || settings_.latticeMode == LatticeMode::TargetRatio) {
        // A sensible start: the paper's MAE threshold scale, or the paper lattice's usual ratio.
        const double start = settings_.latticeMode == LatticeMode::TargetMae ? 0.001 : 6.0;
        const QSignalBlocker block(targetSpin_);
        targetSpin_->setValue(start);
        settings_.target = targetSpin_->value();
    } else {
        settings_.target = 0;
    }
    refreshDerived();
    emitChanged();
}

void CompressionPanel::onTargetChanged(double value)
{
    if (settings_.latticeMode != LatticeMode::TargetMae && settings_.latticeMode != LatticeMode::TargetRatio)
        return;
    settings_.target = value;
    emitChanged();
}

void CompressionPanel::resetToDefaults()
{
    setSettings(CompressionSettings{});
    emitChanged();
}

void CompressionPanel::clearOverrides()
{
    if (settings_.overrides.isEmpty())
        return;
    settings_.overrides.clear();
    refreshDerived();
    emitChanged();
}

void CompressionPanel::refreshDerived()
{
    bitsLabel_->setText(bitsSummary(settings_.uList, settings_.maxRings));
    const int n = static_cast<int>(settings_.overrides.size());
    overridesLabel_->setText(n == 0 ? tr("none (right-click a layer in a plot or the table)")
                                    : tr("%n layer(s) with their own settings", nullptr, n));
    clearOverridesButton_->setEnabled(n > 0 && !compressing_ && !settings_.rdTargetRatio);
    const bool editable = !compressing_;
    const bool lattice = editable && !settings_.rdTargetRatio;
    rdCheck_->setEnabled(editable);
    rdRatioSpin_->setEnabled(editable && settings_.rdTargetRatio.has_value());
    lSpin_->setEnabled(lattice);
    lSlider_->setEnabled(lattice);
    uEdit_->setEnabled(lattice);
    mSpin_->setEnabled(lattice);
    latticeModeCombo_->setEnabled(lattice);
    targetSpin_->setVisible(settings_.latticeMode == LatticeMode::TargetMae ||
                            settings_.latticeMode == LatticeMode::TargetRatio);
    targetSpin_->setEnabled(lattice);
    defaultsButton_->setEnabled(lattice);
    compressButton_->setEnabled(modelLoaded_ && !compressing_);
    cancelButton_->setEnabled(compressing_);
    saveButton_->setEnabled(compressedAvailable_ && !compressing_);
    exportButton_->setEnabled(compressedAvailable_ && !compressing_);
}

void CompressionPanel::emitChanged()
{
    emit settingsChanged(settings_);
}

void CompressionPanel::setEstimate(const LayerReport& report)
{
    if (report.isEmpty()) {
        estimateLabel_->setText(tr("No estimate."));
        return;
    }
    const QString kind = report.isEstimate
                             ? (report.sampledFraction < 1.0
                                    ? tr("Estimate (sampled %1 %)").arg(report.sampledFraction * 100.0, 0, 'f', 0)
                                    : tr("Estimate (all weights)"))
                             : tr("Compressed");
    estimateLabel_->setText(tr("<b>%1:</b> ratio <b>%2</b> (%3 &rarr; %4), %5 bits/weight, mean MAE %6, "
                               "max MAE %7, %8 of %9 tensors encoded%10")
                                .arg(kind, formatRatio(report.ratio()))
                                .arg(formatByteSize(report.originalBytes), formatByteSize(report.compressedBytes))
                                .arg(report.bitsPerWeight(), 0, 'f', 2)
                                .arg(report.meanMae(), 0, 'e', 2)
                                .arg(report.maxMae(), 0, 'e', 2)
                                .arg(report.encodedCount())
                                .arg(report.rows.size())
                                .arg(report.seconds > 0 ? tr(" (%1 s)").arg(report.seconds, 0, 'f', 2) : QString()));
}

void CompressionPanel::setEstimateStatus(const QString& text)
{
    estimateLabel_->setText(text);
}

void CompressionPanel::setModelLoaded(bool loaded)
{
    modelLoaded_ = loaded;
    refreshDerived();
}

void CompressionPanel::setCompressing(bool compressing)
{
    compressing_ = compressing;
    if (compressing) {
        progress_->setValue(0);
        progressLabel_->clear();
    }
    refreshDerived();
}

void CompressionPanel::setProgress(double fraction, const QString& what)
{
    progress_->setValue(static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * progress_->maximum())));
    progressLabel_->setText(what);
}

void CompressionPanel::resetProgress()
{
    progress_->setValue(0);
    progressLabel_->clear();
}

void CompressionPanel::setCompressedAvailable(bool available)
{
    compressedAvailable_ = available;
    refreshDerived();
}

void CompressionPanel::setCompressedState(CompressedState state, const QString& what)
{
    compressedState_ = state;
    switch (state) {
    case CompressedState::None:
        compressedStateLabel_->clear();
        saveButton_->setToolTip(tr("Compress first (Ctrl+R)"));
        break;
    case CompressedState::Current:
        compressedStateLabel_->setText(tr("&#10003; The compressed pane runs these settings."));
        compressedStateLabel_->setStyleSheet(QStringLiteral("color: #2a6a2a;"));
        saveButton_->setToolTip(tr("Save the compressed model (%1)").arg(what));
        break;
    case CompressedState::Stale:
        compressedStateLabel_->setText(tr("&#9888; Settings changed: the compressed pane still runs <b>%1</b>. "
                                          "Compress again (Ctrl+R) to apply these.")
                                           .arg(what.toHtmlEscaped()));
        compressedStateLabel_->setStyleSheet(QStringLiteral("color: #8a5a00;"));
        saveButton_->setToolTip(tr("The compressed model was made with %1, not these settings: compress again first")
                                    .arg(what));
        break;
    case CompressedState::FromFile:
        compressedStateLabel_->setText(tr("The compressed pane runs the opened file %1.").arg(what.toHtmlEscaped()));
        compressedStateLabel_->setStyleSheet(QString());
        saveButton_->setToolTip(tr("Save a copy of %1").arg(what));
        break;
    }
    compressedStateLabel_->setVisible(state != CompressedState::None);
}

}  // namespace birkhoff::ui
