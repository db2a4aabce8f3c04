// Our reader on the authors' hyper_model.safetensors files: every golden tensor has the official
// routing, U, K, bits and padding, the official indices, and decodes within 1e-6 of the official
// decoder; writing a model read from their file reproduces their keys, dtypes, shapes and bytes.
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/io/safetensors.h"
#include "tests/core/codec/birkhoff_golden.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/Functions.h>

#include <QTest>

using namespace birkhoff;
using namespace birkhoff::format;

namespace {

std::vector<std::int64_t> shapeOf(const nlohmann::json& j)
{
    return j.get<std::vector<std::int64_t>>();
}

}  // namespace

class TestCompressedFormatGolden : public QObject {
    Q_OBJECT
private slots:
    void readsAndDecodesOfficialFiles()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/manifest.json");
        const auto cases = test::loadBirkhoffGoldenCases();
        QCOMPARE(cases.size(), std::size_t(9));
        int tensors = 0, encoded = 0;
        double worst = 0;
        for (const auto& c : cases) {
            const CompressedModel model = readCompressedModel(c.hyperFile);
            QCOMPARE(model.l, 0.1f);
            QCOMPARE(model.uList, (std::vector<std::uint32_t>{1225, 1600}));
            QVERIFY(model.extensions.empty());
            QCOMPARE(model.tensors.size(), c.tensors.size());
            for (const auto& g : c.tensors) {
                const std::string what = c.name + "/" + g.name;
                const EncodedTensor& t = model.at(g.name);
                QCOMPARE(int(t.loadType), g.info.at("load_type").get<int>());
                ++tensors;
                if (!t.isEncoded()) {
                    QCOMPARE(t.loadTypeIsVector, !g.info.at("load_type_shape").empty());
                    QVERIFY2(decodeTensor(t).equal(g.input), what.c_str());
                    continue;
                }
                ++encoded;
                QCOMPARE(t.U, g.info.at("U").get<std::uint32_t>());
                QCOMPARE(int(t.uPosition), g.info.at("U_pos").get<int>());
                QCOMPARE(t.K, g.info.at("K").get<std::uint32_t>());
                QCOMPARE(t.bits, g.info.at("uint_i").get<unsigned>());
                QCOMPARE(t.padBits, g.info.at("padding_bits").get<unsigned>());
                QCOMPARE(int(t.padded), g.info.at("if_padding").get<int>());
                QCOMPARE(t.shape, shapeOf(g.info.at("original_shape")));
                QCOMPARE(t.center[0], g.center[0]);
                QCOMPARE(t.center[1], g.center[1]);
                const at::Tensor idx = t.unpackedIndices();
                QVERIFY2(idx.equal(g.indices.to(at::kInt).view(idx.sizes())), what.c_str());
                const at::Tensor decoded = decodeTensor(t);
                QCOMPARE(decoded.sizes(), g.decoded.sizes());
                const double diff = (decoded - g.decoded).abs().max().item<double>();
                worst = std::max(worst, diff);
                QVERIFY2(diff <= 1e-6, (what + " max diff " + std::to_string(diff)).c_str());
            }
        }
        qInfo("golden hyper files: %d tensors (%d encoded) read; max |decoded - official| = %g", tensors,
              encoded, worst);
    }

    void restoresModelInOfficialOrderOfNames()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/model1/hyper_model.safetensors");
        const CompressedModel model =
            readCompressedModel(test::goldenPath(QStringLiteral("birkhoff/model1/hyper_model.safetensors")).toStdString());
        const io::StateDict dense = restoreDense(model);
        const io::StateDict official =
            io::readSafetensors(test::goldenPath(QStringLiteral("birkhoff/model1/decoded_standard.safetensors")).toStdString())
                .tensors;
        const io::StateDict input =
            io::readSafetensors(test::goldenPath(QStringLiteral("birkhoff/model1/input_state_dict.safetensors")).toStdString())
                .tensors;
        QCOMPARE(dense.size(), input.size());
        for (const auto& e : dense) {
            QVERIFY2(input.contains(e.name), e.name.c_str());
            const at::Tensor& ref = official.at(e.name);
            QCOMPARE(e.tensor.sizes(), ref.sizes());
            QVERIFY2((e.tensor.to(at::kFloat) - ref.to(at::kFloat)).abs().max().item<double>() <= 1e-6, e.name.c_str());
        }
        // Natural order: block 0 before block 1, and so on.
        const auto names = dense.names();
        const auto pos = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
        QVERIFY(pos("image_encoder.blocks.0.norm1.weight") < pos("image_encoder.blocks.1.norm1.weight"));
    }

    void writerReproducesOfficialLayoutAndBytes()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/model1/hyper_model.safetensors");
        const std::string theirs = test::goldenPath(QStringLiteral("birkhoff/model1/hyper_model.safetensors")).toStdString();
        const CompressedModel model = readCompressedModel(theirs);
        const std::string ours = (test::scratchDir() + QStringLiteral("/model1_rewritten.safetensors")).toStdString();
        writeCompressedModel(ours, model);
        QCOMPARE(std::uint64_t(std::filesystem::file_size(ours)), compressedFileSize(model));

        const io::SafetensorsContent a = io::readSafetensors(theirs);
        const io::SafetensorsContent b = io::readSafetensors(ours);
        QCOMPARE(b.tensors.names(), a.tensors.names());  // same keys in the same (dtype, name) order
        for (const auto& e : a.tensors) {
            const at::Tensor& o = b.tensors.at(e.name);
            QVERIFY2(o.scalar_type() == e.tensor.scalar_type(), e.name.c_str());
            QVERIFY2(o.sizes() == e.tensor.sizes(), e.name.c_str());
            QVERIFY2(o.equal(e.tensor), e.name.c_str());
        }
        QVERIFY(a.metadata.empty());
        bool tagged = false;
        for (const auto& kv : b.metadata)
            tagged = tagged || (kv.first == kMetaFormat && kv.second == kFormatTag);
        QVERIFY(tagged);

        // Our file keeps the checkpoint order through its metadata.
        const CompressedModel again = readCompressedModel(ours);
        QCOMPARE(again.tensors.size(), model.tensors.size());
        for (std::size_t i = 0; i < model.tensors.size(); ++i)
            QCOMPARE(again.tensors[i].name, model.tensors[i].name);
    }
};

BIRKHOFF_REGISTER_TEST(TestCompressedFormatGolden);
#include "test_compressed_format_golden.moc"
