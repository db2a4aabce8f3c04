// HyperLinear in core (core/models/hyper_linear.h): a birkhoff::models::Linear running on the
// backend equals the decode-then-linear reference path and the dense layer built from
// format::decodeTensor (relative error <= 1e-5, every CPU instruction set, odd `in`, batched
// inputs), holds only the packed index stream, rejects wrong input, and attachHyperLinear() /
// decodeRemainingTensors() turn a compressed file into a runnable model.
#include "core/bench/synthetic_weights.h"
#include "core/format/compressed_writer.h"
#include "core/models/hyper_linear.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <QDir>
#include <QTest>

#include <cstring>

using namespace birkhoff;

namespace {

double relativeError(const at::Tensor& got, const at::Tensor& expected)
{
    return (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

at::Tensor randomInput(std::vector<std::int64_t> sizes, std::uint64_t seed)
{
    at::Tensor flat = bench::samLikeLinearWeight(1, c10::multiply_integers(sizes), seed).mul_(50.f);
    return flat.view(sizes);
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
        const at::Tensor w = bench::samLikeLinearWeight(out, in, 11);
        const format::EncodedTensor encoded = bench::encodeLinearWeight("layer.weight", w);
        models::HyperLinearOptions options;
        options.cpuIsa = static_cast<kernels::CpuIsa>(isa);
        auto backend = models::HyperLinearBackend::fromEncoded(encoded, options);

        // The backend's dense weight is the format's independent decoder's, bit for bit.
        const at::Tensor decoded = format::decodeTensor(encoded);
        QVERIFY(at::equal(backend->denseWeight(), decoded));
        QVERIFY((decoded - w).abs().mean().item<double>() < 1.5e-3);  // a sane encoding

        models::Linear layer(in, out);
        layer->bias.copy_(bench::samLikeLinearWeight(1, out, 12).view({out}));
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
        const format::EncodedTensor encoded =
            bench::encodeLinearWeight("qkv.weight", bench::samLikeLinearWeight(out, in, 21));
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
        QVERIFY(QString::fromStdString(backend->describe()).contains(QStringLiteral("U=1225 K=1 12-bit")));
    }

    void rejectsWrongInput()
    {
        const format::EncodedTensor encoded = bench::encodeLinearWeight("w", bench::samLikeLinearWeight(16, 10, 31));
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
        const format::EncodedTensor encoded = bench::encodeLinearWeight("w", bench::samLikeLinearWeight(20, 9, 41));
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
        compressed.uList = {1225};
        std::uint64_t seed = 50;
        for (const auto& p : dense->named_parameters()) {
            at::Tensor value = bench::samLikeLinearWeight(1, p.value().numel(), ++seed).view(p.value().sizes());
            if (p.key() == "head.weight" || p.value().dim() == 1)
                compressed.tensors.push_back(rawTensor(p.key(), value));  // kept dense
            else
                compressed.tensors.push_back(bench::encodeLinearWeight(p.key(), value));
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

    void attachRejectsShapeMismatch()
    {
        TinyModel model;
        format::CompressedModel compressed;
        compressed.l = 0.1f;
        compressed.uList = {1225};
        compressed.tensors.push_back(
            bench::encodeLinearWeight("block.qkv.weight", bench::samLikeLinearWeight(48, 38, 70)));
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
