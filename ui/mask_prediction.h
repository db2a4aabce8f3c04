// Masks as the image panes receive them from a PredictorSession: every returned candidate (a
// binary mask at the image's size, its outline as a vector path, the decoder's predicted IoU)
// plus the decoding time and which prompts produced them.
#pragma once

#include "ui/prompt_set.h"

#include <QImage>
#include <QPainterPath>
#include <QVector>

namespace birkhoff::ui {

struct MaskCandidate {
    QImage mask;            ///< Format_Grayscale8, 255 inside, 0 outside, image size
    QPainterPath outline;   ///< contours in image pixel coordinates
    double predictedIou = 0;
    int token = 0;          ///< decoder mask token
    qint64 area = 0;        ///< pixels inside
};

struct MaskPrediction {
    quint64 requestId = 0;
    PromptSet prompts;
    bool preview = false;            ///< hover preview (a temporary extra point)
    QVector<MaskCandidate> candidates;
    int bestIndex = 0;               ///< candidate with the highest predicted IoU
    double decoderMs = 0;            ///< prompt encoder + mask decoder
    double postprocessMs = 0;        ///< upscaling + threshold

    bool isEmpty() const { return candidates.isEmpty(); }
};

/// Intersection over union of two Grayscale8 masks of the same size (non-zero = inside); 1 when
/// both are empty; -1 when the sizes differ or a mask is null.
double maskIou(const QImage& a, const QImage& b);

}  // namespace birkhoff::ui
