// Every SAM family (SAM v1 ViT, MobileSAM, SAM 2, SAM-HQ ViT and tiny, EfficientSAM, EdgeSAM,
// SlimSAM, MedSAM, EfficientViT-SAM) end to end on small random-weight configurations built by
// the test in the official key layout:
//   - the key layout: the model's state-dict key patterns (block numbers -> '#') equal those of
//     the family's sam-keys tsv (documented exceptions listed per family);
//   - detection (birkhoff inspect's family) and run support;
//   - load: the checkpoint written as safetensors with a config.json beside it loads through
//     loadSamModel (config from shapes + config.json) and computes exactly what the model built
//     from the test's configuration computes;
//   - run: the predictor end to end on a small image (points, box, several mask outputs);
//   - compress: the codec compresses the checkpoint (role of every tensor from the family rules)
//     and loadSamModel runs the compressed file three ways: HyperLinear kernels, the
//     decode-then-linear reference path, and dense decoded weights.
// Tolerances (max |a - b| / max(1, max |b|) on the low-res logits and IoU of every mask token):
// decode-then-linear reference vs dense decoded model 1e-5 (same weights, same at::linear);
// HyperLinear kernels vs the reference path 1e-4 (a different summation order in every Linear
// layer of the encoder and decoder). The compressed model's distance to the original is
// printed (random weights are not what the codec's defaults are tuned for).
// Plus the full-size official key lists: configuration inference for every variant and exact
// state-dict keys/shapes for the smaller ones.
#include "core/codec/compressor.h"
#include "core/format/compressed_writer.h"
#include "core/io/safetensors.h"
#include "core/models/efficient_vit.h"
#include "core/models/family.h"
#include "core/models/hiera.h"
#include "core/models/sam_model.h"
#include "core/predict/pipeline.h"
#include "core/predict/predictor.h"
#include "core/util/error.h"
#include "tests/core/models/family_test_support.h"
#include "tests/core/models/model_test_support.h"
#include "tests/core/models/sam_keys.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <QDir>
#include <QTest>

#include <algorithm>
#include <fstream>

using namespace birkhoff;
using birkhoff::test::FamilyCase;
using birkhoff::test::maxAbsDiff;
using birkhoff::test::randomCheckpoint;
using birkhoff::test::scaledDiff;

Q_DECLARE_METATYPE(FamilyCase)

namespace {

models::FamilyId expectedFamily(const std::string& name)
{
    if (name == "sam2")
        return models::FamilyId::Sam21;  // the small checkpoint holds SAM 2.1's no_obj_embed_spatial
    if (name == "sam_hq" || name == "sam_hq_tiny")
        return models::FamilyId::SamHq;
    if (name == "efficient_sam")
        return models::FamilyId::EfficientSam;
    if (name == "edge_sam")
        return models::FamilyId::EdgeSam;
    if (name == "efficientvit_sam")
        return models::FamilyId::EfficientVitSam;
    if (name == "mobile_sam")
        return models::FamilyId::MobileSam;
    return models::FamilyId::SamVit;  // small SlimSAM / MedSAM widths read as a custom SAM ViT
}

cv::Mat randomImage(int rows, int cols, std::uint64_t seed)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor pixels = at::randint(0, 256, {rows, cols, 3}, generator, at::kByte).contiguous();
    return cv::Mat(rows, cols, CV_8UC3, pixels.data_ptr<std::uint8_t>()).clone();
}

std::filesystem::path caseDir(const std::string& name)
{
    const std::filesystem::path dir = (birkhoff::test::scratchDir() + QStringLiteral("/") + QString::fromStdString(name))
                                          .toStdString();
    std::filesystem::create_directories(dir);
    return dir;
}

void writeJson(const std::filesystem::path& path, const nlohmann::json& json)
{
    std::ofstream(path) << json.dump(1);
}

std::vector<codec::TensorRole> codecRoles(const io::StateDict& tensors)
{
    const models::FamilyInfo family = models::detectFamily(tensors);
    std::vector<codec::TensorRole> roles;
    for (const auto& role : models::classifyAll(family, tensors)) {
        if (role.kind == models::TensorKind::LinearWeight)
            roles.push_back(codec::TensorRole::LinearWeight);
        else if (role.kind == models::TensorKind::Buffer)
            roles.push_back(codec::TensorRole::Buffer);
        else
            roles.push_back(codec::TensorRole::Parameter);
    }
    return roles;
}

std::int64_t linearLayerCount(const models::SamModel& model)
{
    std::int64_t n = 0;
    for (const auto& item : model.named_modules("", false))
        if (dynamic_cast<const models::LinearImpl*>(item.value().get()))
            ++n;
    return n;
}

/// The prompts each family is run with (EfficientSAM has no mask input and takes <= 6 points).
std::vector<predict::Prompt> prompts(cv::Size size)
{
    const double w = size.width, h = size.height;
    predict::Prompt click;
    click.points = {{0.4 * w, 0.5 * h, 1}};
    predict::Prompt twoPoints;
    twoPoints.points = {{0.3 * w, 0.3 * h, 1}, {0.8 * w, 0.7 * h, 0}};
    predict::Prompt box;
    box.box = predict::BoxPrompt{0.1 * w, 0.2 * h, 0.7 * w, 0.9 * h};
    predict::Prompt boxAndPoint = box;
    boxAndPoint.points = {{0.5 * w, 0.5 * h, 1}};
    return {click, twoPoints, box, boxAndPoint};
}

/// Every mask token's low-res logits and IoU of `model` for one image and prompt.
predict::Prediction allTokens(const std::shared_ptr<const models::SamModel>& model, const cv::Mat& image,
                              const predict::Prompt& prompt)
{
    predict::SamPredictor predictor(model);
    predictor.setImage(image);
    predict::PredictOptions options;
    options.output = predict::MaskOutput::AllTokens;
    return predictor.predict(prompt, options);
}

void addFamilyRows()
{
    QTest::addColumn<FamilyCase>("family");
    for (const auto& f : birkhoff::test::allFamilyCases())
        QTest::newRow(f.name.c_str()) << f;
}

}  // namespace

class TestFamilyModels : public QObject {
    Q_OBJECT
private slots:
    void keyLayoutMatchesOfficialList_data() { addFamilyRows(); }
    void keyLayoutMatchesOfficialList()
    {
        QFETCH(FamilyCase, family);
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam2.1_t.tsv");
        const std::set<std::string> official = birkhoff::test::keyListPatterns(family.keyList);
        QVERIFY2(!official.empty(), qPrintable(family.keyList));
        std::set<std::string> ours;
        for (const auto& entry : models::SamModel(family.config).stateDict())
            ours.insert(birkhoff::test::keyPattern(entry.first));
        for (const auto& pattern : ours) {
            if (official.count(pattern))
                continue;
            const auto exception = family.patternsMissingFromKeyList.find(pattern);
            QVERIFY2(exception != family.patternsMissingFromKeyList.end(),
                     qPrintable(QStringLiteral("%1: %2 is not in %3").arg(QString::fromStdString(family.name),
                                                                           QString::fromStdString(pattern), family.keyList)));
            qInfo("%s: %s is not in %s: %s", family.name.c_str(), pattern.c_str(), qPrintable(family.keyList),
                  exception->second.c_str());
        }
        for (const auto& pattern : official) {
            // SAM 2's video-memory modules are kept as plain tensors; the small model holds a few of them.
            const bool video = family.config.decoder == models::DecoderKind::Sam2 &&
                               pattern.rfind("image_encoder.", 0) != 0 && pattern.rfind("sam_", 0) != 0 &&
                               pattern != "no_mem_embed";
            if (!video)
                QVERIFY2(ours.count(pattern), qPrintable(QStringLiteral("%1: official key %2 is missing")
                                                             .arg(QString::fromStdString(family.name),
                                                                  QString::fromStdString(pattern))));
        }
    }

    void loadsRunsCompressesAndRunsCompressed_data() { addFamilyRows(); }
    void loadsRunsCompressesAndRunsCompressed()
    {
        QFETCH(FamilyCase, family);
        const io::StateDict tensors = randomCheckpoint(family.config, 7);

        // Detection: what birkhoff inspect reports, and that the factory runs it.
        const models::FamilyInfo detected = models::detectFamily(tensors);
        QCOMPARE(detected.id, expectedFamily(family.name));
        QVERIFY(models::runSupport(detected).runnable);

        // Load from a file with config.json beside it; same computation as the test's model.
        const std::filesystem::path dir = caseDir(family.name);
        const std::filesystem::path checkpoint = dir / "model.safetensors";
        io::writeSafetensors(checkpoint, tensors);
        writeJson(dir / "config.json", family.configJson);
        const std::shared_ptr<const models::SamModel> loaded = models::loadSamModel(checkpoint);
        const auto built = models::buildSamModel(family.config, tensors, "test configuration");
        QCOMPARE(loaded->config().encoder, family.config.encoder);
        QCOMPARE(loaded->config().decoder, family.config.decoder);
        QCOMPARE(loaded->config().preprocess.pipeline, family.config.preprocess.pipeline);
        QCOMPARE(loaded->config().imageSize, family.config.imageSize);
        QCOMPARE(loaded->config().encoderSize(), family.config.encoderSize());
        QCOMPARE(loaded->config().embeddingSize, family.config.embeddingSize);
        auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
        const std::int64_t e = family.config.encoderSize();
        const at::Tensor input = at::randn({1, 3, e, e}, generator);
        const models::ImageFeatures a = loaded->encodeFeatures(input);
        const models::ImageFeatures b = built->encodeFeatures(input);
        QCOMPARE(a.embedding.sizes().vec(),
                 (std::vector<std::int64_t>{1, family.config.head.promptEmbedDim, family.config.embeddingSize,
                                            family.config.embeddingSize}));
        QCOMPARE(maxAbsDiff(a.embedding, b.embedding), 0.0);
        QCOMPARE(a.highRes.size(), b.highRes.size());
        for (std::size_t i = 0; i < a.highRes.size(); ++i)
            QCOMPARE(maxAbsDiff(a.highRes[i], b.highRes[i]), 0.0);
        QVERIFY(bool(at::isfinite(a.embedding).all().item<bool>()));

        // Run: the predictor end to end on a small image.
        const cv::Mat image = randomImage(37, 53, 11);
        const std::int64_t low = 4 * family.config.embeddingSize;
        for (const auto& prompt : prompts(image.size())) {
            for (const auto output : {predict::MaskOutput::Multimask, predict::MaskOutput::Token0,
                                      predict::MaskOutput::OnnxSingle, predict::MaskOutput::AllTokens}) {
                predict::SamPredictor predictor(loaded);
                predictor.setImage(image);
                predict::PredictOptions options;
                options.output = output;
                const predict::Prediction p = predictor.predict(prompt, options);
                QVERIFY(p.count() >= 1);
                QCOMPARE(p.masks.sizes().vec(), (std::vector<std::int64_t>{static_cast<std::int64_t>(p.count()), 37, 53}));
                QCOMPARE(p.lowResLogits.sizes().vec(),
                         (std::vector<std::int64_t>{static_cast<std::int64_t>(p.count()), low, low}));
                QVERIFY(bool(at::isfinite(p.lowResLogits).all().item<bool>()));
                QVERIFY(bool(at::isfinite(p.iouPredictions).all().item<bool>()));
            }
        }

        // Compress with the codec, then run the compressed file three ways.
        codec::CompressOptions options;
        options.defaults.rawFallback = false;  // every Linear weight as an index matrix: HyperLinear runs them all
        const codec::CompressionResult result = codec::compressModel(tensors, codecRoles(tensors), options);
        const std::filesystem::path compressedPath = dir / "model.hyper.safetensors";
        format::writeCompressedModel(compressedPath, result.model);
        models::LoadOptions hyperOptions, referenceOptions, denseOptions;
        referenceOptions.compressedRun = models::CompressedRun::Reference;
        denseOptions.compressedRun = models::CompressedRun::Dense;
        const std::shared_ptr<const models::SamModel> hyper = models::loadSamModel(compressedPath, hyperOptions);
        const std::shared_ptr<const models::SamModel> reference = models::loadSamModel(compressedPath, referenceOptions);
        const std::shared_ptr<const models::SamModel> dense = models::loadSamModel(compressedPath, denseOptions);
        QCOMPARE(hyper->info.compressedLinearLayers, linearLayerCount(*hyper));
        QCOMPARE(reference->info.compressedLinearLayers, linearLayerCount(*reference));
        QCOMPARE(dense->info.compressedLinearLayers, std::int64_t(0));
        double worstKernel = 0, worstReference = 0, worstOriginal = 0;
        for (const auto& prompt : prompts(image.size())) {
            const predict::Prediction h = allTokens(hyper, image, prompt);
            const predict::Prediction r = allTokens(reference, image, prompt);
            const predict::Prediction d = allTokens(dense, image, prompt);
            const predict::Prediction o = allTokens(loaded, image, prompt);
            worstKernel = std::max({worstKernel, scaledDiff(h.lowResLogits, r.lowResLogits),
                                    scaledDiff(h.iouPredictions, r.iouPredictions)});
            worstReference = std::max({worstReference, scaledDiff(r.lowResLogits, d.lowResLogits),
                                       scaledDiff(r.iouPredictions, d.iouPredictions)});
            worstOriginal = std::max(worstOriginal, scaledDiff(d.lowResLogits, o.lowResLogits));
        }
        qInfo("%s: %lld Linear layers on HyperLinear; HyperLinear vs reference %.3g (tolerance 1e-4), reference vs "
              "dense %.3g (tolerance 1e-5), compressed vs original %.3g; ratio %.2f",
              family.name.c_str(), static_cast<long long>(hyper->info.compressedLinearLayers), worstKernel,
              worstReference, worstOriginal, result.report.ratio());
        QVERIFY2(worstKernel <= 1e-4, qPrintable(QString::number(worstKernel)));
        QVERIFY2(worstReference <= 1e-5, qPrintable(QString::number(worstReference)));
        QVERIFY(std::isfinite(worstOriginal));
    }

    void configInferenceFromEveryOfficialKeyList_data()
    {
        QTest::addColumn<QString>("keyList");
        QTest::addColumn<int>("encoder");
        QTest::addColumn<int>("decoder");
        QTest::addColumn<qint64>("encoderSize");
        QTest::addColumn<bool>("buildAndCompareKeys");  // small enough to build at full size
        using E = models::EncoderKind;
        using D = models::DecoderKind;
        const auto row = [](const char* list, E e, D d, qint64 size, bool build) {
            QTest::newRow(list) << QString::fromLatin1(list) + QStringLiteral(".tsv") << int(e) << int(d) << size << build;
        };
        row("sam2_t", E::Hiera, D::Sam2, 1024, true);
        row("sam2.1_t", E::Hiera, D::Sam2, 1024, true);
        row("sam2_s", E::Hiera, D::Sam2, 1024, true);
        row("sam2.1_s", E::Hiera, D::Sam2, 1024, false);
        row("sam2_b+", E::Hiera, D::Sam2, 1024, false);
        row("sam2.1_b+", E::Hiera, D::Sam2, 1024, true);
        row("sam2_l", E::Hiera, D::Sam2, 1024, false);
        row("sam2.1_l", E::Hiera, D::Sam2, 1024, false);
        row("samhq_vit_tiny", E::TinyVit, D::SamHq, 1024, true);
        row("samhq_vit_b", E::Vit, D::SamHq, 1024, true);
        row("samhq_vit_l", E::Vit, D::SamHq, 1024, false);
        row("samhq_vit_h", E::Vit, D::SamHq, 1024, false);
        row("efficientsam_vitt", E::EfficientSamVit, D::EfficientSam, 1024, true);
        row("efficientsam_vits", E::EfficientSamVit, D::EfficientSam, 1024, true);
        row("edgesam", E::RepVit, D::Sam, 1024, true);
        row("slimsam_vit_p50", E::Vit, D::Sam, 1024, true);
        row("slimsam_vit_p77", E::Vit, D::Sam, 1024, true);
        row("evitsam_l0", E::EfficientVit, D::Sam, 512, true);
        row("evitsam_l1", E::EfficientVit, D::Sam, 512, true);
        row("evitsam_l2", E::EfficientVit, D::Sam, 512, false);
        row("evitsam_xl0", E::EfficientVit, D::Sam, 1024, true);
        row("evitsam_xl1", E::EfficientVit, D::Sam, 1024, false);
    }
    void configInferenceFromEveryOfficialKeyList()
    {
        QFETCH(QString, keyList);
        QFETCH(int, encoder);
        QFETCH(int, decoder);
        QFETCH(qint64, encoderSize);
        QFETCH(bool, buildAndCompareKeys);
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam2_t.tsv");
        const auto rows = birkhoff::test::readSamKeys(keyList);
        QVERIFY(!rows.empty());
        models::TensorShapes shapes;
        for (const auto& row : rows)
            shapes[row.key] = row.shape;
        const models::SamConfig c = models::inferSamConfig(shapes, nullptr, keyList.toStdString());
        QCOMPARE(int(c.encoder), encoder);
        QCOMPARE(int(c.decoder), decoder);
        QCOMPARE(qint64(c.encoderSize()), encoderSize);
        QCOMPARE(c.imageSize, std::int64_t(1024));
        QCOMPARE(c.embeddingSize, std::int64_t(64));
        QCOMPARE(c.head.promptEmbedDim, std::int64_t(256));
        if (c.encoder == models::EncoderKind::Hiera)
            QVERIFY(!models::planHieraBlocks(c.hiera).empty());
        qInfo("%s:\n%s", qPrintable(keyList), c.describe().c_str());
        if (!buildAndCompareKeys)
            return;
        const models::SamModel model(c);
        std::map<std::string, std::vector<std::int64_t>> ours;
        for (const auto& [name, tensor] : model.stateDict())
            ours[name] = tensor.sizes().vec();
        QCOMPARE(ours.size(), shapes.size());
        for (const auto& [name, shape] : shapes) {
            const auto it = ours.find(name);
            QVERIFY2(it != ours.end(), qPrintable(keyList + QStringLiteral(": missing ") + QString::fromStdString(name)));
            QVERIFY2(it->second == shape, qPrintable(keyList + QStringLiteral(": shape of ") + QString::fromStdString(name)));
        }
    }

    void officialPresetsAndConstants()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam2.1_l.tsv");
        models::TensorShapes shapes;
        for (const auto& row : birkhoff::test::readSamKeys(QStringLiteral("sam2.1_l.tsv")))
            shapes[row.key] = row.shape;
        const models::SamConfig large = models::inferSamConfig(shapes, nullptr, "sam2.1_l");
        QCOMPARE(large.hiera.windowSpec, (std::vector<std::int64_t>{8, 4, 16, 8}));
        QCOMPARE(large.hiera.globalAttBlocks, (std::vector<std::int64_t>{23, 33, 43}));
        QCOMPARE(large.hiera.numHeads, std::int64_t(2));
        QCOMPARE(large.hiera.posEmbedBackground, (std::array<std::int64_t, 2>{7, 7}));
        QCOMPARE(large.preprocess.pipeline, models::ImagePipeline::Sam2);
        QVERIFY(!large.inactiveTensors.empty());

        shapes.clear();
        for (const auto& row : birkhoff::test::readSamKeys(QStringLiteral("evitsam_l0.tsv")))
            shapes[row.key] = row.shape;
        const models::SamConfig l0 = models::inferSamConfig(shapes, nullptr, "evitsam_l0");
        QCOMPARE(l0.efficientVit.neckInputStages, (std::vector<std::int64_t>{4, 3, 2}));
        QCOMPARE(l0.efficientVit.neckDepth, std::int64_t(4));
        QCOMPARE(l0.head.layerNormEps, 1e-6);
        QCOMPARE(l0.efficientVit.stages[4][1].kind, models::EfficientVitBlockKind::Attention);
        QCOMPARE(l0.efficientVit.stages[4][1].scales, std::vector<std::int64_t>{5});
        QCOMPARE(l0.efficientVit.stages[4][1].heads, std::int64_t(16));

        shapes.clear();
        for (const auto& row : birkhoff::test::readSamKeys(QStringLiteral("edgesam.tsv")))
            shapes[row.key] = row.shape;
        const models::SamConfig edge = models::inferSamConfig(shapes, nullptr, "edgesam");
        QCOMPARE(edge.repVit.blocks.size(), std::size_t(26));
        QCOMPARE(edge.repVit.fuseStage2Block, std::int64_t(22));
        QCOMPARE(edge.repVit.fuseStage3Block, std::int64_t(25));
    }

    void sam2ConfigContradictionsAreErrors()
    {
        FamilyCase f = birkhoff::test::sam2Case();
        const auto shapes = models::shapesOf(randomCheckpoint(f.config, 1));
        nlohmann::json wrong = f.configJson;
        wrong["model"]["image_encoder"]["trunk"]["embed_dim"] = 96;
        QVERIFY_THROWS_EXCEPTION(Error, models::inferSamConfig(shapes, &wrong, "test"));
        wrong = f.configJson;
        wrong["model"]["image_encoder"]["neck"]["backbone_channel_list"] = {1, 2, 3, 4};
        QVERIFY_THROWS_EXCEPTION(Error, models::inferSamConfig(shapes, &wrong, "test"));
        wrong = f.configJson;
        wrong["model"]["image_encoder"]["trunk"]["window_spec"] = {8, 4};
        QVERIFY_THROWS_EXCEPTION(Error, models::inferSamConfig(shapes, &wrong, "test"));
        const nlohmann::json badPipeline = {{"preprocessing", "sam3"}};
        QVERIFY_THROWS_EXCEPTION(Error, models::inferSamConfig(shapes, &badPipeline, "test"));
        // Without its config.json a custom Hiera takes the official defaults for what the shapes
        // cannot tell (heads, windows, global blocks) and says so.
        const models::SamConfig defaults = models::inferSamConfig(shapes, nullptr, "test");
        QVERIFY(!defaults.notes.empty());
        QCOMPARE(defaults.hiera.windowSpec.front(), std::int64_t(8));  // read from pos_embed_window
    }

    void sam2PromptLayoutAndSelection()
    {
        const FamilyCase f = birkhoff::test::sam2Case();
        const auto model = models::buildSamModel(f.config, randomCheckpoint(f.config, 5), "test");
        predict::SamPredictor predictor(model);
        const cv::Mat image = randomImage(40, 60, 2);
        const auto embedding = predictor.setImage(image);
        predict::Prompt prompt;
        prompt.points = {{30, 20, 1}};
        prompt.box = predict::BoxPrompt{5, 6, 50, 30};
        const models::PromptTensors t = predictor.promptTensors(*embedding, prompt);
        // SAM 2: box corners first, then the points, then always a padding point.
        QVERIFY(at::equal(t.labels.squeeze(0).to(at::kLong), at::tensor({2, 3, 1, -1}, at::kLong)));
        // Points normalised by (W, H) then scaled to the square input.
        QVERIFY(std::abs(t.coords[0][2][0].item<double>() - 30.0 / 60.0 * 128.0) < 1e-4);
        QVERIFY(std::abs(t.coords[0][2][1].item<double>() - 20.0 / 40.0 * 128.0) < 1e-4);
        // Low-res logits come back clamped to [-32, 32].
        predict::PredictOptions options;
        options.output = predict::MaskOutput::AllTokens;
        const predict::Prediction p = predictor.predict(prompt, options);
        QVERIFY(p.lowResLogits.abs().max().item<double>() <= 32.0);
        // Token0 keeps token 0 when it is stable, else the best multimask token.
        options.output = predict::MaskOutput::Token0;
        const predict::Prediction single = predictor.predict(prompt, options);
        QCOMPARE(single.count(), std::size_t(1));
        const models::DecoderOutput raw = model->decode(models::ImageFeatures{embedding->embedding, embedding->highResFeatures},
                                                        t, embedding->decoderCache.get());
        const bool stable = predict::stabilityScore(raw.lowResLogits[0][0], 0.05) >= 0.98;
        const int bestMulti = 1 + static_cast<int>(raw.iouPredictions[0].slice(0, 1).argmax().item<std::int64_t>());
        QCOMPARE(single.tokens.front(), stable ? 0 : bestMulti);
        QVERIFY(raw.iouPredictions.min().item<double>() >= 0.0 && raw.iouPredictions.max().item<double>() <= 1.0);
    }

    void hqMasksCombineSamAndHqTokens()
    {
        const FamilyCase f = birkhoff::test::samHqVitCase();
        const auto model = models::buildSamModel(f.config, randomCheckpoint(f.config, 9), "test");
        predict::SamPredictor predictor(model);
        const cv::Mat image = randomImage(48, 64, 4);
        const auto embedding = predictor.setImage(image);
        predict::Prompt prompt;
        prompt.points = {{20, 30, 1}};
        const models::PromptTensors t = predictor.promptTensors(*embedding, prompt);
        const models::DecoderOutput raw = model->decode(models::ImageFeatures{embedding->embedding, embedding->highResFeatures}, t);
        QCOMPARE(raw.hqLogits.sizes().vec(), (std::vector<std::int64_t>{1, 1, 32, 32}));
        predict::PredictOptions options;
        options.output = predict::MaskOutput::Multimask;  // official: the best of tokens 1..3, plus HQ
        const predict::Prediction multi = predictor.predict(prompt, options);
        QCOMPARE(multi.count(), std::size_t(1));
        const int best = 1 + static_cast<int>(raw.iouPredictions[0].slice(0, 1).argmax().item<std::int64_t>());
        QCOMPARE(multi.tokens.front(), best);
        QVERIFY(maxAbsDiff(multi.lowResLogits[0], raw.lowResLogits[0][best] + raw.hqLogits[0][0]) < 1e-5);
        options.output = predict::MaskOutput::Token0;
        options.hqTokenOnly = true;
        const predict::Prediction hqOnly = predictor.predict(prompt, options);
        QVERIFY(maxAbsDiff(hqOnly.lowResLogits[0], raw.hqLogits[0][0]) < 1e-5);
        QVERIFY(maxAbsDiff(hqOnly.iouPredictions[0], raw.iouPredictions[0][0]) < 1e-6);
    }

    void efficientSamPromptRules()
    {
        const FamilyCase f = birkhoff::test::efficientSamCase();
        const auto model = models::buildSamModel(f.config, randomCheckpoint(f.config, 3), "test");
        predict::SamPredictor predictor(model);
        predictor.setImage(randomImage(30, 40, 1));
        predict::Prompt many;
        for (int i = 0; i < 7; ++i)
            many.points.push_back({1.0 + i, 2.0, 1});
        QVERIFY_THROWS_EXCEPTION(Error, predictor.predict(many));  // at most 6 points
        predict::Prompt withMask;
        withMask.points = {{5, 5, 1}};
        withMask.maskInput = at::zeros({32, 32});
        QVERIFY_THROWS_EXCEPTION(Error, predictor.predict(withMask));  // no mask input
        // Padding to 6 points does not depend on how many real points there are: a prompt gives the
        // same result whether or not the model pads it.
        predict::Prompt six;
        for (int i = 0; i < 6; ++i)
            six.points.push_back({3.0 + 5 * i, 10.0, i % 2});
        const predict::Prediction p = predictor.predict(six);
        QCOMPARE(p.count(), std::size_t(3));
        QCOMPARE(p.sparseTokens, 6);
    }

    void efficientSamHeadCountsComeFromConfig()
    {
        // Neither head count is in an EfficientSAM checkpoint: a decoder that is not the official
        // 256 wide gets the official 8 heads and a note, until config.json gives decoder_num_heads
        // (build_efficient_sam's name) or transformer_num_heads.
        const FamilyCase f = birkhoff::test::efficientSamCase();
        const auto shapes = models::shapesOf(randomCheckpoint(f.config, 1));
        const auto decoderNote = [](const models::SamConfig& c) {
            return std::any_of(c.notes.begin(), c.notes.end(),
                               [](const std::string& n) { return n.find("decoder heads") != std::string::npos; });
        };
        const models::SamConfig guessed = models::inferSamConfig(shapes, nullptr, "test");
        QCOMPARE(guessed.head.transformerNumHeads, std::int64_t(8));
        QVERIFY(decoderNote(guessed));
        for (const char* key : {"decoder_num_heads", "transformer_num_heads"}) {
            const nlohmann::json config = {{key, 4}};
            const models::SamConfig given = models::inferSamConfig(shapes, &config, "test");
            QCOMPARE(given.head.transformerNumHeads, std::int64_t(4));
            QVERIFY2(!decoderNote(given), key);
        }
        const nlohmann::json indivisible = {{"decoder_num_heads", 3}};
        QVERIFY_THROWS_EXCEPTION(Error, models::inferSamConfig(shapes, &indivisible, "test"));
    }

    void medSamPipeline()
    {
        const FamilyCase f = birkhoff::test::medSamCase();
        const cv::Mat image = randomImage(50, 30, 8);
        cv::Size inputSize;
        const at::Tensor input = predict::preprocessImage(image, f.config, inputSize);
        QCOMPARE(inputSize, cv::Size(64, 64));
        QCOMPARE(input.sizes().vec(), (std::vector<std::int64_t>{1, 3, 64, 64}));
        QCOMPARE(input.min().item<float>(), 0.0f);  // min-max to [0, 1], no mean/std
        QCOMPARE(input.max().item<float>(), 1.0f);
        // Masks: sigmoid, bilinear to the original size, > 0.5.
        auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
        const at::Tensor logits = at::randn({1, 32, 32}, generator) * 4;
        const at::Tensor scores = predict::upscaleMasks(logits, f.config, inputSize, image.size());
        QVERIFY(scores.min().item<float>() >= 0.0f && scores.max().item<float>() <= 1.0f);
        QVERIFY(at::equal(predict::thresholdMasks(scores, f.config), scores.gt(0.5)));
    }

    void liteMlaLinearAttentionEqualsTheQuadraticForm()
    {
        auto generator = at::make_generator<at::CPUGeneratorImpl>(4);
        const std::int64_t dim = 4;
        const at::Tensor qkv = at::randn({2, 2 * 3 * dim, 3, 3}, generator);  // 9 tokens > dim: linear form
        const at::Tensor linear = models::liteMlaAttention(qkv, dim);
        const at::Tensor parts = qkv.reshape({2, -1, 3 * dim, 9});
        const at::Tensor q = at::relu(parts.narrow(2, 0, dim));
        const at::Tensor k = at::relu(parts.narrow(2, dim, dim));
        const at::Tensor v = parts.narrow(2, 2 * dim, dim);
        at::Tensor map = at::matmul(k.transpose(-1, -2), q);
        map = map / (map.sum(2, true) + 1e-15);
        const at::Tensor quadratic = at::matmul(v, map).reshape({2, -1, 3, 3});
        QVERIFY2(maxAbsDiff(linear, quadratic) < 1e-5, qPrintable(QString::number(maxAbsDiff(linear, quadratic))));
    }
};

BIRKHOFF_REGISTER_TEST(TestFamilyModels);
#include "test_family_models.moc"
