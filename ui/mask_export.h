// Writing the compared masks: binary PNGs (one per model) and one COCO JSON file with both masks
// as compressed RLE (pycocotools-compatible, column-major runs via core/eval/rle.h), the prompts
// and the IoU between them. All files are written atomically.
#pragma once

#include "ui/prompt_set.h"

#include <QImage>
#include <QString>
#include <QVector>

namespace birkhoff::ui {

/// One model's mask for export.
struct ExportedMask {
    QString model;          ///< "original" / "compressed"
    QString modelDetails;   ///< checkpoint path or compression settings
    QImage mask;            ///< Grayscale8, non-zero = inside
    double predictedIou = 0;
    int token = 0;
};

struct MaskExport {
    QString imagePath;
    int width = 0;
    int height = 0;
    PromptSet prompts;
    QVector<ExportedMask> masks;
    double iouBetween = -1;  ///< IoU of the first two masks (-1 if not available)
};

/// The PNG paths exportMaskPngs() writes for `path` ("x.png" -> "x_original.png", ...).
QVector<QString> maskPngPaths(const QString& path, const MaskExport& data);

/// Writes one 8-bit PNG per mask (255 inside, 0 outside) next to `path`, named by
/// maskPngPaths(). @throws birkhoff::Error on I/O failure.
void exportMaskPngs(const QString& path, const MaskExport& data);

/// Writes a COCO-style JSON: "images", "categories", "annotations" (one per mask, segmentation
/// as {"size": [h, w], "counts": "<compressed RLE>"}, area, bbox, iscrowd 0, plus "model",
/// "model_details", "predicted_iou", "mask_token"), "prompts" and "iou_between_models".
/// @throws birkhoff::Error on I/O failure or an empty mask list.
void exportCocoRleJson(const QString& path, const MaskExport& data);

}  // namespace birkhoff::ui
