// Golden folders found by manifest layout, and the checks their tests share.
#include "tests/core/models/official_golden_support.h"

#include "core/codec/compressor.h"
#include "core/codec/model_roles.h"
#include "core/io/checkpoint.h"
#include "core/predict/image_io.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"

#include <ATen/ATen.h>

#include <QDir>
#include <QTest>

#include <fstream>
#include <regex>

namespace birkhoff::test {
namespace {

bool everyCaseHas(const nlohmann::json& manifest, std::initializer_list<const char*> keys)
{
    if (!manifest.contains("cases") || !manifest["cases"].is_object() || manifest["cases"].empty())
        return false;
    for (const auto& [name, c] : manifest["cases"].items())
        for (const char* key : keys)
            if (!c.is_object() || !c.contains(key))
                return false;
    return true;
}

bool hasLayout(const nlohmann::json& m, GoldenLayout layout)
{
    switch (layout) {
    case GoldenLayout::TensorCases:
        return m.contains("image_tensors") && m["image_tensors"].is_array() && everyCaseHas(m, {"points", "labels"});
    case GoldenLayout::PredictArgsMasks: return everyCaseHas(m, {"predict_args", "mask", "iou_predictions"});
    case GoldenLayout::MultimaskCountMasks:
        return everyCaseHas(m, {"num_multimask_outputs", "mask", "iou_predictions", "best"});
    }
    return false;
}

/// The first word of a manifest string such as "model.pt ({'model': state_dict}, ...)".
QString firstWord(const std::string& text)
{
    return QString::fromStdString(text.substr(0, text.find(' ')));
}

/// The checkpoint: the manifest's weights.file, else the folder's one .pth/.pt file.
QString findCheckpoint(const QDir& dir, const nlohmann::json& m)
{
    if (m.contains("weights") && m["weights"].is_object() && m["weights"].contains("file"))
        return firstWord(m["weights"]["file"].get<std::string>());
    const QStringList files = dir.entryList({QStringLiteral("*.pth"), QStringLiteral("*.pt")}, QDir::Files);
    return files.size() == 1 ? files.front() : QString();
}

/// The input image: the manifest's image.png / image.file, else the folder's one PNG that no
/// case names as its mask.
QString findImage(const QDir& dir, const nlohmann::json& m)
{
    if (m.contains("image") && m["image"].is_object()) {
        for (const char* key : {"png", "file"})
            if (m["image"].contains(key))
                return QString::fromStdString(m["image"][key].get<std::string>());
    }
    QStringList pngs = dir.entryList({QStringLiteral("*.png")}, QDir::Files);
    for (const auto& [name, c] : m["cases"].items())
        if (c.contains("mask"))
            pngs.removeAll(QString::fromStdString(c["mask"].get<std::string>()));
    return pngs.size() == 1 ? pngs.front() : QString();
}

predict::Prompt promptOf(const nlohmann::json& coords, const nlohmann::json& labels, const nlohmann::json* box)
{
    predict::Prompt prompt;
    if (coords.is_array())
        for (std::size_t i = 0; i < coords.size(); ++i)
            prompt.points.push_back({coords[i][0].get<double>(), coords[i][1].get<double>(), labels[i].get<int>()});
    if (box && box->is_array())
        prompt.box = predict::BoxPrompt{(*box)[0].get<double>(), (*box)[1].get<double>(), (*box)[2].get<double>(),
                                        (*box)[3].get<double>()};
    return prompt;
}

std::vector<double> doubles(const nlohmann::json& values)
{
    std::vector<double> out;
    for (const auto& v : values)
        out.push_back(v.get<double>());
    return out;
}

std::size_t argmax(const std::vector<double>& values)
{
    return static_cast<std::size_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

std::shared_ptr<models::SamModel> loadWithConfig(const GoldenFolder& folder, const std::optional<nlohmann::json>& config)
{
    models::LoadOptions options;
    if (config) {
        const QString file = scratchDir() + QStringLiteral("/") + folder.name + QStringLiteral(".config.json");
        std::ofstream(file.toStdString()) << config->dump(1);
        options.configPath = file.toStdString();
    }
    return models::loadSamModel(goldenPath(folder.checkpoint).toStdString(), options);
}

}  // namespace

std::vector<GoldenFolder> goldenFoldersWithLayout(GoldenLayout layout)
{
    std::vector<GoldenFolder> out;
    const QDir root(goldenPath(QString()));
    for (const QString& name : root.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        const QString manifestPath = name + QStringLiteral("/manifest.json");
        if (!QFileInfo::exists(goldenPath(manifestPath)))
            continue;
        const nlohmann::json manifest = goldenJson(manifestPath);  // a broken manifest fails the test
        if (!hasLayout(manifest, layout))
            continue;
        const QDir dir(root.filePath(name));
        GoldenFolder folder{name, manifest, findCheckpoint(dir, manifest), findImage(dir, manifest)};
        if (!folder.checkpoint.isEmpty())
            folder.checkpoint = name + QStringLiteral("/") + folder.checkpoint;
        if (!folder.image.isEmpty())
            folder.image = name + QStringLiteral("/") + folder.image;
        out.push_back(std::move(folder));
    }
    return out;
}

std::optional<GoldenFolder> goldenFolderNamed(GoldenLayout layout, const QString& name)
{
    for (GoldenFolder& f : goldenFoldersWithLayout(layout))
        if (f.name == name)
            return std::move(f);
    return std::nullopt;
}

void addGoldenFolderRows(GoldenLayout layout)
{
    QTest::addColumn<QString>("folder");
    const auto folders = goldenFoldersWithLayout(layout);
    for (const GoldenFolder& f : folders)
        QTest::newRow(qPrintable(f.name)) << f.name;
    if (folders.empty())
        QTest::newRow("none") << QString();
}

QString noGoldenFolderMessage(GoldenLayout layout)
{
    const char* what = layout == GoldenLayout::TensorCases ? "EfficientSAM's tensor layout (efficient_sam_tiny)"
                       : layout == GoldenLayout::PredictArgsMasks
                           ? "SAM-HQ's predict_args + mask PNG layout (samhq_tiny)"
                           : "EdgeSAM's num_multimask_outputs + mask PNG layout (edge_sam_random)";
    return QStringLiteral("no folder of %1 has %2, so this golden test did NOT run")
        .arg(goldenPath(QString()), QLatin1String(what));
}

std::vector<GoldenCase> goldenCases(const GoldenFolder& folder, GoldenLayout layout)
{
    std::vector<GoldenCase> out;
    for (const auto& [name, c] : folder.manifest["cases"].items()) {
        GoldenCase g;
        g.name = name;
        g.options.keepLogits = true;
        g.iouPredictions = doubles(c["iou_predictions"]);
        switch (layout) {
        case GoldenLayout::TensorCases:
            g.prompt = promptOf(c["points"], c["labels"], nullptr);
            // Labels 2/3 are EfficientSAM's box corners: the predictor takes them as a box.
            if (g.prompt.points.size() == 2 && g.prompt.points[0].label == 2 && g.prompt.points[1].label == 3) {
                const auto& p = g.prompt.points;
                g.prompt.box = predict::BoxPrompt{p[0].x, p[0].y, p[1].x, p[1].y};
                g.prompt.points.clear();
            }
            g.options.output = predict::MaskOutput::Multimask;
            g.shownMask = c.contains("best_candidate") ? c["best_candidate"].get<std::size_t>() : argmax(g.iouPredictions);
            break;
        case GoldenLayout::PredictArgsMasks: {
            const auto& a = c["predict_args"];
            g.prompt = promptOf(a.value("point_coords", nlohmann::json()), a.value("point_labels", nlohmann::json()),
                                a.contains("box") ? &a["box"] : nullptr);
            g.options.output = a.value("multimask_output", true) ? predict::MaskOutput::Multimask
                                                                 : predict::MaskOutput::Token0;
            g.options.hqTokenOnly = a.value("hq_token_only", false);
            g.shownMask = argmax(g.iouPredictions);
            g.maskPng = folder.name + QStringLiteral("/") + QString::fromStdString(c["mask"].get<std::string>());
            break;
        }
        case GoldenLayout::MultimaskCountMasks:
            g.prompt = promptOf(c["point_coords"], c["point_labels"], c.contains("box") ? &c["box"] : nullptr);
            g.options.output = c["num_multimask_outputs"].get<int>() > 1 ? predict::MaskOutput::Multimask
                                                                          : predict::MaskOutput::Token0;
            g.shownMask = c["best"].get<std::size_t>();
            g.maskPng = folder.name + QStringLiteral("/") + QString::fromStdString(c["mask"].get<std::string>());
            break;
        }
        out.push_back(std::move(g));
    }
    return out;
}

std::optional<nlohmann::json> goldenModelConfig(const GoldenFolder& folder)
{
    const QString path = folder.name + QStringLiteral("/config.json");
    if (!QFileInfo::exists(goldenPath(path)))
        return std::nullopt;
    nlohmann::json config = goldenJson(path);
    const nlohmann::json& flat = config.contains("builder_args") ? config["builder_args"] : config;
    if (!flat.contains("transformer_num_heads") && !flat.contains("decoder_num_heads") && config.contains("note")) {
        static const std::regex kDecoderHeads(R"(decoder:[^;]*?(\d+) heads)");
        std::smatch match;
        const std::string note = config["note"].get<std::string>();
        if (std::regex_search(note, match, kDecoderHeads)) {
            qInfo("%s/config.json gives the decoder heads only in its note (%s): passed as transformer_num_heads",
                  qPrintable(folder.name), match[1].str().c_str());
            config["transformer_num_heads"] = std::stoll(match[1].str());
        }
    }
    return config;
}

std::shared_ptr<models::SamModel> loadGoldenModel(const GoldenFolder& folder)
{
    return loadWithConfig(folder, goldenModelConfig(folder));
}

CompressedGoldenModel compressGoldenModel(const GoldenFolder& folder)
{
    const std::string path = goldenPath(folder.checkpoint).toStdString();
    const io::Checkpoint checkpoint = io::loadCheckpoint(path);
    codec::CompressOptions options;  // the paper's defaults
    options.originalFileBytes = checkpoint.fileBytes;
    const codec::CompressionResult result =
        codec::compressModel(checkpoint.tensors, codec::detectRoles(checkpoint.tensors).roles, options);
    const std::optional<nlohmann::json> config = goldenModelConfig(folder);
    CompressedGoldenModel out;
    models::LoadOptions dense;
    dense.compressedRun = models::CompressedRun::Dense;
    out.hyper = models::buildCompressedSamModel(result.model, path, config ? &*config : nullptr, models::LoadOptions{});
    out.dense = models::buildCompressedSamModel(result.model, path, config ? &*config : nullptr, dense);
    out.ratio = result.report.ratio();
    return out;
}

void expectSameMask(const at::Tensor& ours, const cv::Mat& official, const at::Tensor& logits, const QString& where)
{
    QVERIFY2(ours.size(0) == official.rows && ours.size(1) == official.cols,
             qPrintable(where + QStringLiteral(": mask size differs from the official PNG")));
    const at::Tensor theirs =
        at::from_blob(const_cast<std::uint8_t*>(official.ptr<std::uint8_t>()), {official.rows, official.cols}, at::kByte)
            .gt(0);
    const at::Tensor differ = ours.to(at::kBool).ne(theirs);
    const std::int64_t differing = differ.sum().item<std::int64_t>();
    const double allowed = 1e-4 * std::max(1.0, logits.abs().max().item<double>());
    const double worst = differing > 0 ? logits.masked_select(differ).abs().max().item<double>() : 0.0;
    const double iou = predict::maskIou(
        cv::Mat(official.rows, official.cols, CV_8UC1, ours.to(at::kByte).mul(255).contiguous().data_ptr<std::uint8_t>()),
        official);
    qInfo("%s: IoU with the official mask %.6f, %lld pixels differ (largest |logit| there %.3g, allowed %.3g)",
          qPrintable(where), iou, static_cast<long long>(differing), worst, allowed);
    QVERIFY2(worst <= allowed,
             qPrintable(where + QStringLiteral(": a mask pixel differs from the official one where |logit| = %1").arg(worst)));
}

void expectCompressedMasksAgree(const std::shared_ptr<const models::SamModel>& original,
                                const CompressedGoldenModel& compressed, const cv::Mat& image,
                                const std::vector<GoldenCase>& cases, double minIou, const QString& where)
{
    QVERIFY(compressed.hyper->info.compressedLinearLayers > 0);
    QCOMPARE(compressed.dense->info.compressedLinearLayers, std::int64_t(0));
    predict::SamPredictor a(original);
    predict::SamPredictor b(compressed.hyper);
    predict::SamPredictor d(compressed.dense);
    a.setImage(image);
    b.setImage(image);
    d.setImage(image);
    double worst = 1.0, sum = 0.0, worstPath = 0.0;
    std::size_t masks = 0;
    for (const GoldenCase& c : cases) {
        const predict::Prediction pa = a.predict(c.prompt, c.options);
        const predict::Prediction pb = b.predict(c.prompt, c.options);
        const predict::Prediction pd = d.predict(c.prompt, c.options);
        QCOMPARE(pb.count(), pa.count());
        QCOMPARE(pd.tokens, pb.tokens);
        worstPath = std::max({worstPath, scaledDiff(pb.lowResLogits, pd.lowResLogits),
                              scaledDiff(pb.iouPredictions, pd.iouPredictions)});
        for (std::size_t k = 0; k < pa.count(); ++k) {
            const double iou = predict::maskIou(pa.maskImage(k), pb.maskImage(k));
            qInfo("%s %s mask %zu: compressed vs original IoU %.6f (%lld vs %lld pixels; predicted IoU %.4f vs %.4f)",
                  qPrintable(where), c.name.c_str(), k, iou, static_cast<long long>(pb.masks[k].sum().item<std::int64_t>()),
                  static_cast<long long>(pa.masks[k].sum().item<std::int64_t>()),
                  pb.iouPredictions[static_cast<std::int64_t>(k)].item<double>(),
                  pa.iouPredictions[static_cast<std::int64_t>(k)].item<double>());
            worst = std::min(worst, iou);
            sum += iou;
            ++masks;
        }
    }
    qInfo("%s: compressed vs original mask IoU min %.6f, mean %.6f over %zu masks (required min %.2f); HyperLinear vs "
          "dense-decoded %.3g (tolerance 1e-4)",
          qPrintable(where), worst, masks ? sum / static_cast<double>(masks) : 0.0, masks, minIou, worstPath);
    QVERIFY(masks > 0);
    QVERIFY2(worstPath <= 1e-4, qPrintable(where + QStringLiteral(": HyperLinear differs from the dense-decoded model by %1")
                                                       .arg(worstPath)));
    QVERIFY2(worst >= minIou, qPrintable(where + QStringLiteral(": compressed vs original mask IoU %1 < %2").arg(worst).arg(minIou)));
}

}  // namespace birkhoff::test
