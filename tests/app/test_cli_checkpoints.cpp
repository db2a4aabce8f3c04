// `birkhoff inspect` and `birkhoff convert`: text and JSON reports, bit-exact conversions
// .pth <-> .safetensors, and every bad input ending in exit code 1 with a message naming the file
// (no crash, no output file left behind).
#include "core/io/checkpoint.h"
#include "tests/app/cli_runner.h"
#include "tests/core/io/bad_files.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QRegularExpression>
#include <QTest>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using birkhoff::test::runCli;

namespace {

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "cli_checkpoints";
    fs::create_directories(dir);
    return dir / name;
}

QString q(const fs::path& p)
{
    return QString::fromStdString(p.string());
}

// A small SAM-head-like state dict in a layout no family rule knows (so kinds are heuristic).
birkhoff::io::StateDict smallModel()
{
    at::manual_seed(11);
    birkhoff::io::StateDict sd;
    sd.insert("encoder.fc.weight", at::randn({8, 4}));
    sd.insert("encoder.fc.bias", at::randn({8}));
    sd.insert("encoder.conv.weight", at::randn({4, 3, 3, 3}).to(at::kHalf));
    sd.insert("encoder.norm.weight", at::randn({4}));
    sd.insert("encoder.norm.running_mean", at::randn({4}));
    sd.insert("encoder.norm.num_batches_tracked", at::zeros({}, at::kLong));
    return sd;
}

}  // namespace

class TestCliCheckpoints : public QObject {
    Q_OBJECT
private slots:
    void inspectPrintsAReport()
    {
        const fs::path path = scratch("small.pth");
        birkhoff::io::savePyTorchCheckpoint(path, smallModel(), "model");
        const auto r = runCli({QStringLiteral("inspect"), q(path)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains(QStringLiteral("generic")));
        QVERIFY(r.out.contains(QStringLiteral("PyTorch zip")));
        QVERIFY(r.out.contains(QStringLiteral("{'model': ...}")));
        QVERIFY2(r.out.contains(QStringLiteral("parameters  152 in 6 tensors (+ 5 buffer elements)")), qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("float16 (1), float32 (4), int64 (1)")));
        QVERIFY2(r.out.contains(QStringLiteral("official    not run (unknown layout)")), qPrintable(r.out));
        QVERIFY(r.out.contains(QRegularExpression(QStringLiteral("encoder\\.fc\\.weight +\\[8, 4\\] +float32 +linear weight"))));
        QVERIFY(r.out.contains(QRegularExpression(QStringLiteral("encoder\\.conv\\.weight +\\[4, 3, 3, 3\\] +float16 +conv"))));
        QVERIFY(r.out.contains(QRegularExpression(QStringLiteral("num_batches_tracked +\\[\\] +int64 +buffer"))));
    }

    void inspectJson()
    {
        const fs::path path = scratch("small.safetensors");
        birkhoff::io::saveCheckpoint(path, smallModel());
        const auto r = runCli({QStringLiteral("inspect"), q(path), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["format"].get<std::string>(), std::string("safetensors"));
        QCOMPARE(j["family"]["id"].get<std::string>(), std::string("generic"));
        QCOMPARE(j["family"]["known"].get<bool>(), false);
        QCOMPARE(j["tensor_count"].get<int>(), 6);
        QCOMPARE(j["parameters"].get<int>(), 8 * 4 + 8 + 4 * 27 + 4);
        QCOMPARE(j["kinds"]["linear weight"]["elements"].get<int>(), 32);
        QCOMPARE(j["kinds"]["buffer"]["tensors"].get<int>(), 2);
        QCOMPARE(j["tensors"].size(), std::size_t{6});
        QCOMPARE(j["tensors"][2]["dtype"].get<std::string>(), std::string("float16"));
        QVERIFY(j["tensors"][2]["shape"] == nlohmann::json::array({4, 3, 3, 3}));
        QCOMPARE(j["tensors"][1]["kind"].get<std::string>(), std::string("linear bias"));
        QCOMPARE(j["bytes"].get<std::uint64_t>(), static_cast<std::uint64_t>(fs::file_size(path)));
    }

    void inspectGoldenModelsNamesTheirFamily()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam2_tiny/sam2_tiny.pth");
        const auto r = runCli({QStringLiteral("inspect"), birkhoff::test::goldenPath(QStringLiteral("sam2_tiny/sam2_tiny.pth")),
                               QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["family"]["id"].get<std::string>(), std::string("sam2.1"));
        QCOMPARE(j["wrapper"].get<std::string>(), std::string("model"));
        QCOMPARE(j["heuristic_kinds"].get<int>(), 0);
        QCOMPARE(j["parameters"].get<int>(), 1666154);
        QVERIFY(j["family"]["official_check"]["golden"].get<bool>());
        QVERIFY(j["family"]["official_check"]["text"].get<std::string>().find("core.models.sam2_golden") != std::string::npos);
    }

    void convertRoundTripsBitExactly()
    {
        const birkhoff::io::StateDict sd = smallModel();
        const fs::path a = scratch("conv_a.pth");
        const fs::path b = scratch("conv_b.safetensors");
        const fs::path c = scratch("conv_c.pth");
        birkhoff::io::savePyTorchCheckpoint(a, sd, "model");
        auto r = runCli({QStringLiteral("convert"), q(a), QStringLiteral("-o"), q(b)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.err.contains(QStringLiteral("wrote")));
        r = runCli({QStringLiteral("convert"), q(b), QStringLiteral("--output"), q(c), QStringLiteral("--wrap"),
                    QStringLiteral("state_dict"), QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.err.isEmpty());
        const auto back = birkhoff::io::loadCheckpoint(c);
        QCOMPARE(back.wrapper, std::string("state_dict"));
        QCOMPARE(back.tensors.names(), sd.names());
        for (const auto& e : sd) {
            QCOMPARE(back.tensors.at(e.name).scalar_type(), e.tensor.scalar_type());
            QVERIFY2(at::equal(back.tensors.at(e.name), e.tensor), e.name.c_str());
        }
    }

    void usageErrors()
    {
        QCOMPARE(runCli({QStringLiteral("convert"), q(scratch("x.pth"))}).exitCode, 2);
        QCOMPARE(runCli({QStringLiteral("convert"), QStringLiteral("-o"), q(scratch("y.pth"))}).exitCode, 2);
        QCOMPARE(runCli({QStringLiteral("inspect")}).exitCode, 2);
        QCOMPARE(runCli({QStringLiteral("inspect"), QStringLiteral("a"), QStringLiteral("b")}).exitCode, 2);
        const fs::path in = scratch("ext.pth");
        birkhoff::io::savePyTorchCheckpoint(in, smallModel());
        const auto r = runCli({QStringLiteral("convert"), q(in), QStringLiteral("-o"), q(scratch("out.txt"))});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QStringLiteral("unknown extension")));
        QVERIFY(!fs::exists(scratch("out.txt")));
    }

    void badInputsFailCleanly()
    {
        const fs::path dir = scratch("bad");
        fs::create_directories(dir);
        const auto badFiles = birkhoff::test::makeBadCheckpoints(dir);
        for (const auto& bad : badFiles) {
            const fs::path out = dir / (bad.path.filename().string() + ".converted.safetensors");
            const auto convert = runCli({QStringLiteral("convert"), q(bad.path), QStringLiteral("-o"), q(out)});
            QVERIFY2(!convert.crashed && convert.exitCode == 1, bad.label.c_str());
            QVERIFY2(convert.err.contains(QStringLiteral("birkhoff convert: error: ")), qPrintable(convert.err));
            for (const auto& fragment : bad.expected)
                QVERIFY2(convert.err.contains(QString::fromStdString(fragment)),
                         qPrintable(QString::fromStdString(bad.label) + QStringLiteral(": ") + convert.err));
            QVERIFY2(!fs::exists(out), bad.label.c_str());
        }
        for (const auto& e : fs::directory_iterator(dir))
            QVERIFY2(e.path().filename().string().find(".tmp-") == std::string::npos, e.path().c_str());
        // inspect reports the same errors.
        for (const auto& bad : badFiles) {
            if (bad.label != "pickle calling os.system" && bad.label != "view past the end of its storage")
                continue;
            const auto inspect = runCli({QStringLiteral("inspect"), q(bad.path)});
            QVERIFY2(!inspect.crashed && inspect.exitCode == 1, bad.label.c_str());
            QVERIFY2(inspect.err.contains(QString::fromStdString(bad.expected.back())), qPrintable(inspect.err));
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestCliCheckpoints);
#include "test_cli_checkpoints.moc"
