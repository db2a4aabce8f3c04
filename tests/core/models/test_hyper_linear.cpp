// HyperLinear in core (core/models/hyper_linear.h): a birkhoff::models::Linear running on the
// backend equals the decode-then-linear reference path and the dense layer built from
// format::decodeTensor (relative error <= 1e-5, every CPU instruction set, odd `in`, batched
// inputs), holds only the packed index stream, rejects wrong input; attachHyperLinear() /
// hyperLinearBackends() / decodeRemainingTensors() turn a compressed file into a runnable model,
// and compressed SAM models (ViT and MobileSAM's TinyViT) run end to end on HyperLinear with the
// reference path's results.
#include "core/codec/compressor.h"
#include "core/codec/tensor_encoder.h"
#include "core/format/compressed_writer.h"
#include "core/models/family.h"
#include "core/models/hyper_linear.h"
#include "core/models/sam_model.h"
#include "core/util/error.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <QDir>
#include <QTest>

#include <cstring>
#include <random>

using namespace birkhoff;

namespace {

double relativeError(const at::Tensor& got, const at::Tensor& expected)
{
    return (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

/// Deterministic N(0, scale^2) values.
at::Tensor normalTensor(std::vector<std::int64_t> sizes, float scale, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.f, scale);
    at::Tensor t = at::empty(sizes, at::kFloat);
    float* data = t.data_ptr<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        data[i] = normal(rng);
    return t;
}

at::Tensor randomInput(std::vector<std::int64_t> sizes, std::uint64_t seed)
{
    return normalTensor(std::move(sizes), 1.f, seed);
}

/// A SAM-like Linear weight (N(0, 0.02)) compressed by the codec with the paper's defaults.
format::EncodedTensor compressedLinear(const std::string& name, std::int64_t out, std::int64_t in, std::uint64_t seed)
{
    codec::TensorEncoding e = codec::encodeTensor(name, normalTensor({out, in}, 0.02f, seed),
                                                  codec::TensorRole::LinearWeight, codec::TensorSettings{});
    if (e.path != codec::StoragePath::Hyper)
        throw Error("test weight " + name + " was not compressed");
    return std::move(e.tensor);
}

/// A small model: two Linear layers in a nested block and one at the top.
struct BlockImpl : torch::nn::Module {
    BlockImpl()
    {
        qkv = register_module("qkv", models::Linear(37, 48));
        proj = register_module("proj", models::Linear(48, 37));
    }
    at::Tensor forward(const at::Tensor& x) { return proj->forward(at::gelu(qkv->forward(x))); }
    models::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(Block);

struct TinyModelImpl : torch::nn::Module {
    TinyModelImpl()
    {
        block = register_module("block", Block());
        head = register_module("head", models::Linear(37, 5));
    }
    at::Tensor forward(const at::Tensor& x) { return head->forward(block->forward(x)); }
    Block block{nullptr};
    models::Linear head{nullptr};
};
TORCH_MODULE(TinyModel);

format::EncodedTensor rawTensor(const std::string& name, const at::Tensor& t)
{
    format::EncodedTensor e;
    e.name = name;
    e.loadType = format::LoadType::Raw;
    e.raw = t;
    return e;
}

}  // namespace

class TestHyperLinearModel : public QObject {
    Q_OBJECT
private slots:
    void layerMatchesReferencePath_data()
    {
        QTest::addColumn<int>("isa");
        QTest::addColumn<qint64>("out");
        QTest::addColumn<qint64>("in");
        QTest::addColumn<qint64>("tokens");
        for (kernels::CpuIsa isa : {kernels::CpuIsa::Portable, kernels::CpuIsa::Avx2Fma, kernels::CpuIsa::Avx512}) {
            const std::string label = kernels::cpuIsaName(isa);
            const char* name = label.c_str();
            QTest::addRow("%s 2304x768 T=3x5", name) << int(isa) << qint64(2304) << qint64(768) << qint64(5);
            QTest::addRow("%s 50x77 T=3x1", name) << int(isa) << qint64(50) << qint64(77) << qint64(1);
            QTest::addRow("%s 33x300 T=3x40", name) << int(isa) << qint64(33) << qint64(300) << qint64(40);
        }
    }

    void layerMatchesReferencePath()
    {
        QFETCH(int, isa);
        QFETCH(qint64, out);
        QFETCH(qint64, in);
        QFETCH(qint64, tokens);
        const at::NoGradGuard noGrad;
        const at::Tensor w = normalTensor({out, in}, 0.02f, 11);
        const format::EncodedTensor encoded = compressedLinear("layer.weight", out, in, 11);
        models::HyperLinearOptions options;
        options.cpuIsa = static_cast<kernels::CpuIsa>(isa);
        auto backend = models::HyperLinearBackend::fromEncoded(encoded, options);

        // The backend's dense weight is the format's independent decoder's, bit for bit.
        const at::Tensor decoded = format::decodeTensor(encoded);
        QVERIFY(at::equal(backend->denseWeight(), decoded));
        QVERIFY((decoded - w).abs().mean().item<double>() < 1.5e-3);  // a sane encoding

        models::Linear layer(in, out);
        layer->bias.copy_(normalTensor({out}, 0.02f, 12));
        layer->setBackend(backend);
        QVERIFY(!layer->hasDenseWeight());
        QCOMPARE(layer->weight.numel(), 0);

        const at::Tensor x = randomInput({3, tokens, in}, 13);
        const at::Tensor y = layer->forward(x);
        QCOMPARE(y.sizes(), (at::IntArrayRef{3, tokens, out}));
        const at::Tensor reference = backend->referenceForward(x, layer->bias);
        const at::Tensor dense = at::linear(x, decoded, layer->bias);
        QVERIFY2(relativeError(y, reference) <= 1e-5, qPrintable(QString::number(relativeError(y, reference))));
        QVERIFY2(relativeError(y, dense) <= 1e-5, qPrintable(QString::number(relativeError(y, dense))));
        // Without bias too.
        QVERIFY(relativeError(backend->forward(x, at::Tensor()), at::linear(x, decoded)) <= 1e-5);
    }

    void storageIsThePackedStream()
    {
        const std::int64_t out = 2304, in = 768;
        const format::EncodedTensor encoded = compressedLinear("qkv.weight", out, in, 21);
        models::Linear layer(in, out);
        auto backend = models::HyperLinearBackend::fromEncoded(encoded);
        layer->setBackend(backend);
        layer->forward(randomInput({4, in}, 22));  // whatever is built lazily is built now
        const std::int64_t stream = out * (in / 2) * encoded.bits / 8;  // out is a multiple of 16
        QCOMPARE(backend->weight().groupedIndices().size(), std::size_t(stream));
        QCOMPARE(stream, encoded.packed.numel());  // the file's payload, re-ordered
        if (kernels::hardwareCpuIsa() == kernels::CpuIsa::Avx512) {
            QCOMPARE(layer->weightBytes(), stream);  // nothing else: no dense copy, no table
        } else {
            // The table decoders keep the decode table (U*(K+1) float pairs) besides the stream.
            const std::int64_t table = std::int64_t(encoded.U) * (encoded.K + 1) * 8;
            QCOMPARE(layer->weightBytes(), stream + table);
        }
        QVERIFY(layer->weightBytes() * 5 < out * in * 4);
        QVERIFY(QString::fromStdString(backend->describe())
                    .contains(QStringLiteral("U=%1 K=%2 %3-bit").arg(encoded.U).arg(encoded.K).arg(encoded.bits)));
    }

    void rejectsWrongInput()
    {
        const format::EncodedTensor encoded = compressedLinear("w", 16, 10, 31);
        auto backend = models::HyperLinearBackend::fromEncoded(encoded);
        QVERIFY_THROWS_EXCEPTION(Error, backend->forward(at::zeros({2, 11}), at::Tensor()));
        QVERIFY_THROWS_EXCEPTION(Error, backend->forward(at::zeros({2, 10}, at::kDouble), at::Tensor()));
        QVERIFY_THROWS_EXCEPTION(Error, backend->forward(at::zeros({2, 10}), at::zeros({15})));
        QVERIFY_THROWS_EXCEPTION(Error, models::HyperLinearBackend::fromEncoded(rawTensor("b", at::zeros({16, 10}))));
        format::EncodedTensor corrupt = encoded;
        corrupt.packed = encoded.packed.narrow(0, 0, encoded.packed.numel() - 1).clone();
        try {
            models::HyperLinearBackend::fromEncoded(corrupt);
            QFAIL("a truncated index stream was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1Char('w')), e.what());
        }
    }

    void referenceOnlyAndDeviceReport()
    {
        const format::EncodedTensor encoded = compressedLinear("w", 20, 9, 41);
        models::HyperLinearOptions options;
        options.referenceOnly = true;
        auto reference = models::HyperLinearBackend::fromEncoded(encoded, options);
        auto kernel = models::HyperLinearBackend::fromEncoded(encoded);
        const at::Tensor x = randomInput({7, 9}, 42);
        QVERIFY(relativeError(kernel->forward(x, at::Tensor()), reference->forward(x, at::Tensor())) <= 1e-5);
        QVERIFY(QString::fromStdString(reference->describe()).contains(QStringLiteral("reference path")));
        const QString describe = QString::fromStdString(kernel->describe());
        QVERIFY2(describe.contains(QStringLiteral("cpu: kernel")), qPrintable(describe));
#if !defined(BIRKHOFF_HAVE_CUDA_KERNELS)
        QVERIFY2(describe.contains(QStringLiteral("cuda: reference path (built without the CUDA kernels")),
                 qPrintable(describe));
#endif
    }

    void compressedFileRunsOnHyperLinear()
    {
        // A model's Linear weights compressed into a file, read back, attached; the other tensors
        // decoded. The model then equals the dense model built from the decoded file.
        const at::NoGradGuard noGrad;
        TinyModel dense;
        format::CompressedModel compressed;
        compressed.l = 0.1f;
        compressed.uList = {1225, 1600};
        std::uint64_t seed = 50;
        for (const auto& p : dense->named_parameters()) {
            ++seed;
            if (p.key() == "head.weight" || p.value().dim() == 1)  // kept dense
                compressed.tensors.push_back(rawTensor(p.key(), normalTensor(p.value().sizes().vec(), 0.02f, seed)));
            else
                compressed.tensors.push_back(compressedLinear(p.key(), p.value().size(0), p.value().size(1), seed));
        }
        const QString path = QDir(test::scratchDir()).filePath(QStringLiteral("tiny.safetensors"));
        format::writeCompressedModel(path.toStdString(), compressed);
        const format::CompressedModel file = format::readCompressedModel(path.toStdString());

        TinyModel hyper;
        const models::HyperLinearAttachment attachment = models::attachHyperLinear(*hyper, file);
        QCOMPARE(attachment.attached, 2);
        QCOMPARE(attachment.keptDense, 1);
        QCOMPARE(attachment.notInFile, 0);
        QCOMPARE(attachment.attachedTensors,
                 (std::vector<std::string>{"block.qkv.weight", "block.proj.weight"}));
        QVERIFY(attachment.hyperWeightBytes * 4 < attachment.denseWeightBytes);
        const io::StateDict rest = models::decodeRemainingTensors(file, attachment);
        QCOMPARE(rest.size(), file.tensors.size() - 2);
        QVERIFY(!rest.contains("block.qkv.weight"));
        for (const auto& e : rest)
            hyper->named_parameters()[e.name].copy_(e.tensor);
        QVERIFY(hyper->block->qkv->backend() != nullptr && hyper->head->hasDenseWeight());

        const io::StateDict all = format::restoreDense(file);
        for (const auto& e : all)
            dense->named_parameters()[e.name].copy_(e.tensor);
        const at::Tensor x = randomInput({2, 9, 37}, 60);
        const double error = relativeError(hyper->forward(x), dense->forward(x));
        QVERIFY2(error <= 1e-5, qPrintable(QString::number(error)));
    }

    void compressedSamRunsOnHyperLinear_data()
    {
        QTest::addColumn<bool>("tinyVit");
        QTest::newRow("vit") << false;
        QTest::newRow("mobilesam tinyvit") << true;
    }

    void compressedSamRunsOnHyperLinear()
    {
        // A small SAM / MobileSAM with SAM-like Linear weights (N(0, 0.02)), compressed by the
        // codec with the paper's defaults: the HyperLinear model equals the same model on the
        // reference path (decode, then at::linear) and the dense model restored from the file.
        QFETCH(bool, tinyVit);
        const at::NoGradGuard noGrad;
        const models::SamConfig config = tinyVit ? test::smallTinyVitConfig() : test::smallVitConfig();
        io::StateDict checkpoint = test::randomCheckpoint(config, 5);
        const models::FamilyInfo family = models::detectFamily(checkpoint);
        std::vector<codec::TensorRole> roles;
        io::StateDict samLike;
        for (const auto& e : checkpoint) {
            const models::TensorKind kind = models::tensorKind(family, checkpoint, e.name);
            const bool linear = kind == models::TensorKind::LinearWeight;
            roles.push_back(linear ? codec::TensorRole::LinearWeight
                                   : kind == models::TensorKind::Buffer ? codec::TensorRole::Buffer
                                                                        : codec::TensorRole::Parameter);
            samLike.insert(e.name, linear ? e.tensor.mul(0.2) : e.tensor);
        }
        const codec::CompressionResult result = codec::compressModel(samLike, roles, codec::CompressOptions{});
        const format::CompressedModel& file = result.model;

        const models::HyperLinearBackendMap backends = models::hyperLinearBackends(file);
        models::HyperLinearOptions referenceOptions;
        referenceOptions.referenceOnly = true;
        const models::HyperLinearBackendMap referenceBackends = models::hyperLinearBackends(file, referenceOptions);
        const io::StateDict rest = models::decodeRemainingTensors(file, backends);
        QVERIFY2(backends.size() >= 8, qPrintable(QString::number(backends.size())));
        QCOMPARE(rest.size() + backends.size(), file.tensors.size());

        const auto hyper = models::buildSamModel(config, rest, "hyper", backends);
        const auto reference = models::buildSamModel(config, rest, "reference", referenceBackends);
        const auto dense = models::buildSamModel(config, format::restoreDense(file), "dense");
        QCOMPARE(hyper->info.compressedLinearLayers, std::int64_t(backends.size()));

        const at::Tensor image = normalTensor({1, 3, config.imageSize, config.imageSize}, 1.f, 6);
        const at::Tensor embedding = hyper->encodeImage(image);
        const at::Tensor referenceEmbedding = reference->encodeImage(image);
        QVERIFY(at::isfinite(embedding).all().item<bool>());
        const double embeddingError = test::scaledDiff(embedding, referenceEmbedding);
        QVERIFY2(embeddingError <= 1e-5, qPrintable(QString::number(embeddingError)));
        QVERIFY(test::scaledDiff(embedding, dense->encodeImage(image)) <= 1e-5);

        models::PromptTensors prompt;
        prompt.coords = at::tensor({10.0f, 20.0f, 0.0f, 0.0f}).view({1, 2, 2});
        prompt.labels = at::tensor({1.0f, -1.0f}).view({1, 2});
        const models::DecoderOutput got = hyper->decode(embedding, prompt);
        const models::DecoderOutput expected = reference->decode(referenceEmbedding, prompt);
        const double logitError = test::scaledDiff(got.lowResLogits, expected.lowResLogits);
        QVERIFY2(logitError <= 1e-4, qPrintable(QString::number(logitError)));
        QVERIFY(test::scaledDiff(got.iouPredictions, expected.iouPredictions) <= 1e-4);
    }

    void attachRejectsShapeMismatch()
    {
        TinyModel model;
        format::CompressedModel compressed;
        compressed.l = 0.1f;
        compressed.uList = {1225, 1600};
        compressed.tensors.push_back(compressedLinear("block.qkv.weight", 48, 38, 70));
        try {
            models::attachHyperLinear(*model, compressed);
            QFAIL("a [48, 38] weight was attached to a [48, 37] layer");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("block.qkv.weight")), e.what());
        }
        // With a prefix, the same layer is simply not in the file.
        const auto attachment = models::attachHyperLinear(*model, compressed, {}, "model.");
        QCOMPARE(attachment.attached, 0);
        QCOMPARE(attachment.notInFile, 3);
    }
};

BIRKHOFF_REGISTER_TEST(TestHyperLinearModel);
#include "test_hyper_linear.moc"
