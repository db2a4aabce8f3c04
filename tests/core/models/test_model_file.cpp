// core's one entry point for model files (core/models/model_file.h, core/io/model_file_kind.h):
//   - file kinds by content: a compressed file is Compressed whatever its name; checkpoints
//     (.pth zip, safetensors), a safetensors file with only one of the two global keys, garbage,
//     a directory and a missing file are Checkpoint;
//   - SAM 2 (whose checkpoint holds Linear-shaped video-memory weights the image model does not
//     run): the file written from a compression opens runnable on HyperLinear, and the same
//     compression kept in memory (compressedModelFile, what the studio runs) computes exactly what
//     the file's model computes (same decoded tensors, same kernels: bit-identical logits);
//   - checkCompressedMatches accepts a compression of the same layout (other weights) and refuses
//     another family or another layout of the same family with a message naming both files;
//   - a layout that cannot run still opens (compressible), and loadSamModel reports why it cannot.
#include "core/codec/compressor.h"
#include "core/format/compressed_writer.h"
#include "core/io/checkpoint.h"
#include "core/io/model_file_kind.h"
#include "core/io/safetensors.h"
#include "core/models/model_file.h"
#include "core/predict/predictor.h"
#include "core/util/error.h"
#include "tests/core/models/family_test_support.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>

#include <QDir>
#include <QTest>

#include <fstream>

using namespace birkhoff;
using birkhoff::test::FamilyCase;

namespace {

std::filesystem::path caseDir(const QString& name)
{
    const QString dir = birkhoff::test::scratchDir() + QLatin1Char('/') + name;
    QDir().mkpath(dir);
    return dir.toStdString();
}

/// `family`'s random checkpoint as safetensors with its config.json, in scratch/<name>.
std::filesystem::path writeCheckpoint(const FamilyCase& family, const QString& name, std::uint64_t seed)
{
    const std::filesystem::path dir = caseDir(name);
    io::writeSafetensors(dir / "model.safetensors", test::randomCheckpoint(family.config, seed));
    std::ofstream(dir / "config.json") << family.configJson.dump(1);
    return dir / "model.safetensors";
}

/// The compressed file of `checkpoint` (paper defaults) beside it.
std::filesystem::path writeCompressed(const models::ModelFile& checkpoint, const std::string& fileName)
{
    const codec::CompressionResult result = codec::compressModel(checkpoint.tensors, checkpoint.roles.roles, {});
    const std::filesystem::path path = checkpoint.path.parent_path() / fileName;
    format::writeCompressedModel(path, result.model);
    return path;
}

/// Every mask token's low-res logits of `model` on a fixed random image and one click.
at::Tensor logitsOf(const std::shared_ptr<const models::SamModel>& model)
{
    at::manual_seed(3);
    const at::Tensor pixels = at::randint(0, 256, {40, 56, 3}, at::kByte).contiguous();
    const cv::Mat image(40, 56, CV_8UC3, pixels.data_ptr<std::uint8_t>());
    predict::SamPredictor predictor(model);
    predictor.setImage(image);
    predict::Prompt prompt;
    prompt.points = {{20.0, 15.0, 1}};
    predict::PredictOptions options;
    options.output = predict::MaskOutput::AllTokens;
    return predictor.predict(prompt, options).lowResLogits;
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

class TestModelFile : public QObject {
    Q_OBJECT
private slots:
    void kindsAreReadFromTheContent()
    {
        const FamilyCase family = test::samVitCase();
        const std::filesystem::path checkpoint = writeCheckpoint(family, QStringLiteral("kinds"), 1);
        QCOMPARE(io::detectModelFileKind(checkpoint), io::ModelFileKind::Checkpoint);
        const models::ModelFile opened = models::openModelFile(checkpoint, [] {
            models::OpenModelOptions o;
            o.buildModel = false;
            return o;
        }());
        QVERIFY(!opened.model);
        QCOMPARE(opened.runtime, std::string("not built"));
        QVERIFY(opened.cannotRun.find("not built") != std::string::npos);
        const std::filesystem::path compressed = writeCompressed(opened, "named_like_a.pth");
        QCOMPARE(io::detectModelFileKind(compressed), io::ModelFileKind::Compressed);

        const std::filesystem::path dir = checkpoint.parent_path();
        io::saveCheckpoint(dir / "zip.pth", opened.tensors);
        QCOMPARE(io::detectModelFileKind(dir / "zip.pth"), io::ModelFileKind::Checkpoint);
        io::StateDict halfCompressed;
        halfCompressed.insert("rect_l", at::ones({1}));
        io::writeSafetensors(dir / "half.safetensors", halfCompressed);
        QCOMPARE(io::detectModelFileKind(dir / "half.safetensors"), io::ModelFileKind::Checkpoint);
        std::ofstream(dir / "garbage.safetensors") << "\xff\xff\xff\xff\xff\xff\xff\x7f{not json";
        QCOMPARE(io::detectModelFileKind(dir / "garbage.safetensors"), io::ModelFileKind::Checkpoint);
        QCOMPARE(io::detectModelFileKind(dir), io::ModelFileKind::Checkpoint);
        QCOMPARE(io::detectModelFileKind(dir / "missing.safetensors"), io::ModelFileKind::Checkpoint);
    }

    void sam2CompressedInMemoryRunsAsItsFile()
    {
        const FamilyCase family = test::sam2Case();
        const models::ModelFile original =
            models::openModelFile(writeCheckpoint(family, QStringLiteral("sam2"), 2));
        QVERIFY2(original.model, original.cannotRun.c_str());
        QCOMPARE(original.runtime, std::string("dense float32"));
        // The checkpoint holds Linear weights of the video memory that the image model does not run.
        QVERIFY(original.shapes.count("memory_attention.layers.0.self_attn.q_proj.weight"));

        codec::CompressionResult result = codec::compressModel(original.tensors, original.roles.roles, {});
        const std::filesystem::path path = original.path.parent_path() / "compressed.safetensors";
        format::writeCompressedModel(path, result.model);
        const models::ModelFile inMemory =
            models::compressedModelFile(original, std::move(result.model), result.report.compressedBytes);
        QVERIFY2(inMemory.model, inMemory.cannotRun.c_str());
        QCOMPARE(inMemory.fileBytes, static_cast<std::uint64_t>(std::filesystem::file_size(path)));

        const models::ModelFile file = models::openModelFile(path);
        QCOMPARE(file.kind, io::ModelFileKind::Compressed);
        QVERIFY2(file.model, file.cannotRun.c_str());
        QVERIFY2(file.runtime.rfind("HyperLinear on ", 0) == 0, file.runtime.c_str());
        QCOMPARE(inMemory.runtime, file.runtime);
        QCOMPARE(file.family.displayName, original.family.displayName);
        QCOMPARE(file.tensorCount, original.tensorCount);
        QCOMPARE(file.parameterCount, original.parameterCount);
        QVERIFY(file.model->info.compressedLinearLayers > 0);
        QCOMPARE(inMemory.model->info.compressedLinearLayers, file.model->info.compressedLinearLayers);
        QVERIFY(at::equal(logitsOf(inMemory.model), logitsOf(file.model)));
        models::checkCompressedMatches(original, file);
    }

    void anotherModelIsRefused()
    {
        models::OpenModelOptions noModel;
        noModel.buildModel = false;
        const models::ModelFile original =
            models::openModelFile(writeCheckpoint(test::samVitCase(), QStringLiteral("match_vit"), 3), noModel);
        const auto compressedOf = [&](const FamilyCase& family, const QString& name, std::uint64_t seed) {
            const models::ModelFile checkpoint = models::openModelFile(writeCheckpoint(family, name, seed), noModel);
            return models::openModelFile(writeCompressed(checkpoint, "compressed.safetensors"), noModel);
        };

        // Other weights, same layout: accepted.
        models::checkCompressedMatches(original, compressedOf(test::samVitCase(), QStringLiteral("match_vit_other"), 4));

        const models::ModelFile mobile = compressedOf(test::mobileSamCase(), QStringLiteral("match_mobile"), 5);
        const QString family = errorOf([&] { models::checkCompressedMatches(original, mobile); });
        qInfo("another family: %s", qPrintable(family));
        QVERIFY2(family.contains(QString::fromStdString(mobile.family.displayName)) &&
                     family.contains(QString::fromStdString(original.family.displayName)) &&
                     family.contains(QString::fromStdString(mobile.path.string())) &&
                     family.contains(QString::fromStdString(original.path.string())),
                 qPrintable(family));

        const models::ModelFile slim = compressedOf(test::slimSamCase(), QStringLiteral("match_slim"), 6);
        const QString layout = errorOf([&] { models::checkCompressedMatches(original, slim); });
        qInfo("another layout: %s", qPrintable(layout));
        QVERIFY2(layout.contains(QStringLiteral("tensors differ")) && layout.contains(QStringLiteral("compressed.safetensors")),
                 qPrintable(layout));
    }

    void layoutThatCannotRunStillOpens()
    {
        const std::filesystem::path path = caseDir(QStringLiteral("generic")) / "generic.safetensors";
        io::StateDict tensors;
        tensors.insert("layers.0.fc.weight", at::randn({16, 16}));
        tensors.insert("layers.0.fc.bias", at::randn({16}));
        io::writeSafetensors(path, tensors);
        const models::ModelFile file = models::openModelFile(path);
        QVERIFY(!file.model);
        QVERIFY(!file.cannotRun.empty());
        QCOMPARE(file.runtime, std::string("cannot run"));
        QCOMPARE(file.roles.linearWeights, std::int64_t(1));
        QCOMPARE(file.tensorCount, std::size_t(2));
        QCOMPARE(errorOf([&] { models::loadSamModel(path); }), QString::fromStdString(file.cannotRun));
    }
};

BIRKHOFF_REGISTER_TEST(TestModelFile);
#include "test_model_file.moc"
