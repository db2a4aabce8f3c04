// Golden test of the SAM 2.1 image path against the official sam2 code
// (../shared/golden/sam2_tiny: a tiny random-weight Hiera configuration, 256-px input, stages
// [1,2,2,1], windows [8,4,6,3] incl. padded and q-pooled windows, its official hydra-style
// config.json beside the checkpoint, video-memory tensors in the checkpoint): preprocessing,
// trunk blocks 4/5, FPN levels (incl. the one scalp drops), conv_s0/conv_s1 features, the image
// embedding with no_mem_embed, dense PE, prompt embeddings, every mask token's logits, sigmoid
// IoU, the object score, the selected masks (multimask, and single-mask output falling back to
// the best multimask token by stability) and the upscaled logits and mask PNGs end to end.
// Tolerances (the manifest's measure, max |a - b| / max(1, max |ref|)): 1e-4 for features and
// logits, 1e-5 for IoU, 1e-6 for coordinates; binary masks may differ only where the official
// logit is within that tolerance of 0.
#include "core/models/hiera.h"
#include "core/predict/image_io.h"
#include "core/predict/predictor.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>

#include <QTest>

#include <set>

using namespace birkhoff;
using birkhoff::test::goldenJson;
using birkhoff::test::goldenPath;
using birkhoff::test::expectClose;
using birkhoff::test::goldenTensors;
using birkhoff::test::maxAbsDiff;
using birkhoff::test::promptFromManifest;
using birkhoff::test::scaledDiff;

namespace {

constexpr double kFeatureTolerance = 1e-4;
constexpr double kLogitTolerance = 1e-4;
constexpr double kIouTolerance = 1e-5;

std::shared_ptr<models::SamModel> loadGolden()
{
    return models::loadSamModel(goldenPath(QStringLiteral("sam2_tiny/sam2_tiny.pth")).toStdString());
}

cv::Mat goldenImage()
{
    return predict::readImageRgb(goldenPath(QStringLiteral("sam2_tiny/dog_320.png")).toStdString());
}

void checkCase(const std::shared_ptr<models::SamModel>& model, const QString& caseDir)
{
    const auto manifest = goldenJson(caseDir + QStringLiteral("/manifest.json"));
    const auto golden = goldenTensors(caseDir + QStringLiteral("/tensors.safetensors"));
    const auto imageTensors = goldenTensors(QStringLiteral("sam2_tiny/image/tensors.safetensors"));
    const bool multimask = manifest["prompt"]["multimask_output"].get<bool>();
    const predict::Prompt prompt = promptFromManifest(manifest);
    const cv::Mat image = goldenImage();
    predict::SamPredictor predictor(model);

    // Decoder alone, fed the official image features.
    auto embedding = std::make_shared<predict::ImageEmbedding>();
    embedding->embedding = imageTensors.at("image_embed");
    embedding->highResFeatures = {imageTensors.at("high_res_feat_s0"), imageTensors.at("high_res_feat_s1")};
    embedding->originalSize = image.size();
    embedding->inputSize = cv::Size(256, 256);
    embedding->model = model.get();
    const models::PromptTensors tensors = predictor.promptTensors(*embedding, prompt);
    const std::int64_t userPoints = golden.at("point_coords_input_frame").size(1);  // without the padding point
    expectClose(tensors.coords.narrow(1, 0, userPoints), golden, "point_coords_input_frame", 1e-6, caseDir);
    QCOMPARE(tensors.labels[0][userPoints].item<float>(), -1.0f);  // SAM 2 always appends the padding point
    const auto [sparse, dense] = model->embedPrompt(tensors);
    expectClose(sparse, golden, "sparse_embeddings", 1e-5, caseDir);
    expectClose(dense, golden, "dense_embeddings", 1e-6, caseDir);
    const models::DecoderOutput all =
        model->decode(models::ImageFeatures{embedding->embedding, embedding->highResFeatures}, tensors);
    expectClose(all.lowResLogits, golden, "low_res_logits_all", kLogitTolerance, caseDir);
    expectClose(all.iouPredictions, golden, "iou_predictions_all", kIouTolerance, caseDir);
    expectClose(all.objectScoreLogits, golden, "object_score_logits", kIouTolerance, caseDir);

    // End to end from the PNG (our preprocessing and encoder).
    predictor.setImage(image);
    predict::PredictOptions options;
    options.output = multimask ? predict::MaskOutput::Multimask : predict::MaskOutput::Token0;
    options.keepLogits = true;
    const predict::Prediction prediction = predictor.predict(prompt, options);
    if (!multimask) {
        const int chosen = manifest["selection"]["chosen_token"].get<int>();
        QCOMPARE(prediction.tokens, std::vector<int>{chosen});
        const double stability = predict::stabilityScore(all.lowResLogits[0][0], model->config().head.sam2.stabilityDelta);
        const double expected = manifest["selection"]["stability_score_token0"].get<double>();
        qInfo("%s token-0 stability %.7f (official %.7f)", qPrintable(caseDir), stability, expected);
        QVERIFY(std::abs(stability - expected) <= 1e-3);
    }
    const QString e2e = caseDir + QStringLiteral(" e2e");
    io::StateDict clamped;  // predict() returns the low-res logits clamped to [-32, 32]
    clamped.insert("low_res_logits_clamped", at::clamp(golden.at("low_res_logits"), -32.0, 32.0));
    expectClose(prediction.lowResLogits.unsqueeze(0), clamped, "low_res_logits_clamped", kLogitTolerance, e2e);
    expectClose(prediction.iouPredictions.unsqueeze(0), golden, "iou_predictions", kIouTolerance, e2e);
    expectClose(prediction.maskLogits.unsqueeze(0), golden, "masks_logits", kLogitTolerance, e2e);

    const auto& files = manifest["mask_pngs"]["files"];
    QCOMPARE(prediction.count(), files.size());
    const at::Tensor refLogits = golden.at("masks_logits")[0];
    const double allowed = kLogitTolerance * std::max(1.0, refLogits.abs().max().item<double>());
    for (std::size_t k = 0; k < files.size(); ++k) {
        const cv::Mat expected = predict::readMaskPng(
            goldenPath(caseDir + QStringLiteral("/") + QString::fromStdString(files[k].get<std::string>())).toStdString());
        const at::Tensor ours = prediction.masks[static_cast<std::int64_t>(k)];
        const at::Tensor theirs =
            at::from_blob(const_cast<std::uint8_t*>(expected.ptr<std::uint8_t>()), {expected.rows, expected.cols}, at::kByte)
                .gt(0);
        const at::Tensor differ = ours.ne(theirs);
        const std::int64_t differing = differ.sum().item<std::int64_t>();
        const double worst =
            differing > 0 ? refLogits[static_cast<std::int64_t>(k)].masked_select(differ).abs().max().item<double>() : 0.0;
        qInfo("%s mask %zu: %lld pixels differ from the official PNG (largest |official logit| there %.3g, allowed %.3g)",
              qPrintable(caseDir), k, static_cast<long long>(differing), worst, allowed);
        QVERIFY2(worst <= allowed, qPrintable(caseDir + QStringLiteral(": a mask pixel differs where the logit is %1").arg(worst)));
    }
}

}  // namespace

class TestSam2Golden : public QObject {
    Q_OBJECT
private slots:
    void configFromCheckpointAndOfficialConfig()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/sam2_tiny.pth");
        const auto model = loadGolden();
        const auto& c = model->config();
        const auto config = goldenJson(QStringLiteral("sam2_tiny/config.json"));
        const auto& derived = config["derived"];
        QCOMPARE(c.encoder, models::EncoderKind::Hiera);
        QCOMPARE(c.decoder, models::DecoderKind::Sam2);
        QCOMPARE(c.imageSize, std::int64_t(256));
        QCOMPARE(c.embeddingSize, std::int64_t(16));
        QCOMPARE(c.hiera.windowSpec, (std::vector<std::int64_t>{8, 4, 6, 3}));
        QCOMPARE(c.hiera.globalAttBlocks, std::vector<std::int64_t>{2});
        QCOMPARE(c.hiera.backboneChannels, derived["hiera_channel_list"].get<std::vector<std::int64_t>>());
        const auto plan = models::planHieraBlocks(c.hiera);
        const auto windows = derived["hiera_block_window_size"].get<std::vector<std::int64_t>>();
        const auto heads = derived["hiera_block_heads"].get<std::vector<std::int64_t>>();
        const auto poolBlocks = derived["hiera_q_pool_blocks"].get<std::vector<std::int64_t>>();
        QCOMPARE(plan.size(), windows.size());
        for (std::size_t i = 0; i < plan.size(); ++i) {
            QCOMPARE(plan[i].window, windows[i]);
            QCOMPARE(plan[i].heads, heads[i]);
            QCOMPARE(plan[i].qPool,
                     std::find(poolBlocks.begin(), poolBlocks.end(), static_cast<std::int64_t>(i)) != poolBlocks.end());
            QCOMPARE(plan[i].dim, derived["hiera_block_dims"][i][0].get<std::int64_t>());
            QCOMPARE(plan[i].dimOut, derived["hiera_block_dims"][i][1].get<std::int64_t>());
        }
        QVERIFY(c.head.sam2.dynamicMultimask);
        QCOMPARE(c.head.sam2.stabilityThresh, 0.98);
        QVERIFY(c.head.sam2.iouSigmoid);
        QVERIFY(c.head.mlpLayersNames);
        QCOMPARE(c.preprocess.pipeline, models::ImagePipeline::Sam2);
        // The video-memory tensors are kept (loaded, compressible) but never run.
        const auto video = goldenJson(QStringLiteral("sam2_tiny/manifest.json"))["weights"]["video_only_top_level_keys"];
        std::set<std::string> keptTops;
        for (const auto& [name, shape] : c.inactiveTensors)
            keptTops.insert(name.substr(0, name.find('.')));
        for (const auto& top : video)
            QVERIFY2(keptTops.count(top.get<std::string>()), top.get<std::string>().c_str());
        QCOMPARE(model->stateDict().size(), std::size_t(312));
    }

    void preprocessingAndEncoder()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/image/tensors.safetensors");
        const auto model = loadGolden();
        const auto golden = goldenTensors(QStringLiteral("sam2_tiny/image/tensors.safetensors"));
        const QString where = QStringLiteral("sam2_tiny/image");
        const cv::Mat image = goldenImage();
        const at::Tensor u8 = golden.at("image_u8");
        QCOMPARE(maxAbsDiff(at::from_blob(const_cast<std::uint8_t*>(image.ptr<std::uint8_t>()), {image.rows, image.cols, 3},
                                          at::kByte),
                            u8),
                 0.0);
        predict::SamPredictor predictor(model);
        cv::Size inputSize;
        const at::Tensor input = predictor.preprocess(image, inputSize);
        QCOMPARE(inputSize, cv::Size(256, 256));
        expectClose(input, golden, "input_image", 1e-5, where);

        // Encoder on the official input: trunk blocks, FPN levels, high-res features, embedding.
        const auto& encoder = dynamic_cast<const models::HieraImageEncoder&>(model->imageEncoder());
        models::HieraTrace trace;
        {
            const at::NoGradGuard noGrad;
            encoder.forwardTraced(golden.at("input_image"), &trace);
        }
        expectClose(trace.blocks[4], golden, "trunk_block4", kFeatureTolerance, where);
        expectClose(trace.blocks[5], golden, "trunk_block5", kFeatureTolerance, where);
        expectClose(trace.fpn[2], golden, "neck_fpn2", kFeatureTolerance, where);
        expectClose(trace.fpn[3], golden, "neck_fpn3_dropped_by_scalp", kFeatureTolerance, where);
        const models::ImageFeatures features = model->encodeFeatures(golden.at("input_image"));
        QCOMPARE(features.highRes.size(), std::size_t(2));
        expectClose(features.highRes[0], golden, "high_res_feat_s0", kFeatureTolerance, where);
        expectClose(features.highRes[1], golden, "high_res_feat_s1", kFeatureTolerance, where);
        expectClose(features.embedding, golden, "image_embed", kFeatureTolerance, where);
        expectClose(model->denseEncoding(), golden, "dense_pe", 1e-5, where);

        // End to end from the PNG.
        const auto embedding = predictor.encode(image);
        expectClose(embedding->embedding, golden, "image_embed", kFeatureTolerance, where + QStringLiteral(" e2e"));
    }

    void pointMultimask()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/case_point1/tensors.safetensors");
        checkCase(loadGolden(), QStringLiteral("sam2_tiny/case_point1"));
    }

    void twoPointsSingleMaskFallsBackByStability()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/case_points2_single/tensors.safetensors");
        checkCase(loadGolden(), QStringLiteral("sam2_tiny/case_points2_single"));
    }
};

BIRKHOFF_REGISTER_TEST(TestSam2Golden);
#include "test_sam2_golden.moc"
