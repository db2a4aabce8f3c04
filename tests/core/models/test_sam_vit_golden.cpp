// Golden test of the SAM v1 ViT pipeline against the official segment_anything code
// (../shared/golden/sam_vit_tiny: a tiny random-weight ViT config, 256-px input, 16x16
// embedding, with every encoder block's output): preprocessing, encoder intermediates,
// image embeddings, dense PE, sparse prompt embeddings, low-res logits, IoU predictions,
// upscaled logits and the mask PNGs end to end from the PNG. Also the variant with window 6
// (16x16 grid padded to 18x18 in the windowed blocks).
#include "core/codec/compressor.h"
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"
#include "core/models/family.h"
#include "core/models/vit_encoder.h"
#include "core/predict/image_io.h"
#include "core/predict/predictor.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>

#include <QTest>

using namespace birkhoff;
using birkhoff::test::goldenJson;
using birkhoff::test::goldenPath;
using birkhoff::test::expectClose;
using birkhoff::test::goldenTensors;
using birkhoff::test::maxAbsDiff;
using birkhoff::test::promptFromManifest;
using birkhoff::test::scaledDiff;

namespace {

/// A LinearBackend that multiplies with a decoded dense weight (stands in for HyperLinear).
class DecodedBackend : public models::LinearBackend {
public:
    explicit DecodedBackend(at::Tensor weight) : weight_(std::move(weight)) {}
    at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) const override { return at::linear(x, weight_, bias); }
    at::Tensor denseWeight() const override { return weight_; }
    std::int64_t weightBytes() const override { return weight_.numel() * 4; }
    std::string describe() const override { return "decoded test backend"; }

private:
    at::Tensor weight_;
};

std::shared_ptr<models::SamModel> loadGolden(const QString& relative)
{
    return models::loadSamModel(goldenPath(relative).toStdString());
}

/// Runs one golden case: decoder on the golden embeddings, then end to end from the PNG.
void checkCase(const std::shared_ptr<models::SamModel>& model, const QString& caseDir, const QString& imageDir)
{
    const auto manifest = goldenJson(caseDir + QStringLiteral("/manifest.json"));
    const auto golden = goldenTensors(caseDir + QStringLiteral("/tensors.safetensors"));
    const auto imageTensors = goldenTensors(imageDir + QStringLiteral("/tensors.safetensors"));
    const bool multimask = manifest["prompt"]["multimask_output"].get<bool>();
    const predict::Prompt prompt = promptFromManifest(manifest);

    predict::SamPredictor predictor(model);
    const cv::Mat image = predict::readImageRgb(goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString());

    // Decoder alone, fed the official image embeddings.
    auto embedding = std::make_shared<predict::ImageEmbedding>();
    embedding->embedding = imageTensors.at("image_embeddings");
    embedding->originalSize = image.size();
    embedding->inputSize = predict::SamPredictor::preprocessShape(image.size(), model->config().imageSize);
    embedding->model = model.get();
    const models::PromptTensors tensors = predictor.promptTensors(*embedding, prompt);
    const std::int64_t userPoints = golden.at("point_coords_input_frame").size(1);  // without the padding point
    expectClose(tensors.coords.narrow(1, 0, userPoints), golden, "point_coords_input_frame", 1e-6, caseDir);
    const auto [sparse, dense] = model->embedPrompt(tensors);
    expectClose(sparse, golden, "sparse_embeddings", 1e-5, caseDir);
    expectClose(dense, golden, "dense_embeddings", 1e-6, caseDir);
    const models::DecoderOutput all = model->decode(embedding->embedding, tensors);
    expectClose(all.lowResLogits, golden, "low_res_logits_all", 1e-4, caseDir);
    expectClose(all.iouPredictions, golden, "iou_predictions_all", 1e-5, caseDir);

    // End to end from the PNG (our preprocessing and encoder).
    predictor.setImage(image);
    predict::PredictOptions options;
    options.output = multimask ? predict::MaskOutput::Multimask : predict::MaskOutput::Token0;
    options.keepLogits = true;
    const predict::Prediction prediction = predictor.predict(prompt, options);
    expectClose(prediction.lowResLogits.unsqueeze(0), golden, "low_res_logits", 1e-4, caseDir + QStringLiteral(" e2e"));
    expectClose(prediction.iouPredictions.unsqueeze(0), golden, "iou_predictions", 1e-5, caseDir + QStringLiteral(" e2e"));
    expectClose(prediction.maskLogits.unsqueeze(0), golden, "masks_logits", 1e-4, caseDir + QStringLiteral(" e2e"));
    const auto& files = manifest["mask_pngs"]["files"];
    QCOMPARE(prediction.count(), files.size());
    for (std::size_t k = 0; k < files.size(); ++k) {
        const cv::Mat expected = predict::readMaskPng(
            goldenPath(caseDir + QStringLiteral("/") + QString::fromStdString(files[k].get<std::string>())).toStdString());
        const double iou = predict::maskIou(prediction.maskImage(k), expected);
        qInfo("%s mask %zu: IoU with the official mask %.6f", qPrintable(caseDir), k, iou);
        QVERIFY2(iou >= 0.99, qPrintable(caseDir + QStringLiteral(": mask IoU %1").arg(iou)));
    }
}

/// Encoder on the official input tensor: every block and the embeddings.
void checkEncoder(const std::shared_ptr<models::SamModel>& model, const QString& imageDir, const at::Tensor& input)
{
    const auto golden = goldenTensors(imageDir + QStringLiteral("/tensors.safetensors"));
    const auto& encoder = dynamic_cast<const models::VitImageEncoder&>(model->imageEncoder());
    models::VitTrace trace;
    const at::NoGradGuard noGrad;
    const at::Tensor embeddings = encoder.forwardTraced(input, &trace);
    if (golden.contains("enc_patch_embed"))
        expectClose(trace.patchEmbed, golden, "enc_patch_embed", 1e-4, imageDir);
    expectClose(trace.tokensPlusPos, golden, "enc_tokens_plus_pos", 1e-4, imageDir);
    for (std::size_t i = 0; i < trace.blocks.size(); ++i)
        expectClose(trace.blocks[i], golden, "enc_block" + std::to_string(i), 1e-4, imageDir);
    expectClose(embeddings, golden, "image_embeddings", 1e-4, imageDir);
    const double absDiff = maxAbsDiff(embeddings, golden.at("image_embeddings"));
    QVERIFY2(absDiff <= 1e-4, qPrintable(QStringLiteral("embedding max abs diff %1 > 1e-4").arg(absDiff)));
    expectClose(model->promptEncoder().denseEncoding(), golden, "dense_pe", 1e-5, imageDir);
}

}  // namespace

class TestSamVitGolden : public QObject {
    Q_OBJECT
private slots:
    void configComesFromShapesAndConfigJson()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const auto model = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        const auto& c = model->config();
        QCOMPARE(c.encoder, models::EncoderKind::Vit);
        QCOMPARE(c.imageSize, std::int64_t(256));
        QCOMPARE(c.embeddingSize, std::int64_t(16));
        QCOMPARE(c.vit.embedDim, std::int64_t(64));
        QCOMPARE(c.vit.depth, std::int64_t(4));
        QCOMPARE(c.vit.numHeads, std::int64_t(2));
        QCOMPARE(c.vit.windowSize, std::int64_t(4));
        QCOMPARE(c.vit.globalAttnIndexes, (std::vector<std::int64_t>{1, 3}));
        QCOMPARE(c.head.promptEmbedDim, std::int64_t(32));
        QCOMPARE(c.head.transformerNumHeads, std::int64_t(2));  // only config.json can tell
        QCOMPARE(c.head.transformerMlpDim, std::int64_t(64));
        QVERIFY(model->info.configPath.has_value());
        // 323468 parameters (manifest) + the 2x16 positional-encoding buffer.
        QCOMPARE(model->info.parameterCount, std::int64_t(323468 + 32));
    }

    void decodingAndResizeMatchPillow()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/image/tensors.safetensors");
        const auto golden = goldenTensors(QStringLiteral("sam_vit_tiny/image/tensors.safetensors"));
        const cv::Mat image = predict::readImageRgb(goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString());
        const at::Tensor decoded = at::from_blob(image.data, {image.rows, image.cols, 3}, at::kByte);
        QCOMPARE(maxAbsDiff(decoded, golden.at("image_u8")), 0.0);
        const cv::Mat resized = predict::resizeLikePil(image, cv::Size(256, 171));
        const at::Tensor ours = at::from_blob(resized.data, {resized.rows, resized.cols, 3}, at::kByte);
        QCOMPARE(maxAbsDiff(ours, golden.at("resized_u8")), 0.0);  // bit-exact with Pillow
    }

    void preprocessingMatches()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const auto model = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        const auto golden = goldenTensors(QStringLiteral("sam_vit_tiny/image/tensors.safetensors"));
        const cv::Mat image = predict::readImageRgb(goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString());
        predict::SamPredictor predictor(model);
        cv::Size inputSize;
        const at::Tensor input = predictor.preprocess(image, inputSize);
        QCOMPARE(inputSize, cv::Size(256, 171));
        expectClose(input, golden, "input_image", 1e-6, QStringLiteral("preprocess"));
    }

    void encoderMatchesBlockByBlock()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const auto model = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        const auto golden = goldenTensors(QStringLiteral("sam_vit_tiny/image/tensors.safetensors"));
        checkEncoder(model, QStringLiteral("sam_vit_tiny/image"), golden.at("input_image"));
    }

    void casesMatch_data()
    {
        QTest::addColumn<QString>("caseDir");
        QTest::newRow("point1") << QStringLiteral("sam_vit_tiny/case_point1");
        QTest::newRow("points2_single") << QStringLiteral("sam_vit_tiny/case_points2_single");
    }
    void casesMatch()
    {
        QFETCH(QString, caseDir);
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const auto model = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        checkCase(model, caseDir, QStringLiteral("sam_vit_tiny/image"));
    }

    void wrappedCheckpointLoadsTheSame()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny_model_dict.pth");
        const auto raw = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        const auto wrapped = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny_model_dict.pth"));
        QVERIFY(!raw->info.family.empty());
        QCOMPARE(wrapped->info.family, raw->info.family);
        const auto rawDict = raw->stateDict();
        const auto wrappedDict = wrapped->stateDict();
        QCOMPARE(rawDict.size(), wrappedDict.size());
        for (std::size_t i = 0; i < rawDict.size(); ++i)
            QVERIFY(rawDict[i].second.equal(wrappedDict[i].second));
    }

    void compressedFilesLoadAndRoute()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const std::string pth = goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")).toStdString();
        const io::Checkpoint checkpoint = io::loadCheckpoint(pth);
        const models::FamilyInfo family = models::detectFamily(checkpoint.tensors);
        std::vector<codec::TensorRole> roles;
        for (const auto& e : checkpoint.tensors)
            roles.push_back(models::isLinearWeight(family, checkpoint.tensors, e.name) ? codec::TensorRole::LinearWeight
                            : models::isBuffer(family, checkpoint.tensors, e.name) ? codec::TensorRole::Buffer
                                                                                   : codec::TensorRole::Parameter);
        const codec::CompressionResult compressed = codec::compressModel(checkpoint.tensors, roles, {});
        const std::string file = (birkhoff::test::scratchDir() + QStringLiteral("/tiny.hyper.safetensors")).toStdString();
        format::writeCompressedModel(file, compressed.model);

        models::LoadOptions options;
        options.configPath = goldenPath(QStringLiteral("sam_vit_tiny/config.json")).toStdString();
        options.compressedRun = models::CompressedRun::Dense;
        const auto decoded = models::loadSamModel(file, options);  // Linear weights decoded to dense
        QCOMPARE(decoded->info.format, std::string("compressed (decoded to dense)"));
        QCOMPARE(decoded->info.compressedLinearLayers, std::int64_t(0));
        std::int64_t linearMatrices = 0;
        options.linearBackend = [&](const format::EncodedTensor& t) {
            ++linearMatrices;
            return std::make_shared<DecodedBackend>(format::decodeTensor(t));
        };
        options.compressedRun = models::CompressedRun::HyperLinear;  // the default: backends for Linear weights
        const auto routed = models::loadSamModel(file, options);
        QVERIFY(linearMatrices > 0);
        QCOMPARE(routed->info.compressedLinearLayers, linearMatrices);

        // Same numbers as the restored dense state dict built into an ordinary model.
        const auto reference = models::buildSamModel(decoded->config(), format::restoreDense(compressed.model), "restored");
        const auto original = loadGolden(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        const at::Tensor input = goldenTensors(QStringLiteral("sam_vit_tiny/image/tensors.safetensors")).at("input_image");
        const at::Tensor expected = reference->encodeImage(input);
        QCOMPARE(maxAbsDiff(decoded->encodeImage(input), expected), 0.0);
        QCOMPARE(maxAbsDiff(routed->encodeImage(input), expected), 0.0);
        qInfo("compressed tiny model (%lld Linear matrices): embeddings differ from the original by %.3g",
              static_cast<long long>(linearMatrices), maxAbsDiff(expected, original->encodeImage(input)));
    }

    void window6VariantPadsWindows()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/variant_window6/sam_vit_tiny.pth");
        const auto model = loadGolden(QStringLiteral("sam_vit_tiny/variant_window6/sam_vit_tiny.pth"));
        QCOMPARE(model->config().vit.windowSize, std::int64_t(6));
        const auto input = goldenTensors(QStringLiteral("sam_vit_tiny/image/tensors.safetensors")).at("input_image");
        checkEncoder(model, QStringLiteral("sam_vit_tiny/variant_window6/image"), input);
        checkCase(model, QStringLiteral("sam_vit_tiny/variant_window6/case_point1"),
                  QStringLiteral("sam_vit_tiny/variant_window6/image"));
    }
};

BIRKHOFF_REGISTER_TEST(TestSamVitGolden);
#include "test_sam_vit_golden.moc"
