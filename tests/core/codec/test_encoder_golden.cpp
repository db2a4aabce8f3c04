// Our encoder against the authors' encoder on every golden tensor (cases a, c1, c2, d, e, f, g,
// s and model1): same routing, same search trail (U, K and MAE of every trial), same U, K, index
// bits and padding, the same stored indices except at near-tie pairs (where ours must be at least
// as near in exact arithmetic), and a decoded tensor within 1e-6 of the official decoder's; and
// model1 through compressModel + our writer gives the authors' hyper_model.safetensors tensor for
// tensor.
#include "core/codec/compressor.h"
#include "core/codec/tensor_encoder.h"
#include "core/format/compressed_writer.h"
#include "core/io/safetensors.h"
#include "core/format/encoded_tensor.h"
#include "kernels/decode.h"
#include "tests/core/codec/birkhoff_golden.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/Functions.h>

#include <QTest>

#include <cmath>

using namespace birkhoff;
using namespace birkhoff::codec;

namespace {

TensorSettings settingsOf(const nlohmann::json& h)
{
    TensorSettings s;
    s.l = h.at("rect_l").get<float>();
    s.uList = h.at("num_inner_list").get<std::vector<std::uint32_t>>();
    s.maxRings = h.at("class_max").get<std::uint32_t>();
    s.lossMax = h.at("loss_max").get<float>();
    s.lossHope = h.at("loss_threshold").get<float>();
    s.rawFallback = h.at("set_loss_limit").at(0).get<bool>();
    s.rawFallbackMae = h.at("set_loss_limit").at(1).get<float>();
    return s;
}

StoragePath expectedPath(const test::GoldenBirkhoffTensor& g)
{
    if (g.info.at("load_type").get<int>() != 0)
        return StoragePath::Hyper;
    const std::string routing = g.info.at("routing").get<std::string>();
    if (routing == "buffer")
        return StoragePath::Buffer;
    if (routing == "small(<10)")
        return StoragePath::Small;
    return StoragePath::Raw;
}

// Our MAE sums in double and rounds once; torch's float32 cascade sum differs by summation noise.
bool closeMae(float ours, double theirs)
{
    return std::fabs(ours - theirs) <= 1e-6 * std::fabs(theirs) + 1e-12;
}

}  // namespace

class TestEncoderGolden : public QObject {
    Q_OBJECT
private slots:
    void matchesOfficialEncoder()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/manifest.json");
        const auto cases = test::loadBirkhoffGoldenCases();
        std::int64_t indexTotal = 0, indexEqual = 0, nearTieDiffer = 0;
        int tensorCount = 0;
        double worstDecode = 0;
        for (const auto& c : cases) {
            const TensorSettings settings = settingsOf(c.hyperparameters);
            for (const auto& g : c.tensors) {
                const std::string what = c.name + "/" + g.name;
                ++tensorCount;
                EncodeHints hints;  // nothing imposed: our centroid and pad value must match theirs
                const TensorEncoding r = encodeTensor(g.name, g.input, g.role, settings, hints);
                QVERIFY2(r.path == expectedPath(g), (what + " path " + storagePathName(r.path)).c_str());
                QCOMPARE(int(r.tensor.loadType), g.info.at("load_type").get<int>());

                // The search trail: every (U, K) tried, in order, with its MAE.
                if (g.info.contains("search")) {
                    std::vector<std::tuple<std::uint32_t, std::uint32_t, double>> expected;
                    for (const auto& step : g.info.at("search")) {
                        const auto U = step.at("U").get<std::uint32_t>();
                        if (step.at("K_trials").empty())
                            expected.emplace_back(U, 0u, g.info.at("mae_official_f32").get<double>());
                        for (const auto& k : step.at("K_trials"))
                            expected.emplace_back(U, k.at("K").get<std::uint32_t>(), k.at("mae_f32").get<double>());
                    }
                    QCOMPARE(r.search.size(), expected.size());
                    for (std::size_t i = 0; i < expected.size(); ++i) {
                        QCOMPARE(r.search[i].U, std::get<0>(expected[i]));
                        QCOMPARE(r.search[i].K, std::get<1>(expected[i]));
                        QVERIFY2(closeMae(r.search[i].mae, std::get<2>(expected[i])),
                                 (what + " trial " + std::to_string(i) + ": " + std::to_string(r.search[i].mae)
                                  + " vs " + std::to_string(std::get<2>(expected[i])))
                                     .c_str());
                    }
                    QVERIFY2(closeMae(r.officialMae, g.info.at("mae_official_f32").get<double>()), what.c_str());
                }

                const at::Tensor decoded = format::decodeTensor(r.tensor);
                if (r.path != StoragePath::Hyper) {
                    QVERIFY2(decoded.equal(g.input), what.c_str());
                    continue;
                }
                const format::EncodedTensor& t = r.tensor;
                QCOMPARE(t.U, g.info.at("U").get<std::uint32_t>());
                QCOMPARE(t.K, g.info.at("K").get<std::uint32_t>());
                QCOMPARE(t.bits, g.info.at("uint_i").get<unsigned>());
                QCOMPARE(t.padBits, g.info.at("padding_bits").get<unsigned>());
                QCOMPARE(int(t.padded), g.info.at("if_padding").get<int>());
                QCOMPARE(t.packed.numel(), g.info.at("encoded_index_nbytes").get<std::int64_t>());
                QCOMPARE(t.farthest[0], g.info.at("farthest_node").at(0).get<float>());
                QCOMPARE(t.farthest[1], g.info.at("farthest_node").at(1).get<float>());
                QCOMPARE(r.innerPairs, g.info.at("n_inner").get<std::int64_t>());
                QCOMPARE(t.center[0], g.center[0]);
                QCOMPARE(t.center[1], g.center[1]);

                const at::Tensor ours = t.unpackedIndices().view({-1});
                const at::Tensor official = g.indices.to(at::kInt).contiguous().view({-1});
                const at::Tensor tie = g.nearTie.contiguous().view({-1});
                QCOMPARE(ours.numel(), official.numel());
                const at::Tensor pairs = g.pairs.defined() ? g.pairs.contiguous() : g.input.contiguous();
                const kernels::LatticeParams lattice = t.lattice();
                for (std::int64_t i = 0; i < ours.numel(); ++i) {
                    const std::int32_t a = ours.data_ptr<std::int32_t>()[i];
                    const std::int32_t b = official.data_ptr<std::int32_t>()[i];
                    ++indexTotal;
                    if (a == b) {
                        ++indexEqual;
                        continue;
                    }
                    QVERIFY2(tie.data_ptr<std::uint8_t>()[i] != 0,
                             (what + " index " + std::to_string(i) + ": " + std::to_string(a) + " vs official "
                              + std::to_string(b) + " at a pair that is not a near tie")
                                 .c_str());
                    // Same ring, so comparing the decoded pairs with the original pair compares the
                    // codebook distances (scaled by 1/f_j): ours must be at least as near.
                    const float* q = pairs.data_ptr<float>() + 2 * i;
                    float da[2], db[2];
                    kernels::decodeIndex(lattice, static_cast<std::uint32_t>(a), da);
                    kernels::decodeIndex(lattice, static_cast<std::uint32_t>(b), db);
                    QCOMPARE(std::uint32_t(a) / t.U, std::uint32_t(b) / t.U);
                    QVERIFY2(std::hypot(double(da[0]) - q[0], double(da[1]) - q[1])
                                 <= std::hypot(double(db[0]) - q[0], double(db[1]) - q[1]) + 1e-7,
                             (what + " index " + std::to_string(i) + " is farther than the official choice").c_str());
                    ++nearTieDiffer;
                }
                QCOMPARE(decoded.sizes(), g.decoded.sizes());
                const double diff = (decoded - g.decoded).abs().max().item<double>();
                worstDecode = std::max(worstDecode, diff);
                QVERIFY2(diff <= 1e-6, (what + " decoded differs by " + std::to_string(diff)).c_str());
            }
        }
        QCOMPARE(tensorCount, 74);
        qInfo("golden encoder: %d tensors; indices equal %lld / %lld (%lld near-tie differences); "
              "max |restored - official decoded| = %g",
              tensorCount, static_cast<long long>(indexEqual), static_cast<long long>(indexTotal),
              static_cast<long long>(nearTieDiffer), worstDecode);
    }

    void reproducesOfficialModelFile()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/manifest.json");
        test::GoldenBirkhoffCase model1;
        for (auto& c : test::loadBirkhoffGoldenCases())
            if (c.name == "model1")
                model1 = std::move(c);
        QVERIFY(!model1.inputFile.empty());
        const io::StateDict input = io::readSafetensors(model1.inputFile).tensors;
        std::vector<TensorRole> roles;
        for (const auto& e : input) {
            const auto it = std::find_if(model1.tensors.begin(), model1.tensors.end(),
                                         [&](const test::GoldenBirkhoffTensor& g) { return g.name == e.name; });
            QVERIFY2(it != model1.tensors.end(), e.name.c_str());
            roles.push_back(it->role);
        }
        CompressOptions options;
        options.originalFileBytes = test::loadBirkhoffManifest().at("cases").at("model1").at("torch_save_checkpoint_bytes");
        const CompressionResult r = compressModel(input, roles, options);
        QVERIFY(r.model.extensions.empty());

        const std::string ours = (test::scratchDir() + QStringLiteral("/model1_ours.safetensors")).toStdString();
        format::writeCompressedModel(ours, r.model);
        const io::SafetensorsContent a = io::readSafetensors(model1.hyperFile);
        const io::SafetensorsContent b = io::readSafetensors(ours);
        QCOMPARE(b.tensors.names(), a.tensors.names());
        for (const auto& e : a.tensors) {
            const at::Tensor& o = b.tensors.at(e.name);
            QVERIFY2(o.scalar_type() == e.tensor.scalar_type() && o.sizes() == e.tensor.sizes(), e.name.c_str());
            QVERIFY2(o.equal(e.tensor), (e.name + " differs from the official file").c_str());
        }
        // Same bytes of tensor data: only our __metadata__ makes the files differ in size.
        QCOMPARE(r.report.compressedBytes, std::uint64_t(std::filesystem::file_size(ours)));
        qInfo("model1: our file %llu bytes (official %llu), ratio %.4f (official main.py ratio %.4f)",
              static_cast<unsigned long long>(r.report.compressedBytes),
              static_cast<unsigned long long>(std::filesystem::file_size(model1.hyperFile)), r.report.ratio(),
              test::loadBirkhoffManifest().at("cases").at("model1").at("ratio_as_main_py").get<double>());
    }
};

BIRKHOFF_REGISTER_TEST(TestEncoderGolden);
#include "test_encoder_golden.moc"
