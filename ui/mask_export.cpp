// Mask export as PNG and COCO RLE JSON (see mask_export.h).
#include "ui/mask_export.h"

#include "core/eval/rle.h"
#include "core/predict/image_io.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFileInfo>

namespace birkhoff::ui {

namespace {

cv::Mat viewOf(const QImage& mask)
{
    return cv::Mat(mask.height(), mask.width(), CV_8UC1, const_cast<uchar*>(mask.constBits()),
                   static_cast<std::size_t>(mask.bytesPerLine()));
}

}  // namespace

QVector<QString> maskPngPaths(const QString& path, const MaskExport& data)
{
    const QFileInfo info(path);
    const QString base = info.dir().filePath(info.completeBaseName());
    QVector<QString> paths;
    for (const ExportedMask& m : data.masks)
        paths.append(QStringLiteral("%1_%2.png").arg(base, m.model));
    return paths;
}

void exportMaskPngs(const QString& path, const MaskExport& data)
{
    const QVector<QString> paths = maskPngPaths(path, data);
    for (int i = 0; i < data.masks.size(); ++i)
        predict::writeMaskPng(std::filesystem::path(paths[i].toStdString()), viewOf(data.masks[i].mask));
}

void exportCocoRleJson(const QString& path, const MaskExport& data)
{
    if (data.masks.isEmpty())
        throw Error("no masks to export to " + path.toStdString());
    nlohmann::json root;
    root["info"] = {{"description", "Birkhoff Studio: original vs compressed SAM masks"},
                    {"version", versionString()}};
    root["images"] = nlohmann::json::array(
        {{{"id", 1}, {"file_name", QFileInfo(data.imagePath).fileName().toStdString()}, {"width", data.width},
          {"height", data.height}}});
    root["categories"] = nlohmann::json::array({{{"id", 1}, {"name", "object"}}});
    nlohmann::json annotations = nlohmann::json::array();
    int id = 1;
    for (const ExportedMask& m : data.masks) {
        const eval::Rle rle = eval::encodeRle(viewOf(m.mask));
        const auto bbox = eval::rleBbox(rle);
        annotations.push_back({{"id", id++},
                               {"image_id", 1},
                               {"category_id", 1},
                               {"segmentation", {{"size", {rle.height, rle.width}}, {"counts", eval::rleToString(rle)}}},
                               {"area", eval::rleArea(rle)},
                               {"bbox", {bbox[0], bbox[1], bbox[2], bbox[3]}},
                               {"iscrowd", 0},
                               {"model", m.model.toStdString()},
                               {"model_details", m.modelDetails.toStdString()},
                               {"predicted_iou", m.predictedIou},
                               {"mask_token", m.token}});
    }
    root["annotations"] = annotations;
    nlohmann::json points = nlohmann::json::array();
    for (const PromptPoint& p : data.prompts.points)
        points.push_back({p.position.x(), p.position.y(), p.label});
    nlohmann::json prompts = {{"points", points}};
    if (data.prompts.box)
        prompts["box"] = {data.prompts.box->left(), data.prompts.box->top(), data.prompts.box->right(),
                          data.prompts.box->bottom()};
    root["prompts"] = prompts;
    root["iou_between_models"] = data.iouBetween >= 0 ? nlohmann::json(data.iouBetween) : nlohmann::json(nullptr);
    const std::string text = root.dump(1) + "\n";
    writeFileAtomically(std::filesystem::path(path.toStdString()),
                        [&](AtomicFileWriter& out) { out.write(text.data(), text.size()); });
}

}  // namespace birkhoff::ui
