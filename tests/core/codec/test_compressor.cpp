// Whole-model compression on synthetic models: overrides, auto l and the target modes (marked
// as extensions), the report's shape, progress, cancellation, thread independence and the exact
// size prediction used by dry runs.
#include "core/codec/compressor.h"
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/io/safetensors.h"
#include "core/util/runtime.h"
#include "tests/core/codec/codec_test_model.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <QTest>

#include <atomic>
#include <functional>
#include <mutex>

using namespace birkhoff;
using namespace birkhoff::codec;

namespace {

using Model = test::CodecTestModel;

Model syntheticModel()
{
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(21);
    Model m;
    m.add("enc.blocks.0.qkv.weight", at::normal(0.0, 0.02, {192, 64}, gen), TensorRole::LinearWeight);
    m.add("enc.blocks.0.qkv.bias", at::normal(0.0, 0.005, {192}, gen), TensorRole::Parameter);
    m.add("enc.blocks.0.norm.weight", 1 + at::normal(0.0, 0.05, {64}, gen), TensorRole::Parameter);
    m.add("enc.blocks.1.mlp.weight", at::normal(0.0, 0.03, {256, 63}, gen), TensorRole::LinearWeight);
    m.add("enc.conv.weight", at::normal(0.0, 0.02, {16, 8, 3, 3}, gen), TensorRole::Parameter);
    m.add("dec.token.weight", at::normal(0.0, 1.0, {4, 32}, gen), TensorRole::Parameter);
    m.add("dec.small", at::ones({5}), TensorRole::Parameter);
    m.add("pe.gaussian", at::normal(0.0, 1.0, {2, 16}, gen), TensorRole::Buffer);
    return m;
}

bool hasExtension(const format::CompressedModel& m, const char* name)
{
    return std::find(m.extensions.begin(), m.extensions.end(), name) != m.extensions.end();
}

}  // namespace

class TestCompressor : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { configureThreads(); }

    void reportHasTheDocumentedShape()
    {
        const Model m = syntheticModel();
        const CompressionResult r = compressModel(m.tensors, m.roles, CompressOptions{});
        const nlohmann::json j = r.report.toJson();
        for (const char* k : {"l", "U", "M"})
            QVERIFY2(j.at("settings").contains(k), k);
        for (const char* k : {"parameters", "original_bytes", "compressed_bytes", "ratio", "bits_per_weight", "seconds"})
            QVERIFY2(j.at("totals").contains(k), k);
        QCOMPARE(j.at("tensors").size(), m.tensors.size());
        for (const auto& t : j.at("tensors"))
            for (const char* k : {"name", "shape", "path", "l", "U", "K", "bits_per_index", "bits_per_weight", "mae",
                                  "max_abs_error", "original_bytes", "stored_bytes"})
                QVERIFY2(t.contains(k), k);
        QCOMPARE(test::reportRow(r.report, "pe.gaussian").path, StoragePath::Buffer);
        QCOMPARE(test::reportRow(r.report, "dec.small").path, StoragePath::Small);
        QCOMPARE(test::reportRow(r.report, "dec.token.weight").path, StoragePath::Raw);  // N(0,1): MAE fallback
        QCOMPARE(test::reportRow(r.report, "enc.blocks.1.mlp.weight").loadType, 2);
        QVERIFY(j.at("tensors").at(7).at("U").is_null());
        QCOMPARE(r.report.parameters, m.tensors.elementCount());
        QCOMPARE(r.report.compressedBytes, format::compressedFileSize(r.model));
        const std::string csv = r.report.toCsv();
        QVERIFY(csv.rfind("name,shape,path,l,U,K,bits_per_index,bits_per_weight,mae,max_abs_error,original_bytes,"
                          "stored_bytes",
                          0) == 0);
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), std::ptrdiff_t(m.tensors.size() + 1));

        const std::string path = (test::scratchDir() + QStringLiteral("/synthetic.safetensors")).toStdString();
        format::writeCompressedModel(path, r.model);
        QCOMPARE(std::uint64_t(std::filesystem::file_size(path)), r.report.compressedBytes);
        const format::CompressedModel back = format::readCompressedModel(path);
        const io::StateDict dense = format::restoreDense(back);
        QCOMPARE(dense.names(), m.tensors.names());
        for (const auto& e : m.tensors) {
            const double err = (dense.at(e.name) - e.tensor).abs().mean().item<double>();
            QVERIFY2(std::fabs(err - test::reportRow(r.report, e.name).mae) < 1e-9, e.name.c_str());
        }
    }

    void overridesApplyAndAreMarked()
    {
        const Model m = syntheticModel();
        CompressOptions o;
        o.overrides = parseOverrides(R"({"overrides": [
            {"pattern": "enc.blocks.*.qkv.weight", "l": 0.05, "U": [2500]},
            {"pattern": "enc.conv.*", "keep_raw": true},
            {"pattern": "enc.blocks.1.*", "M": 1},
            {"pattern": "nothing.*", "l": 0.2}]})",
                                     "test");
        const CompressionResult r = compressModel(m.tensors, m.roles, o);
        const auto& qkv = r.model.at("enc.blocks.0.qkv.weight");
        QCOMPARE(qkv.l, 0.05f);
        QCOMPARE(qkv.U, std::uint32_t(2500));
        QCOMPARE(r.model.uList, (std::vector<std::uint32_t>{1225, 1600, 2500}));
        QCOMPARE(r.model.at("enc.conv.weight").loadType, format::LoadType::Raw);
        QVERIFY(r.model.at("enc.blocks.1.mlp.weight").K <= 1);
        QVERIFY(hasExtension(r.model, format::extension::kOverrides));
        QVERIFY(hasExtension(r.model, format::extension::kPerTensorL));
        QVERIFY(std::any_of(r.report.warnings.begin(), r.report.warnings.end(),
                            [](const std::string& w) { return w.find("nothing.*") != std::string::npos; }));
        const std::string path = (test::scratchDir() + QStringLiteral("/overrides.safetensors")).toStdString();
        format::writeCompressedModel(path, r.model);
        const format::CompressedModel back = format::readCompressedModel(path);
        QCOMPARE(back.at("enc.blocks.0.qkv.weight").l, 0.05f);
        QVERIFY(hasExtension(back, format::extension::kPerTensorL));
        QVERIFY(format::decodeTensor(back.at("enc.blocks.0.qkv.weight"))
                    .equal(format::decodeTensor(r.model.at("enc.blocks.0.qkv.weight"))));
    }

    void invalidSettingsAreRejected()
    {
        const auto rejects = [](const std::function<void(CompressOptions&)>& edit, const char* fragment) {
            CompressOptions o;
            edit(o);
            try {
                validateOptions(o);
                QFAIL((std::string("accepted: ") + fragment).c_str());
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find(fragment) != std::string::npos, e.what());
            }
        };
        rejects([](CompressOptions& o) { o.defaults.uList = {1225, 1000}; }, "U = 1000 is not a perfect square");
        rejects([](CompressOptions& o) { o.defaults.uList = {}; }, "the U list is empty");
        rejects([](CompressOptions& o) { o.defaults.uList = {0}; }, "U = 0");
        rejects([](CompressOptions& o) { o.defaults.uList = {1u << 18}; }, "not a perfect square in [1, 65536]");
        rejects([](CompressOptions& o) { o.defaults.l = 0.f; }, "l = 0");
        rejects([](CompressOptions& o) { o.defaults.l = -0.1f; }, "must be a finite number > 0");
        rejects([](CompressOptions& o) { o.defaults.l = INFINITY; }, "must be a finite number > 0");
        rejects([](CompressOptions& o) { o.defaults.l = NAN; }, "must be a finite number > 0");
        rejects([](CompressOptions& o) { o.defaults.maxRings = 65; }, "M = 65 exceeds");
        rejects([](CompressOptions& o) { o.defaults.lossHope = -1.f; }, "thresholds");
        rejects([](CompressOptions& o) { o.targetMae = -1.0; }, "--target-mae");
        rejects([](CompressOptions& o) { o.targetRatio = 0.0; }, "--target-ratio");
        rejects([](CompressOptions& o) { o.targetRatio = NAN; }, "--target-ratio");
        CompressOptions ok;
        ok.defaults.uList = {1, 4, 65536};
        ok.defaults.maxRings = 0;
        validateOptions(ok);
    }

    void badOverridesAreRejected()
    {
        QVERIFY_THROWS_EXCEPTION(Error, parseOverrides("{", "bad"));
        QVERIFY_THROWS_EXCEPTION(Error, parseOverrides(R"([{"pattern": "a", "U": [1000]}])", "bad"));
        QVERIFY_THROWS_EXCEPTION(Error, parseOverrides(R"([{"pattern": "a", "l": -1}])", "bad"));
        QVERIFY_THROWS_EXCEPTION(Error, parseOverrides(R"([{"pattern": "a", "M": 999}])", "bad"));
        QVERIFY_THROWS_EXCEPTION(Error, parseOverrides(R"([{"pattern": "a", "colour": 1}])", "bad"));
        QVERIFY_THROWS_EXCEPTION(Error, parseOverrides(R"([{"l": 0.1}])", "bad"));
        QVERIFY(globMatch("enc.*.weight", "enc.blocks.0.qkv.weight"));
        QVERIFY(globMatch("enc.blocks.?.qkv.*", "enc.blocks.0.qkv.bias"));
        QVERIFY(!globMatch("enc.*.bias", "enc.blocks.0.qkv.weight"));
        QVERIFY(globMatch("*", ""));
    }

    void autoLAndTargetsAreExtensions()
    {
        const Model m = syntheticModel();
        CompressOptions autoL;
        autoL.autoL = true;
        const CompressionResult a = compressModel(m.tensors, m.roles, autoL);
        QVERIFY(hasExtension(a.model, format::extension::kAutoL));
        const float biasL = a.model.at("enc.blocks.0.qkv.bias").l;
        QVERIFY(biasL < 0.05f);  // sigma 0.005 -> l ~ 0.015
        QVERIFY(test::reportRow(a.report, "enc.blocks.0.qkv.bias").mae < 0.0005);

        CompressOptions mae;
        mae.targetMae = 2e-4;
        const CompressionResult t = compressModel(m.tensors, m.roles, mae);
        QVERIFY(hasExtension(t.model, format::extension::kTargetMae));
        for (const auto& rrow : t.report.tensors)
            QVERIFY2(rrow.mae <= 2e-4, rrow.name.c_str());

        CompressOptions ratio;
        ratio.targetRatio = 4.5;
        ratio.originalFileBytes = io::safetensorsFileSize(m.tensors);
        const CompressionResult q = compressModel(m.tensors, m.roles, ratio);
        QVERIFY(hasExtension(q.model, format::extension::kTargetRatio));
        QVERIFY2(q.report.ratio() >= 4.5, std::to_string(q.report.ratio()).c_str());
        QVERIFY(std::none_of(q.report.warnings.begin(), q.report.warnings.end(), [](const std::string& w) {
            return w.find("not reachable") != std::string::npos || w.find("below the target") != std::string::npos;
        }));
        ratio.targetRatio = 3.0;  // a looser target buys accuracy
        const CompressionResult loose = compressModel(m.tensors, m.roles, ratio);
        QVERIFY(loose.report.ratio() >= 3.0);
        QVERIFY(test::reportRow(loose.report, "enc.blocks.0.qkv.weight").mae <= test::reportRow(q.report, "enc.blocks.0.qkv.weight").mae);
        ratio.targetRatio = 50.0;  // 30k weights and ~8 kB of header: out of reach, and said so
        try {
            compressModel(m.tensors, m.roles, ratio);
            QFAIL("an unreachable target ratio must fail");
        } catch (const Error& e) {
            const std::string what = e.what();
            QVERIFY2(what.find("not reachable") != std::string::npos && what.find("largest ratio") != std::string::npos,
                     e.what());
        }

        CompressOptions both;
        both.targetMae = 1e-3;
        both.targetRatio = 4;
        QVERIFY_THROWS_EXCEPTION(Error, compressModel(m.tensors, m.roles, both));
    }

    void progressCancellationAndThreads()
    {
        const Model m = syntheticModel();
        std::mutex mutex;
        std::vector<double> fractions;
        Progress p;
        p.onProgress = [&](double f, const std::string&) {
            std::lock_guard<std::mutex> lock(mutex);
            fractions.push_back(f);
        };
        const CompressionResult r = compressModel(m.tensors, m.roles, CompressOptions{}, p);
        QVERIFY(fractions.size() >= m.tensors.size());
        QCOMPARE(fractions.back(), 1.0);
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));

        CancelToken token;
        token.cancel();
        Progress cancelled;
        cancelled.cancel = &token;
        QVERIFY_THROWS_EXCEPTION(CancelledError, compressModel(m.tensors, m.roles, CompressOptions{}, cancelled));

        const int threads = at::get_num_threads();
        at::set_num_threads(1);
        const CompressionResult one = compressModel(m.tensors, m.roles, CompressOptions{});
        at::set_num_threads(threads);
        const io::StateDict a = format::compressedFileTensors(one.model);
        const io::StateDict b = format::compressedFileTensors(r.model);
        QCOMPARE(a.names(), b.names());
        for (const auto& e : a)
            QVERIFY2(e.tensor.equal(b.at(e.name)), e.name.c_str());

        QVERIFY_THROWS_EXCEPTION(Error, compressModel(m.tensors, {TensorRole::Parameter}, CompressOptions{}));
        CompressOptions bad;
        bad.defaults.l = std::nanf("");
        QVERIFY_THROWS_EXCEPTION(Error, compressModel(m.tensors, m.roles, bad));
    }
};

BIRKHOFF_REGISTER_TEST(TestCompressor);
#include "test_compressor.moc"
