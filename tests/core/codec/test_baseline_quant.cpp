// The baseline codecs (rtn, hqq): the round-to-nearest error bound |w - q(w)| <= s/2 and the
// scale rule checked element by element against values the test computes itself, the packed
// codes read back with an independent bit reader, HQQ's solver never ending worse than min/max
// rounding in its own l_p objective, small and integer tensors kept, per-channel fallback, bits
// refused, the file size equal to packed bits + fp16 scales + kept tensors + header, parse
// errors, and a quantized golden tiny SAM that loads through models::loadSamModel and runs.
#include "core/codec/baseline_quant.h"
#include "core/eval/sam_eval_model.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/models/sam_model.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Half.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace birkhoff;
using namespace birkhoff::codec;

namespace {

/// Code i of a stream of `bits`-bit codes packed MSB first after (8 - n bits % 8) % 8 zero bits.
std::uint32_t readCode(const at::Tensor& packed, std::int64_t count, unsigned bits, std::int64_t i)
{
    const std::int64_t pad = (8 - (count * bits) % 8) % 8;
    const std::uint8_t* bytes = packed.data_ptr<std::uint8_t>();
    std::uint32_t code = 0;
    for (unsigned b = 0; b < bits; ++b) {
        const std::int64_t bit = pad + i * bits + b;
        code = (code << 1) | ((bytes[bit / 8] >> (7 - bit % 8)) & 1u);
    }
    return code;
}

/// Normal weights with a few large outliers, deterministic.
at::Tensor testWeights(std::int64_t rows, std::int64_t cols, std::uint64_t seed)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    at::Tensor w = at::randn({rows, cols}, generator) * 0.05;
    w.view({-1}).index_fill_(0, at::arange(0, rows * cols, 97), 0.6);
    return w;
}

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(test::scratchDir().toStdString()) / "baseline";
    fs::create_directories(dir);
    return dir / name;
}

double lpError(const float* w, const float* r, std::int64_t n)
{
    double loss = 0;
    for (std::int64_t i = 0; i < n; ++i)
        loss += std::pow(std::fabs(static_cast<double>(w[i]) - static_cast<double>(r[i])), 0.7);
    return loss;
}

}  // namespace

class TestBaselineQuant : public QObject {
    Q_OBJECT

private slots:
    void rtnErrorBoundScalesAndPacking()
    {
        const at::Tensor w = testWeights(24, 256, 1);
        const float* wp = w.data_ptr<float>();
        for (const unsigned bits : {2u, 3u, 4u, 6u, 8u}) {
            for (const std::int64_t group : {std::int64_t{32}, std::int64_t{64}, std::int64_t{128}, std::int64_t{0}}) {
                const BaselineSettings settings{BaselineCodec::Rtn, bits, group};
                const BaselineTensor q = quantizeTensor("w", w, settings);
                const std::int64_t g = group ? group : 256;
                QCOMPARE(q.groupSize, g);
                QCOMPARE(q.packed.numel(), (w.numel() * bits + 7) / 8);
                QCOMPARE(q.scales.numel(), w.numel() / g);
                const at::Tensor restored = dequantizeTensor(q, settings);
                const float* rp = restored.data_ptr<float>();
                const int qmax = (1 << (bits - 1)) - 1;
                const c10::Half* scales = q.scales.data_ptr<c10::Half>();
                for (std::int64_t k = 0; k < w.numel() / g; ++k) {
                    float absmax = 0;
                    for (std::int64_t i = k * g; i < (k + 1) * g; ++i)
                        absmax = std::max(absmax, std::fabs(wp[i]));
                    const float s = static_cast<float>(scales[k]);
                    // The scale is absmax / qmax rounded up to fp16: covers absmax, at most one fp16 step above.
                    QVERIFY2(s * qmax >= absmax, qPrintable(QStringLiteral("bits %1 group %2").arg(bits).arg(k)));
                    QVERIFY(s <= absmax / qmax * (1.0f + 1.0f / 512.0f));
                    for (std::int64_t i = k * g; i < (k + 1) * g; ++i) {
                        const std::uint32_t code = readCode(q.packed, w.numel(), bits, i);
                        const long expected = std::lround(std::nearbyint(wp[i] / s)) + qmax;
                        QCOMPARE(static_cast<long>(code), expected);
                        QCOMPARE(rp[i], (static_cast<float>(code) - static_cast<float>(qmax)) * s);
                        QVERIFY2(std::fabs(wp[i] - rp[i]) <= s / 2 * (1 + 1e-6f),
                                 qPrintable(QStringLiteral("bits %1 element %2: |%3 - %4| > %5 / 2")
                                                .arg(bits)
                                                .arg(i)
                                                .arg(wp[i])
                                                .arg(rp[i])
                                                .arg(s)));
                    }
                }
            }
        }
    }

    void hqqNeverWorseThanMinMaxRounding()
    {
        auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
        // Laplacian-like weights: HQQ's target case (heavy tails).
        const at::Tensor u = at::rand({16, 128}, generator) - 0.5;
        const at::Tensor w = (-at::sign(u) * at::log1p(-2 * u.abs()) * 0.02).to(at::kFloat).contiguous();
        const float* wp = w.data_ptr<float>();
        for (const unsigned bits : {2u, 3u, 4u}) {
            const BaselineSettings settings{BaselineCodec::Hqq, bits, 64};
            const BaselineTensor q = quantizeTensor("w", w, settings);
            QCOMPARE(q.zeros.numel(), w.numel() / 64);
            const at::Tensor restored = dequantizeTensor(q, settings);
            const float* rp = restored.data_ptr<float>();
            const int qmax = (1 << bits) - 1;
            double totalHqq = 0, totalMinMax = 0;
            for (std::int64_t k = 0; k < w.numel() / 64; ++k) {
                const float* wg = wp + k * 64;
                const float lo = *std::min_element(wg, wg + 64), hi = *std::max_element(wg, wg + 64);
                const float s = static_cast<float>(q.scales.data_ptr<c10::Half>()[k]);
                const float z = static_cast<float>(q.zeros.data_ptr<c10::Half>()[k]);
                QCOMPARE(s, static_cast<float>(c10::Half((hi - lo) / qmax)));
                // Min/max rounding with the same fp16 scale and the fp16 zero -lo / s.
                const float z0 = static_cast<float>(c10::Half(-lo / s));
                std::vector<float> minMax(64);
                for (int i = 0; i < 64; ++i) {
                    const float code = std::clamp(std::nearbyint(wg[i] / s + z0), 0.0f, static_cast<float>(qmax));
                    minMax[i] = (code - z0) * s;
                    const std::uint32_t stored = readCode(q.packed, w.numel(), bits, k * 64 + i);
                    QVERIFY(stored <= static_cast<std::uint32_t>(qmax));
                    QCOMPARE(rp[k * 64 + i], (static_cast<float>(stored) - z) * s);
                }
                const double hqq = lpError(wg, rp + k * 64, 64), minMaxError = lpError(wg, minMax.data(), 64);
                QVERIFY2(hqq <= minMaxError * (1 + 1e-9), qPrintable(QStringLiteral("group %1: %2 > %3").arg(k).arg(hqq).arg(minMaxError)));
                totalHqq += hqq;
                totalMinMax += minMaxError;
            }
            qInfo("hqq int%u: l0.7 error %.4f vs min/max rounding %.4f", bits, totalHqq, totalMinMax);
        }
    }

    void modelKeepsSmallTensorsAndFallsBackPerChannel()
    {
        io::StateDict dict;
        dict.insert("a.weight", testWeights(64, 128, 2));                       // quantized, g64
        dict.insert("b.weight", testWeights(32, 200, 3));                       // 200 % 64 != 0: per channel
        dict.insert("c.weight", at::ones({4095}));                              // below 4096 elements: kept
        dict.insert("d.index", at::arange(0, 5000, at::kLong));                 // not floating: kept
        const BaselineModel model = quantizeModel(dict, {BaselineCodec::Rtn, 4, 64});
        QCOMPARE(model.tensors.size(), std::size_t{4});
        QVERIFY(model.tensors[0].quantized);
        QCOMPARE(model.tensors[0].groupSize, std::int64_t{64});
        QVERIFY(model.tensors[1].quantized);
        QCOMPARE(model.tensors[1].groupSize, std::int64_t{200});
        QVERIFY(!model.tensors[2].quantized);
        QVERIFY(!model.tensors[3].quantized);
        QCOMPARE(model.notes.size(), std::size_t{1});
        QVERIFY(QString::fromStdString(model.notes[0]).contains(QStringLiteral("b.weight")));
        QVERIFY(QString::fromStdString(model.notes[0]).contains(QStringLiteral("per output channel")));
        const io::StateDict restored = dequantizeModel(model);
        QVERIFY(at::equal(restored.at("c.weight"), dict.at("c.weight")));
        QVERIFY(at::equal(restored.at("d.index"), dict.at("d.index")));
    }

    void refusesBadSettings()
    {
        io::StateDict dict;
        dict.insert("a.weight", testWeights(64, 128, 2));
        for (const unsigned bits : {0u, 1u, 9u, 16u}) {
            try {
                quantizeModel(dict, {BaselineCodec::Rtn, bits, 64});
                QFAIL("bits outside 2..8 accepted");
            } catch (const Error& e) {
                QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("outside 2..8")), e.what());
            }
        }
        QVERIFY_THROWS_EXCEPTION(Error, quantizeModel(dict, {BaselineCodec::Rtn, 4, -1}));
        QVERIFY_THROWS_EXCEPTION(Error, parseBaselineCodec("gptq"));
        io::StateDict bad;
        at::Tensor w = testWeights(64, 128, 2);
        w[3][5] = std::numeric_limits<float>::quiet_NaN();
        bad.insert("nan.weight", w);
        QVERIFY_THROWS_EXCEPTION(Error, quantizeModel(bad, {BaselineCodec::Hqq, 4, 64}));
    }

    void fileSizeIsPackedBitsPlusScales_data()
    {
        QTest::addColumn<int>("codec");
        QTest::newRow("rtn") << static_cast<int>(BaselineCodec::Rtn);
        QTest::newRow("hqq") << static_cast<int>(BaselineCodec::Hqq);
    }
    void fileSizeIsPackedBitsPlusScales()
    {
        QFETCH(int, codec);
        io::StateDict dict;
        dict.insert("a.weight", testWeights(64, 96, 4));   // 6144 elements, g32: 192 groups
        dict.insert("a.bias", at::ones({64}));               // kept, 256 bytes
        dict.insert("b.weight", testWeights(50, 100, 6));  // 5000 elements, 100 % 32 != 0: 50 groups
        const BaselineModel model = quantizeModel(dict, {static_cast<BaselineCodec>(codec), 3, 32});
        const fs::path path = scratch(std::string("model_") + baselineCodecName(static_cast<BaselineCodec>(codec)) + ".safetensors");
        writeBaselineModel(path, model);
        const std::uint64_t size = fs::file_size(path);
        QCOMPARE(size, baselineFileSize(model));
        // safetensors: 8-byte header length, the JSON header, then the data.
        std::ifstream in(path, std::ios::binary);
        std::uint64_t headerBytes = 0;
        in.read(reinterpret_cast<char*>(&headerBytes), 8);
        const std::uint64_t perGroup = codec == static_cast<int>(BaselineCodec::Hqq) ? 4 : 2;
        const std::uint64_t data = (6144 * 3 + 7) / 8 + (5000 * 3 + 7) / 8 + (192 + 50) * perGroup + 64 * 4;
        QCOMPARE(size, 8 + headerBytes + data);

        const io::SafetensorsContent content = io::readSafetensors(path);
        QVERIFY(isBaselineFile(content.metadata));
        const BaselineModel read = parseBaselineModel(content, path.string());
        QCOMPARE(read.settings.bits, 3u);
        const io::StateDict a = dequantizeModel(model), b = dequantizeModel(read);
        QCOMPARE(b.names(), dict.names());
        for (const auto& [name, tensor] : a)
            QVERIFY2(at::equal(tensor, b.at(name)), name.c_str());

        io::SafetensorsContent broken = content;
        broken.tensors.erase("a.weight.scales");
        try {
            parseBaselineModel(broken, "broken.safetensors");
            QFAIL("a file without a.weight.scales was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("a.weight.scales")), e.what());
        }
        broken = content;
        broken.tensors.insert("extra", at::ones({2}));
        QVERIFY_THROWS_EXCEPTION(Error, parseBaselineModel(broken, "extra.safetensors"));
    }

    void quantizedTinySamLoadsAndRuns()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const fs::path original = test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")).toStdString();
        const auto reference = models::loadSamModel(original);
        const fs::path dir = scratch("tiny");
        fs::create_directories(dir);
        fs::copy_file(original.parent_path() / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
        cv::Mat bgr = cv::imread(test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString(), cv::IMREAD_COLOR);
        QVERIFY(!bgr.empty());
        cv::Mat rgb;
        cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
        for (const BaselineSettings settings : {BaselineSettings{BaselineCodec::Rtn, 8, 0}, BaselineSettings{BaselineCodec::Hqq, 4, 64}}) {
            const io::StateDict dense = io::loadCheckpoint(original).tensors;
            const BaselineModel model = quantizeModel(dense, settings);
            QVERIFY(model.quantizedElementCount() > 0);
            const fs::path file = dir / (std::string(baselineCodecName(settings.codec)) + ".safetensors");
            writeBaselineModel(file, model);
            const auto loaded = models::loadSamModel(file);
            QVERIFY2(QString::fromStdString(loaded->info.format).contains(QStringLiteral("baseline")),
                     loaded->info.format.c_str());
            QCOMPARE(loaded->info.family, reference->info.family);
            // The loaded model runs exactly the dequantized weights.
            const io::StateDict restored = dequantizeModel(model);
            std::size_t compared = 0;
            for (const auto& [name, tensor] : loaded->stateDict()) {
                if (const at::Tensor* r = restored.find(name)) {
                    QVERIFY2(at::equal(tensor, r->to(tensor.scalar_type())), name.c_str());
                    ++compared;
                }
            }
            QCOMPARE(compared, restored.size());
            const auto a = eval::makeSamEvalModel(reference);
            const auto b = eval::makeSamEvalModel(loaded);
            a->setImage(rgb);
            b->setImage(rgb);
            eval::ModelPrompt prompt;
            prompt.point = std::array<int, 2>{160, 120};
            const cv::Mat ma = a->predict(prompt, eval::MaskRule::Single).mask;
            const cv::Mat mb = b->predict(prompt, eval::MaskRule::Single).mask;
            QCOMPARE(mb.cols, rgb.cols);
            QCOMPARE(mb.rows, rgb.rows);
            const double inter = cv::countNonZero(ma & mb), uni = cv::countNonZero(ma | mb);
            qInfo("%s: mask IoU with the original %.4f, file %llu bytes", settings.text().c_str(),
                  uni > 0 ? inter / uni : 1.0, static_cast<unsigned long long>(fs::file_size(file)));
            if (settings.bits == 8)
                QVERIFY2(uni == 0 || inter / uni > 0.9, "int8 per channel changed the mask");
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestBaselineQuant);
#include "test_baseline_quant.moc"
