// The hyperparameters the user edits in the compression panel (l, the U candidates, M and
// per-layer overrides) as a plain value type, with the checks and derived numbers the panel
// shows (bits per index). Sessions translate it into the codec's options.
#pragma once

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QVector>

#include <optional>

namespace birkhoff::ui {

/// A per-layer override set by right-clicking a layer: store it raw, or encode it with its own l.
struct LayerOverride {
    bool keepRaw = false;
    std::optional<double> l;

    bool operator==(const LayerOverride& other) const { return keepRaw == other.keepRaw && l == other.l; }
    bool operator!=(const LayerOverride& other) const { return !(*this == other); }
};

/// How the paper's lattice picks l per tensor (the CLI's extensions): the global l (paper), l
/// from each tensor's spread (--auto-l), the cheapest setting per tensor whose MAE is at most a
/// target (--target-mae), or the settings that reach a file ratio (--target-ratio).
enum class LatticeMode { GlobalL, AutoL, TargetMae, TargetRatio };

struct CompressionSettings {
    double l = 0.1;                        ///< side of the lattice square
    QVector<quint32> uList{1225, 1600};    ///< U candidates (perfect squares), tried in order
    int maxRings = 3;                      ///< M: outlier rings searched, 0..kMaxRingsInUi
    QMap<QString, LayerOverride> overrides;  ///< tensor name -> override
    LatticeMode latticeMode = LatticeMode::GlobalL;
    double target = 0;                     ///< the MAE (TargetMae) or file ratio (TargetRatio)
    /// When set: the rate-distortion codec (core/codec/rate_distortion.h) at this target file
    /// ratio instead of the paper's lattice search; l, U, M and overrides are then unused.
    std::optional<double> rdTargetRatio;

    bool operator==(const CompressionSettings& other) const;
    bool operator!=(const CompressionSettings& other) const { return !(*this == other); }

    /// "l=0.1 U=1225,1600 M=3" plus " +2 overrides" when there are any and the lattice mode
    /// (" auto l", " target MAE 0.001", " target ratio 6"); "RD ratio 8" for the rate-distortion
    /// codec.
    QString summary() const;
    /// The settings as a file-name tag: "l0.1-U1225_1600-M3" (plus "-2overrides"), "rd8x" for the
    /// rate-distortion codec. Only characters that are safe in file names on every system.
    QString fileNameTag() const;
    /// True when the live estimate can show these settings (global l, or the rate-distortion
    /// codec); auto l and the targets are only known by compressing.
    bool isEstimable() const { return rdTargetRatio.has_value() || latticeMode == LatticeMode::GlobalL; }
    /// A stable digest of every field (embedding-cache keys, frontier identity).
    QByteArray digest() const;
};

/// The range of rate-distortion target ratios offered in the panel.
constexpr double kMinRdRatio = 1.5;
constexpr double kMaxRdRatio = 40.0;

/// The ranges of the lattice targets offered in the panel.
constexpr double kMinTargetMae = 1e-6;
constexpr double kMaxTargetMae = 1.0;
constexpr double kMinTargetRatio = 1.1;
constexpr double kMaxTargetRatio = 20.0;

/// The range of M offered in the panel.
constexpr int kMaxRingsInUi = 8;
/// The range of l offered by the panel's spin box and log slider.
constexpr double kMinL = 1e-4;
constexpr double kMaxL = 10.0;

/// Parses a list like "1225, 1600" (commas, semicolons or spaces). Every value must be a perfect
/// square in [4, 65536]. Returns nothing and sets `error` (naming the bad value) otherwise.
std::optional<QVector<quint32>> parseUList(const QString& text, QString* error);
/// "1225,1600".
QString formatUList(const QVector<quint32>& uList);

/// Bits of one stored index for U codebook points and K rings: bit_length(U*(K+1) - 1)
/// (the widest index a tensor with that U and K can need).
unsigned indexBits(quint32 U, int K);
/// One line per U: "U=1225 (35x35): 11-13 bits/index = 5.5-6.5 bits/weight (K=0..3)".
QString bitsSummary(const QVector<quint32>& uList, int maxRings);

}  // namespace birkhoff::ui
