// Unit tests of the SAM v1-family modules: configuration inference from the official key lists
// (../shared/docs/sam-keys), state_dict names/shapes/order equal to the official ones,
// config.json overrides and contradictions, the loader's missing/unexpected/mis-shaped report,
// TinyViT's attention-bias gather, rel-pos interpolation, and a compressed-weight backend
// plugging into Linear layers with no code path of its own.
#include "core/io/state_dict.h"
#include "core/models/sam_model.h"
#include "core/models/tiny_vit.h"
#include "core/models/vit_encoder.h"
#include "core/util/error.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <QFile>
#include <QTest>

#include <map>

using namespace birkhoff;
using birkhoff::test::maxAbsDiff;
using birkhoff::test::randomCheckpoint;

namespace {

struct KeyList {
    std::vector<std::string> names;
    models::TensorShapes shapes;
};

/// Reads a sam-keys TSV (key, [shape], param|buffer, class).
KeyList readKeyList(const QString& variant)
{
    QFile file(birkhoff::test::sharedPath(QStringLiteral("docs/sam-keys/%1.tsv").arg(variant)));
    KeyList list;
    if (!file.open(QIODevice::ReadOnly))
        return list;
    while (!file.atEnd()) {
        const QString line = QString::fromUtf8(file.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        const QStringList cols = line.split(QLatin1Char('\t'));
        std::vector<std::int64_t> shape;
        QString dims = cols.value(1);
        dims.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
        for (const QString& d : dims.split(QLatin1Char(','), Qt::SkipEmptyParts))
            shape.push_back(d.trimmed().toLongLong());
        list.names.push_back(cols[0].toStdString());
        list.shapes[cols[0].toStdString()] = shape;
    }
    return list;
}

/// A LinearBackend that multiplies with a privately held dense weight (stands in for HyperLinear).
class DenseTestBackend : public models::LinearBackend {
public:
    explicit DenseTestBackend(at::Tensor weight) : weight_(std::move(weight)) {}
    at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) const override
    {
        ++calls;
        return at::linear(x, weight_, bias);
    }
    at::Tensor denseWeight() const override { return weight_; }
    std::int64_t weightBytes() const override { return weight_.numel() * 4; }
    std::string describe() const override { return "dense test backend"; }
    mutable int calls = 0;

private:
    at::Tensor weight_;
};

at::Tensor randomImage(const models::SamConfig& config, std::uint64_t seed)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn({1, 3, config.imageSize, config.imageSize}, generator);
}

QString errorOf(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestSamModels : public QObject {
    Q_OBJECT
private slots:
    void configFromOfficialKeyLists_data()
    {
        QTest::addColumn<QString>("variant");
        QTest::addColumn<qint64>("embed");
        QTest::addColumn<qint64>("depth");
        QTest::addColumn<qint64>("heads");
        QTest::addColumn<QString>("global");
        QTest::newRow("sam_vit_b") << QStringLiteral("sam1_vit_b") << qint64(768) << qint64(12) << qint64(12)
                                   << QStringLiteral("2,5,8,11");
        QTest::newRow("sam_vit_l") << QStringLiteral("sam1_vit_l") << qint64(1024) << qint64(24) << qint64(16)
                                   << QStringLiteral("5,11,17,23");
        QTest::newRow("sam_vit_h") << QStringLiteral("sam1_vit_h") << qint64(1280) << qint64(32) << qint64(16)
                                   << QStringLiteral("7,15,23,31");
        QTest::newRow("slimsam_50") << QStringLiteral("slimsam_vit_p50") << qint64(384) << qint64(12) << qint64(12)
                                    << QStringLiteral("2,5,8,11");
        QTest::newRow("slimsam_77") << QStringLiteral("slimsam_vit_p77") << qint64(168) << qint64(12) << qint64(12)
                                    << QStringLiteral("2,5,8,11");
    }
    void configFromOfficialKeyLists()
    {
        QFETCH(QString, variant);
        QFETCH(qint64, embed);
        QFETCH(qint64, depth);
        QFETCH(qint64, heads);
        QFETCH(QString, global);
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam1_vit_b.tsv");
        const KeyList keys = readKeyList(variant);
        const models::SamConfig c = models::inferSamConfig(keys.shapes, nullptr, variant.toStdString());
        QCOMPARE(c.encoder, models::EncoderKind::Vit);
        QCOMPARE(c.imageSize, std::int64_t(1024));
        QCOMPARE(c.embeddingSize, std::int64_t(64));
        QCOMPARE(qint64(c.vit.embedDim), embed);
        QCOMPARE(qint64(c.vit.depth), depth);
        QCOMPARE(qint64(c.vit.numHeads), heads);
        QCOMPARE(c.vit.windowSize, std::int64_t(14));
        std::vector<std::int64_t> expected;
        for (const QString& g : global.split(QLatin1Char(',')))
            expected.push_back(g.toLongLong());
        QCOMPARE(c.vit.globalAttnIndexes, expected);
        QCOMPARE(c.head.promptEmbedDim, std::int64_t(256));
        QCOMPARE(c.head.transformerNumHeads, std::int64_t(8));
        QCOMPARE(c.head.transformerMlpDim, std::int64_t(2048));
        QCOMPARE(c.head.numMultimaskOutputs, std::int64_t(3));
    }

    void mobileSamConfigFromKeyList_data()
    {
        QTest::addColumn<QString>("variant");
        QTest::newRow("mobilesam") << QStringLiteral("mobilesam_vit_t");
        QTest::newRow("tinysam") << QStringLiteral("tinysam_vit_t");
    }
    void mobileSamConfigFromKeyList()
    {
        QFETCH(QString, variant);
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/mobilesam_vit_t.tsv");
        const KeyList keys = readKeyList(variant);
        const models::SamConfig c = models::inferSamConfig(keys.shapes, nullptr, variant.toStdString());
        QCOMPARE(c.encoder, models::EncoderKind::TinyVit);
        QCOMPARE(c.variant, std::string("mobile_sam"));
        QCOMPARE(c.tinyVit.embedDims, (std::vector<std::int64_t>{64, 128, 160, 320}));
        QCOMPARE(c.tinyVit.depths, (std::vector<std::int64_t>{2, 2, 6, 2}));
        QCOMPARE(c.tinyVit.numHeads[3], std::int64_t(10));
        QCOMPARE(c.tinyVit.windowSizes, (std::vector<std::int64_t>{0, 7, 14, 7}));
        QCOMPARE(c.tinyVit.mergeStrides, (std::vector<std::int64_t>{2, 2, 1}));
        QCOMPARE(c.tinyVit.mbconvHidden, std::int64_t(256));
        QCOMPARE(c.tinyVit.numClasses, std::int64_t(1000));
        QCOMPARE(c.embeddingSize, std::int64_t(64));
    }

    void stateDictEqualsOfficialKeys_data()
    {
        QTest::addColumn<QString>("variant");
        QTest::newRow("sam_vit_b") << QStringLiteral("sam1_vit_b");
        QTest::newRow("mobilesam") << QStringLiteral("mobilesam_vit_t");
    }
    void stateDictEqualsOfficialKeys()
    {
        QFETCH(QString, variant);
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam1_vit_b.tsv");
        const KeyList keys = readKeyList(variant);
        const models::SamConfig c = models::inferSamConfig(keys.shapes, nullptr, variant.toStdString());
        const models::SamModel model(c);
        const auto dict = model.stateDict();
        QCOMPARE(dict.size(), keys.names.size());
        for (std::size_t i = 0; i < dict.size(); ++i) {
            QCOMPARE(dict[i].first, keys.names[i]);  // same names in the same (state_dict) order
            QCOMPARE(dict[i].second.sizes().vec(), keys.shapes.at(keys.names[i]));
        }
    }

    void configJsonOverridesAndContradictions()
    {
        const models::SamConfig small = birkhoff::test::smallVitConfig();
        const auto shapes = models::shapesOf(randomCheckpoint(small, 1));
        const models::SamConfig inferred = models::inferSamConfig(shapes, nullptr, "small");
        QCOMPARE(inferred.vit.windowSize, small.vit.windowSize);
        QCOMPARE(inferred.vit.globalAttnIndexes, small.vit.globalAttnIndexes);
        QCOMPARE(inferred.vit.numHeads, small.vit.numHeads);
        QCOMPARE(inferred.head.transformerNumHeads, std::int64_t(8));  // official default: shapes cannot tell

        const nlohmann::json heads = {{"builder_args", {{"transformer_num_heads", 2}, {"unknown_key", "ignored"}}}};
        QCOMPARE(models::inferSamConfig(shapes, &heads, "small").head.transformerNumHeads, std::int64_t(2));
        const nlohmann::json kwargs = {{"constructor_kwargs", {{"TwoWayTransformer", {{"num_heads", 4}}}}}};
        QCOMPARE(models::inferSamConfig(shapes, &kwargs, "small").head.transformerNumHeads, std::int64_t(4));

        const nlohmann::json wrongEmbed = {{"encoder_embed_dim", 768}};
        QVERIFY(errorOf([&] { models::inferSamConfig(shapes, &wrongEmbed, "small"); }).contains(QStringLiteral("encoder_embed_dim")));
        const nlohmann::json wrongType = {{"transformer_num_heads", "eight"}};
        QVERIFY(errorOf([&] { models::inferSamConfig(shapes, &wrongType, "small"); }).contains(QStringLiteral("integer")));
        const nlohmann::json badHeads = {{"transformer_num_heads", 3}};
        QVERIFY(errorOf([&] { models::inferSamConfig(shapes, &badHeads, "small"); }).contains(QStringLiteral("divide")));
        const nlohmann::json wrongImage = {{"image_size", 128}};
        QVERIFY(errorOf([&] { models::inferSamConfig(shapes, &wrongImage, "small"); }).contains(QStringLiteral("pos_embed")));

        models::TensorShapes notSam = {{"encoder.weight", {4, 4}}};
        QVERIFY(errorOf([&] { models::inferSamConfig(notSam, nullptr, "x.pth"); }).contains(QStringLiteral("not a SAM")));
    }

    void loaderListsMissingUnexpectedAndMisshapedKeys()
    {
        const models::SamConfig c = birkhoff::test::smallVitConfig();
        const io::StateDict good = randomCheckpoint(c, 2);
        io::StateDict bad;
        for (const auto& e : good) {
            if (e.name == "mask_decoder.iou_token.weight")
                continue;  // missing
            if (e.name == "image_encoder.blocks.0.attn.proj.weight")
                bad.insert(e.name, at::zeros({3, 3}));  // mis-shaped
            else
                bad.insert(e.name, e.tensor);
        }
        bad.insert("image_encoder.extra.weight", at::zeros({2}));  // unexpected
        bad.insert("pixel_mean", at::zeros({3}));                  // ignored, as the official code does
        models::SamModel model(c);
        const QString message = errorOf([&] { models::loadWeights(model, bad, "bad.pth"); });
        QVERIFY2(message.contains(QStringLiteral("bad.pth")), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("1 missing keys")) && message.contains(QStringLiteral("mask_decoder.iou_token.weight")),
                 qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("1 mis-shaped keys")) &&
                     message.contains(QStringLiteral("image_encoder.blocks.0.attn.proj.weight: checkpoint [3,3], model [32,32]")),
                 qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("1 unexpected keys")) && message.contains(QStringLiteral("image_encoder.extra.weight")),
                 qPrintable(message));
        QVERIFY(!message.contains(QStringLiteral("pixel_mean")));
        models::loadWeights(model, good, "good.pth");
    }

    void halfPrecisionCheckpointsAreConverted()
    {
        const models::SamConfig c = birkhoff::test::smallVitConfig();
        const io::StateDict dense = randomCheckpoint(c, 3);
        io::StateDict half;
        for (const auto& e : dense)
            half.insert(e.name, e.tensor.scalar_type() == at::kFloat ? e.tensor.to(at::kHalf) : e.tensor);
        const auto model = models::buildSamModel(c, half, "half");
        for (const auto& [name, t] : model->stateDict())
            QVERIFY2(t.scalar_type() == at::kFloat || t.scalar_type() == at::kLong, name.c_str());
        QVERIFY(maxAbsDiff(model->stateDict()[0].second, dense.at(model->stateDict()[0].first)) < 1e-3);
    }

    void tinyVitAttentionBiasGatherFollowsTheOfficialOffsetIndex()
    {
        for (const std::int64_t window : {3, 7, 14}) {
            // The official index: enumerate offsets in first-seen order over all point pairs.
            std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> offsets;
            const std::int64_t n = window * window;
            std::vector<std::int64_t> official;
            for (std::int64_t i = 0; i < n; ++i)
                for (std::int64_t j = 0; j < n; ++j) {
                    const auto key = std::make_pair(std::abs(i / window - j / window), std::abs(i % window - j % window));
                    if (!offsets.count(key)) {
                        const auto next = static_cast<std::int64_t>(offsets.size());
                        offsets[key] = next;
                    }
                    official.push_back(offsets[key]);
                }
            models::TinyVitAttention attention(8, 2, window, 1e-5);
            auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
            attention->attentionBiases.copy_(at::randn({2, n}, generator));
            const at::Tensor gathered = attention->gatheredBiases();
            const at::Tensor expected =
                attention->attentionBiases.index_select(1, at::tensor(official, at::kLong)).view({2, n, n});
            QCOMPARE(maxAbsDiff(gathered, expected), 0.0);
        }
    }

    void tinyVitUsesTheLoadedBiasesNotAStaleCache()
    {
        models::TinyVitAttention attention(8, 2, 3, 1e-5);
        attention->eval();
        auto generator = at::make_generator<at::CPUGeneratorImpl>(9);
        for (auto& p : attention->parameters())
            p.copy_(at::randn(p.sizes(), generator) * 0.3);
        const at::Tensor x = at::randn({2, 9, 8}, generator);
        const at::Tensor before = attention->forward(x);
        attention->attentionBiases.add_(1.5 * at::randn(attention->attentionBiases.sizes(), generator));
        const at::Tensor after = attention->forward(x);
        QVERIFY(maxAbsDiff(before, after) > 1e-3);
    }

    void relPosTablesAreInterpolatedWhenTheirLengthDiffers()
    {
        auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
        const at::Tensor table = at::randn({7, 4}, generator);
        const std::int64_t size = 6;  // needs 11 rows
        const at::Tensor ours = models::relativePositionTable(size, size, table);
        // Reference: linear interpolation with align_corners=False, src = (dst + 0.5) * in/out - 0.5.
        const std::int64_t rows = 2 * size - 1;
        at::Tensor resized = at::zeros({rows, 4});
        for (std::int64_t r = 0; r < rows; ++r) {
            double src = (r + 0.5) * 7.0 / rows - 0.5;
            if (src < 0)
                src = 0;
            const auto i0 = static_cast<std::int64_t>(src);
            const std::int64_t i1 = std::min<std::int64_t>(i0 + 1, 6);
            const double lambda = src - i0;
            resized[r] = table[i0] * (1 - lambda) + table[i1] * lambda;
        }
        for (std::int64_t i = 0; i < size; ++i)
            for (std::int64_t j = 0; j < size; ++j)
                QVERIFY(maxAbsDiff(ours[i][j], resized[i - j + size - 1]) < 1e-6);
        // Matching length: a plain gather.
        const at::Tensor exact = models::relativePositionTable(4, 4, table);
        QCOMPARE(maxAbsDiff(exact[0][3], table[0]), 0.0);
        QCOMPARE(maxAbsDiff(exact[3][0], table[6]), 0.0);
    }

    void smallTinyVitRunsFromShapesAndConfig()
    {
        const models::SamConfig c = birkhoff::test::smallTinyVitConfig();
        const io::StateDict checkpoint = randomCheckpoint(c, 11);
        const nlohmann::json overrides = {{"image_size", 128}, {"tinyvit_merge_strides", {2, 2, 1}},
                                          {"transformer_num_heads", 2}};
        const models::SamConfig inferred = models::inferSamConfig(models::shapesOf(checkpoint), &overrides, "tiny");
        QCOMPARE(inferred.tinyVit.windowSizes, (std::vector<std::int64_t>{0, 3, 5, 3}));
        QCOMPARE(inferred.tinyVit.numHeads, (std::vector<std::int64_t>{0, 2, 2, 4}));
        QCOMPARE(inferred.embeddingSize, std::int64_t(8));
        const auto model = models::buildSamModel(inferred, checkpoint, "tiny");
        const at::Tensor embedding = model->encodeImage(randomImage(inferred, 1));
        QCOMPARE(embedding.sizes().vec(), (std::vector<std::int64_t>{1, 16, 8, 8}));
        QVERIFY(at::isfinite(embedding).all().item<bool>());
        QCOMPARE(maxAbsDiff(model->encodeImage(randomImage(inferred, 1)), embedding), 0.0);  // deterministic

        models::PromptTensors prompt;
        prompt.coords = at::tensor({10.0f, 20.0f, 0.0f, 0.0f}).view({1, 2, 2});
        prompt.labels = at::tensor({1.0f, -1.0f}).view({1, 2});
        const models::DecoderOutput out = model->decode(embedding, prompt);
        QCOMPARE(out.lowResLogits.sizes().vec(), (std::vector<std::int64_t>{1, 4, 32, 32}));
        QCOMPARE(out.iouPredictions.sizes().vec(), (std::vector<std::int64_t>{1, 4}));
    }

    void compressedBackendPlugsIntoLinearLayers()
    {
        const models::SamConfig c = birkhoff::test::smallVitConfig();
        const io::StateDict dense = randomCheckpoint(c, 4);
        const auto reference = models::buildSamModel(c, dense, "dense");

        // Give two Linear layers a backend and drop their dense weights from the checkpoint.
        const std::vector<std::string> compressed = {"image_encoder.blocks.0.attn.qkv.weight",
                                                     "mask_decoder.transformer.layers.0.mlp.lin1.weight"};
        models::LinearBackendMap backends;
        std::vector<std::shared_ptr<DenseTestBackend>> handles;
        io::StateDict rest;
        for (const auto& e : dense) {
            if (std::find(compressed.begin(), compressed.end(), e.name) != compressed.end()) {
                handles.push_back(std::make_shared<DenseTestBackend>(e.tensor.clone()));
                backends[e.name] = handles.back();
            } else {
                rest.insert(e.name, e.tensor);
            }
        }
        const auto model = models::buildSamModel(c, rest, "compressed", backends);
        QCOMPARE(model->info.compressedLinearLayers, std::int64_t(2));
        const at::Tensor image = randomImage(c, 2);
        const at::Tensor a = reference->encodeImage(image);
        const at::Tensor b = model->encodeImage(image);
        QCOMPARE(maxAbsDiff(a, b), 0.0);
        models::PromptTensors prompt;
        prompt.coords = at::tensor({5.0f, 9.0f, 0.0f, 0.0f}).view({1, 2, 2});
        prompt.labels = at::tensor({1.0f, -1.0f}).view({1, 2});
        QCOMPARE(maxAbsDiff(reference->decode(a, prompt).lowResLogits, model->decode(b, prompt).lowResLogits), 0.0);
        QVERIFY(handles[0]->calls > 0 && handles[1]->calls > 0);

        models::LinearBackendMap wrong = {{"image_encoder.pos_embed", handles[0]}};
        models::SamModel other(c);
        QVERIFY(errorOf([&] { models::attachLinearBackends(other, wrong); }).contains(QStringLiteral("not the weight of a Linear")));
    }
};

BIRKHOFF_REGISTER_TEST(TestSamModels);
#include "test_sam_models.moc"
