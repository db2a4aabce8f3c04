// The sampled compression estimate (core/codec/estimate.h) against the real compressor: with
// every weight sampled it reproduces compressModel()'s report exactly (choices, errors, bytes and
// file size); with samples it stays close (ratio, per-tensor MAE, U/K choices) on a synthetic
// SAM-like checkpoint; overrides, bad options and cancellation behave.
#include "core/bench/synthetic_checkpoint.h"
#include "core/codec/compressor.h"
#include "core/codec/estimate.h"
#include "core/util/error.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cmath>

using namespace birkhoff;

namespace {

// A small SAM-shaped checkpoint: a few Linear weights (one with an odd width), a conv, biases,
// norms and a buffer, drawn like trained weights (heavy tails exercise the rings).
std::vector<bench::SyntheticTensorSpec> smallSpec()
{
    using bench::ValueKind;
    using codec::TensorRole;
    return {
        {"blocks.0.attn.qkv.weight", {384, 128}, TensorRole::LinearWeight, ValueKind::LinearOrConvWeight},
        {"blocks.0.attn.qkv.bias", {384}, TensorRole::Parameter, ValueKind::Bias},
        {"blocks.0.mlp.lin1.weight", {512, 129}, TensorRole::LinearWeight, ValueKind::LinearOrConvWeight},
        {"blocks.0.mlp.lin2.weight", {128, 512}, TensorRole::LinearWeight, ValueKind::LinearOrConvWeight},
        {"blocks.0.norm1.weight", {128}, TensorRole::Parameter, ValueKind::NormWeight},
        {"neck.0.weight", {64, 128, 3, 3}, TensorRole::Parameter, ValueKind::LinearOrConvWeight},
        {"pos_embed", {1, 8, 8, 127}, TensorRole::Parameter, ValueKind::PosEmbed},
        {"pe.gaussian", {2, 64}, TensorRole::Buffer, ValueKind::Embedding},
        {"tiny", {3}, TensorRole::Parameter, ValueKind::Bias},
    };
}

codec::CompressOptions defaults()
{
    return codec::CompressOptions{};
}

}  // namespace

class TestEstimate : public QObject {
    Q_OBJECT
private slots:
    void fullSampleEqualsCompressor()
    {
        const auto spec = smallSpec();
        const io::StateDict sd = bench::makeSyntheticCheckpoint(spec, 7);
        const auto roles = bench::rolesOf(spec);
        codec::CompressOptions options = defaults();
        options.originalFileBytes = 123456;
        const codec::CompressionResult exact = codec::compressModel(sd, roles, options);
        const codec::CompressionEstimator estimator(sd, roles, options.originalFileBytes);
        codec::EstimateOptions all;
        all.sampleFraction = 1.0;
        const codec::CompressionReport est = estimator.estimate(options, all);
        QCOMPARE(est.tensors.size(), exact.report.tensors.size());
        for (std::size_t i = 0; i < est.tensors.size(); ++i) {
            const auto& a = est.tensors[i];
            const auto& b = exact.report.tensors[i];
            QCOMPARE(a.name, b.name);
            QCOMPARE(a.path, b.path);
            QCOMPARE(a.U, b.U);
            QCOMPARE(a.K, b.K);
            QCOMPARE(a.bitsPerIndex, b.bitsPerIndex);
            QCOMPARE(a.mae, b.mae);
            QCOMPARE(a.storedBytes, b.storedBytes);
        }
        QCOMPARE(est.compressedBytes, exact.report.compressedBytes);
        QCOMPARE(est.originalBytes, std::uint64_t{123456});
    }

    void sampledIsClose()
    {
        // Larger tensors so that sampling actually happens (exactBelowElements lowered).
        using bench::ValueKind;
        using codec::TensorRole;
        const std::vector<bench::SyntheticTensorSpec> spec = {
            {"a.qkv.weight", {1536, 256}, TensorRole::LinearWeight, ValueKind::LinearOrConvWeight},
            {"a.lin1.weight", {1024, 257}, TensorRole::LinearWeight, ValueKind::LinearOrConvWeight},
            {"a.conv.weight", {128, 64, 3, 3}, TensorRole::Parameter, ValueKind::LinearOrConvWeight},
            {"a.rel_pos", {27, 64}, TensorRole::Parameter, ValueKind::RelPos},
        };
        const io::StateDict sd = bench::makeSyntheticCheckpoint(spec, 11);
        const auto roles = bench::rolesOf(spec);
        const codec::CompressionResult exact = codec::compressModel(sd, roles, defaults());
        const codec::CompressionEstimator estimator(sd, roles, 0);
        codec::EstimateOptions sample;
        sample.sampleFraction = 0.1;
        sample.minSamplePairs = 1024;
        sample.exactBelowElements = 4096;
        QVERIFY(estimator.sampledElements(sample) < sd.elementCount() / 4);
        const codec::CompressionReport est = estimator.estimate(defaults(), sample);
        for (std::size_t i = 0; i < est.tensors.size(); ++i) {
            const auto& a = est.tensors[i];
            const auto& b = exact.report.tensors[i];
            QCOMPARE(a.path, b.path);
            QCOMPARE(a.U, b.U);
            QCOMPARE(a.K, b.K);
            if (b.mae > 0)
                QVERIFY2(std::fabs(a.mae - b.mae) <= 0.1 * b.mae,
                         qPrintable(QStringLiteral("%1: estimate %2 vs %3").arg(QString::fromStdString(a.name)).arg(a.mae).arg(b.mae)));
        }
        const double ratioError = std::fabs(est.ratio() - exact.report.ratio()) / exact.report.ratio();
        QVERIFY2(ratioError < 0.02, qPrintable(QStringLiteral("ratio %1 vs %2").arg(est.ratio()).arg(exact.report.ratio())));
    }

    void overridesApply()
    {
        const auto spec = smallSpec();
        const io::StateDict sd = bench::makeSyntheticCheckpoint(spec, 3);
        const codec::CompressionEstimator estimator(sd, bench::rolesOf(spec), 0);
        codec::CompressOptions options = defaults();
        codec::OverrideRule raw;
        raw.pattern = "blocks.0.attn.qkv.weight";
        raw.keepRaw = true;
        codec::OverrideRule ownL;
        ownL.pattern = "blocks.0.mlp.lin2.weight";
        ownL.l = 0.05f;
        codec::OverrideRule unused;
        unused.pattern = "nothing.*";
        unused.keepRaw = true;
        options.overrides = {raw, ownL, unused};
        const codec::CompressionReport est = estimator.estimate(options);
        QCOMPARE(est.tensors[0].path, codec::StoragePath::Raw);
        QVERIFY(est.tensors[3].l.has_value());
        QCOMPARE(*est.tensors[3].l, 0.05f);
        QCOMPARE(est.warnings.front(), std::string("override rule 'nothing.*' matched no tensor"));
    }

    void rejectsUnsupportedOptions()
    {
        const auto spec = smallSpec();
        const io::StateDict sd = bench::makeSyntheticCheckpoint(spec, 3);
        QVERIFY_THROWS_EXCEPTION(Error, codec::CompressionEstimator(sd, {}, 0));
        const codec::CompressionEstimator estimator(sd, bench::rolesOf(spec), 0);
        codec::CompressOptions options = defaults();
        options.autoL = true;
        QVERIFY_THROWS_EXCEPTION(Error, estimator.estimate(options));
        options = defaults();
        options.defaults.uList = {1000};
        QVERIFY_THROWS_EXCEPTION(Error, estimator.estimate(options));
        codec::EstimateOptions bad;
        bad.sampleFraction = 0;
        QVERIFY_THROWS_EXCEPTION(Error, estimator.estimate(defaults(), bad));
    }

    void cancels()
    {
        const auto spec = smallSpec();
        const io::StateDict sd = bench::makeSyntheticCheckpoint(spec, 3);
        const codec::CompressionEstimator estimator(sd, bench::rolesOf(spec), 0);
        CancelToken token;
        token.cancel();
        Progress progress;
        progress.cancel = &token;
        QVERIFY_THROWS_EXCEPTION(CancelledError, estimator.estimate(defaults(), {}, progress));
    }
};

BIRKHOFF_REGISTER_TEST(TestEstimate);
#include "test_estimate.moc"
