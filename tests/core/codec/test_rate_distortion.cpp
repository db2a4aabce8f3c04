// The rate-distortion codec on synthetic tensors: errors and bits per weight against the
// formulas of uniform quantization of a Gaussian (independent of the codec), constant tensors
// kept exact, the file round trip with its extensions, the target-ratio search reaching its
// target or failing with the largest reachable ratio, and bad options refused.
#include "core/codec/compressor.h"
#include "core/codec/rate_distortion.h"
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/format/tensor_record.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/core/codec/codec_test_model.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>

#include <QTest>

#include <cmath>
#include <filesystem>

using namespace birkhoff;
using namespace birkhoff::codec;

namespace {

using Model = test::CodecTestModel;

/// Rows of very different spread (row scales matter), a conv, a norm of ones, a bias.
Model syntheticModel()
{
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
    Model m;
    const at::Tensor spread = at::exp(at::linspace(std::log(0.002), std::log(0.2), 256)).unsqueeze(1);
    m.add("enc.blocks.0.fc.weight", at::normal(0.0, 1.0, {256, 512}, gen) * spread, TensorRole::LinearWeight);
    m.add("enc.blocks.0.fc.bias", at::normal(0.0, 0.01, {256}, gen), TensorRole::Parameter);
    m.add("enc.blocks.0.norm.weight", at::ones({512}), TensorRole::Parameter);
    m.add("enc.conv.weight", at::normal(0.0, 0.05, {64, 32, 3, 3}, gen), TensorRole::Parameter);
    m.add("enc.odd.weight", at::normal(0.0, 0.03, {96, 301}, gen), TensorRole::LinearWeight);
    m.add("pe.gaussian", at::normal(0.0, 1.0, {2, 16}, gen), TensorRole::Buffer);
    return m;
}

CompressOptions rdOptions(double step)
{
    CompressOptions o;
    RateDistortionOptions rd;
    rd.step = step;
    o.rateDistortion = rd;
    return o;
}

}  // namespace

class TestRateDistortion : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { configureThreads(); }

    // Uniform quantization with step D of N(0, s^2) has mean |error| D/4 and costs
    // h(N(0,1)) - log2(D) = 2.047 - log2(D) bits per weight at fine steps: per row, in each row's
    // own units, whatever its spread.
    void errorAndSizeFollowTheStep()
    {
        const Model m = syntheticModel();
        for (double step : {0.4, 0.8, 1.6}) {
            const CompressionResult r = compressModel(m.tensors, m.roles, rdOptions(step));
            const format::EncodedTensor& t = r.model.at("enc.blocks.0.fc.weight");
            QVERIFY(t.entropyCoded);
            QCOMPARE(static_cast<std::int64_t>(t.rowScale.size()), std::int64_t(256));
            QCOMPARE(t.K, 0u);
            const at::Tensor w = m.tensors.at("enc.blocks.0.fc.weight");
            const double own = step * sensitivityFactor("enc.blocks.0.fc.weight", w.numel());
            const at::Tensor decoded = format::decodeTensor(t);
            const at::Tensor rowSd = w.std(1, /*unbiased=*/false);
            const at::Tensor rowMae = (decoded - w).abs().mean(1) / rowSd;
            const double worst = rowMae.max().item<double>(), best = rowMae.min().item<double>();
            QVERIFY2(worst <= own / 4 * 1.2 && best >= own / 4 * 0.8,
                     qPrintable(QStringLiteral("step %1: row MAE / sd in [%2, %3], expected %4")
                                    .arg(own).arg(best).arg(worst).arg(own / 4)));
            const double bits = test::reportRow(r.report, "enc.blocks.0.fc.weight").bitsPerWeight;
            const double expected = 2.047 - std::log2(own);
            QVERIFY2(std::abs(bits - expected) <= 0.15,
                     qPrintable(QStringLiteral("step %1: %2 bits per weight, expected %3").arg(step).arg(bits).arg(expected)));
        }
    }

    void constantTensorsStayExact()
    {
        const Model m = syntheticModel();
        const CompressionResult r = compressModel(m.tensors, m.roles, rdOptions(0.5));
        const at::Tensor norm = format::decodeTensor(r.model.at("enc.blocks.0.norm.weight"));
        QVERIFY2((norm - 1).abs().max().item<double>() < 1e-5, "a norm of ones must stay ones");
        QVERIFY(!r.model.at("pe.gaussian").isEncoded());
    }

    void fileRoundTripKeepsEverything()
    {
        const Model m = syntheticModel();
        const CompressionResult r = compressModel(m.tensors, m.roles, rdOptions(0.3));
        for (const char* e : {format::extension::kRowScale, format::extension::kEntropyCoded,
                              format::extension::kRateDistortion}) {
            const auto meta = format::compressedFileMetadata(r.model);
            bool listed = false;
            for (const auto& kv : meta)
                if (kv.first == format::kMetaExtensions && kv.second.find(e) != std::string::npos)
                    listed = true;
            QVERIFY2(listed, e);
        }
        const std::filesystem::path path = (birkhoff::test::scratchDir() + QStringLiteral("/rd.safetensors")).toStdString();
        format::writeCompressedModel(path, r.model);
        QCOMPARE(static_cast<std::uint64_t>(std::filesystem::file_size(path)), r.report.compressedBytes);
        const format::CompressedModel back = format::readCompressedModel(path);
        QCOMPARE(back.tensors.size(), r.model.tensors.size());
        for (std::size_t i = 0; i < back.tensors.size(); ++i) {
            const auto& a = r.model.tensors[i];
            const auto& b = back.tensors[i];
            QCOMPARE(b.name, a.name);
            QCOMPARE(b.entropyCoded, a.entropyCoded);
            QVERIFY(b.rowScale == a.rowScale);
            QVERIFY(at::equal(format::decodeTensor(a), format::decodeTensor(b)));
        }
        // The entropy-coded file is smaller than the same indices stored fixed-width.
        format::CompressedModel fixed = r.model;
        for (auto& t : fixed.tensors)
            t.entropyCoded = false;
        QVERIFY(format::compressedFileSize(fixed) > r.report.compressedBytes);
    }

    void corruptRecordsAreRefused()
    {
        const Model m = syntheticModel();
        const CompressionResult r = compressModel(m.tensors, m.roles, rdOptions(0.8));
        const format::EncodedTensor& t = r.model.at("enc.conv.weight");
        const std::vector<std::uint8_t> record = format::encodeTensorRecord(t);
        auto asTensor = [](const std::vector<std::uint8_t>& bytes) {
            at::Tensor out = at::empty({static_cast<std::int64_t>(bytes.size())}, at::kByte);
            std::copy(bytes.begin(), bytes.end(), out.data_ptr<std::uint8_t>());
            return out;
        };
        QCOMPARE(format::tensorRecordU(asTensor(record), t.name, "test"), t.U);
        const std::vector<std::uint32_t> uList{t.U};
        const io::StateDict whole = format::expandTensorRecord(asTensor(record), t.name, "test", uList);
        QVERIFY(whole.find(t.name + ".encoded_index_rc") != nullptr);
        QVERIFY_THROWS_EXCEPTION(Error, format::expandTensorRecord(asTensor(record), t.name, "test", {t.U + 1}));
        // Header fields: 2 + 5 + 4 + 20 + 1 + 4 * 8 + 4 bytes, then 64 row scales of 2 bytes.
        const std::size_t headerBytes = 68 + 2 * 64;
        for (std::size_t cut = 0; cut < headerBytes; cut += 7) {
            std::vector<std::uint8_t> shortRecord(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(cut));
            QVERIFY_THROWS_EXCEPTION(Error, format::expandTensorRecord(asTensor(shortRecord), t.name, "test", uList));
        }
        std::vector<std::uint8_t> bad = record;
        bad[0] = 'X';
        QVERIFY_THROWS_EXCEPTION(Error, format::expandTensorRecord(asTensor(bad), t.name, "test", uList));
        bad = record;
        bad[2] = 99;  // version
        QVERIFY_THROWS_EXCEPTION(Error, format::expandTensorRecord(asTensor(bad), t.name, "test", uList));
        // A cut inside the range-coded indices is caught when the file is read.
        const std::filesystem::path path = (birkhoff::test::scratchDir() + QStringLiteral("/cut.safetensors")).toStdString();
        format::CompressedModel cut = r.model;
        format::writeCompressedModel(path, cut);
        io::SafetensorsContent content = io::readSafetensors(path);
        at::Tensor stored = content.tensors.at(t.name + ".record");
        content.tensors.insertOrAssign(t.name + ".record", stored.narrow(0, 0, stored.numel() - 40).clone());
        QVERIFY_THROWS_EXCEPTION(Error, format::parseCompressedModel(content, "cut.safetensors"));
    }

    void targetRatioIsReachedOrRefused()
    {
        const Model m = syntheticModel();
        const std::uint64_t original = io::safetensorsFileSize(m.tensors);
        for (double target : {4.0, 6.0, 9.0}) {
            CompressOptions o;
            RateDistortionOptions rd;
            rd.targetRatio = target;
            o.rateDistortion = rd;
            o.originalFileBytes = original;
            const CompressionResult r = compressModel(m.tensors, m.roles, o);
            QVERIFY2(r.report.ratio() >= target && r.report.ratio() <= target * 1.05,
                     qPrintable(QStringLiteral("target %1: reached %2").arg(target).arg(r.report.ratio())));
        }
        CompressOptions o;
        RateDistortionOptions rd;
        rd.targetRatio = 1000.0;
        o.rateDistortion = rd;
        o.originalFileBytes = original;
        try {
            compressModel(m.tensors, m.roles, o);
            QFAIL("a ratio of 1000 cannot be reached with this header");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("largest ratio") != std::string::npos, e.what());
        }
    }

    void badOptionsAreRefused()
    {
        const Model m = syntheticModel();
        for (double step : {0.0, -1.0, std::nan(""), 1e9})
            QVERIFY_THROWS_EXCEPTION(Error, compressModel(m.tensors, m.roles, rdOptions(step)));
        CompressOptions withAutoL = rdOptions(0.3);
        withAutoL.autoL = true;
        QVERIFY_THROWS_EXCEPTION(Error, compressModel(m.tensors, m.roles, withAutoL));
    }

    void stepsGrowWithTheSquareRootOfTheSize()
    {
        const double big = sensitivityFactor("image_encoder.layers.0.blocks.0.mlp.fc1.weight", 1 << 20);
        QCOMPARE(big, 1.0);
        QCOMPARE(sensitivityFactor("mask_decoder.transformer.layers.0.mlp.lin1.weight", 1 << 18), 0.5);
        QCOMPARE(sensitivityFactor("image_encoder.patch_embed.proj.weight", 1 << 20), 0.5);
        QCOMPARE(sensitivityFactor("image_encoder.neck.0.weight", 1 << 18), 0.25);
        QCOMPARE(sensitivityFactor("mask_decoder.iou_token.weight", 1), 1.0 / 512);
    }
};

BIRKHOFF_REGISTER_TEST(TestRateDistortion);
#include "test_rate_distortion.moc"
