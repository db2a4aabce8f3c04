// The compression panel: l (spin box + log-scale slider), the U candidates (perfect squares, with
// the bits per index they imply), M (0..8), the per-layer override count, the live estimate
// line, and the Compress / Cancel / Save compressed / Export restored buttons with a progress
// bar. It only edits and displays; the main window connects it to the sessions.
#pragma once

#include "ui/compression_settings.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace birkhoff::ui {

struct LayerReport;

class CompressionPanel : public QWidget {
    Q_OBJECT
public:
    explicit CompressionPanel(QWidget* parent = nullptr);

    /// The settings as currently entered (the last valid U list when the field is invalid).
    CompressionSettings settings() const { return settings_; }
    /// Shows `settings` without emitting settingsChanged.
    void setSettings(const CompressionSettings& settings);
    /// Sets (or with std::nullopt removes) the override of tensor `name`; emits settingsChanged.
    void setOverride(const QString& name, const std::optional<LayerOverride>& override);

    /// Shows the live estimate (or the finished compression's totals).
    void setEstimate(const LayerReport& report);
    /// Shows that an estimate is being computed ("estimating...") or failed.
    void setEstimateStatus(const QString& text);

    /// Enables the controls that need a loaded model.
    void setModelLoaded(bool loaded);
    /// Switches between idle and compressing (Cancel and the progress bar active).
    void setCompressing(bool compressing);
    /// Progress of the running compression: fraction in [0, 1] and the current tensor.
    void setProgress(double fraction, const QString& what);
    /// Empties the progress bar and text (a compression failed or was cancelled).
    void resetProgress();
    /// Enables Save compressed / Export restored.
    void setCompressedAvailable(bool available);

    /// What the compressed pane runs, next to the panel's settings.
    enum class CompressedState {
        None,      ///< nothing compressed yet
        Current,   ///< compressed with exactly the panel's settings
        Stale,     ///< compressed with other settings: compress again to apply the panel's
        FromFile,  ///< a compressed file was opened
    };
    /// Shows the state line above Save compressed; `what` is the compressed model's settings
    /// summary (Current, Stale) or file name (FromFile).
    void setCompressedState(CompressedState state, const QString& what);
    CompressedState compressedState() const { return compressedState_; }

    /// The slider position (0..kSliderSteps) of l and back, on a log scale over [kMinL, kMaxL].
    static int sliderPositionForL(double l);
    static double lForSliderPosition(int position);
    static constexpr int kSliderSteps = 1000;

signals:
    void settingsChanged(const birkhoff::ui::CompressionSettings& settings);
    void compressRequested();
    void cancelRequested();
    void saveCompressedRequested();
    void exportRestoredRequested();

private:
    void onLSpinChanged(double value);
    void onLSliderChanged(int position);
    void onUListEdited(const QString& text);
    void onMChanged(int value);
    void onLatticeModeChanged(int index);
    void onTargetChanged(double value);
    /// Configures the target spin box for the current mode (range, decimals, tool tip).
    void configureTargetSpin();
    void resetToDefaults();
    void clearOverrides();
    void refreshDerived();
    void emitChanged();

    CompressionSettings settings_;
    bool modelLoaded_ = false;
    bool compressing_ = false;
    bool compressedAvailable_ = false;

    CompressedState compressedState_ = CompressedState::None;

    QComboBox* latticeModeCombo_ = nullptr;  ///< global l, auto l, target MAE, target ratio
    QDoubleSpinBox* targetSpin_ = nullptr;   ///< the MAE or ratio of a target mode
    QLabel* compressedStateLabel_ = nullptr;
    QCheckBox* rdCheck_ = nullptr;        ///< rate-distortion codec instead of the paper's lattice
    QDoubleSpinBox* rdRatioSpin_ = nullptr;  ///< its target ratio
    QDoubleSpinBox* lSpin_ = nullptr;
    QSlider* lSlider_ = nullptr;
    QLineEdit* uEdit_ = nullptr;
    QLabel* bitsLabel_ = nullptr;
    QSpinBox* mSpin_ = nullptr;
    QLabel* overridesLabel_ = nullptr;
    QPushButton* clearOverridesButton_ = nullptr;
    QPushButton* defaultsButton_ = nullptr;
    QLabel* estimateLabel_ = nullptr;
    QPushButton* compressButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* progressLabel_ = nullptr;
    QPushButton* saveButton_ = nullptr;
    QPushButton* exportButton_ = nullptr;
};

}  // namespace birkhoff::ui
