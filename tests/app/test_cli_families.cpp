// The CLI runs every SAM family through the one model factory: for each family's small
// random-weight checkpoint (tests/core/models/family_test_support.h, written with its
// config.json), `birkhoff inspect` reports it runnable, `birkhoff segment` writes a mask, and
// `birkhoff compare` runs the original against its compressed file (HyperLinear) and reports the
// mask IoU. Also: an unknown layout is reported as not runnable.
#include "core/codec/compressor.h"
#include "core/format/compressed_writer.h"
#include "core/io/safetensors.h"
#include "core/models/family.h"
#include "core/models/sam_model.h"
#include "tests/app/cli_runner.h"
#include "tests/core/models/family_test_support.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QTest>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace birkhoff;
using birkhoff::test::FamilyCase;
using birkhoff::test::runCli;

Q_DECLARE_METATYPE(FamilyCase)

namespace {

QString q(const fs::path& p)
{
    return QString::fromStdString(p.string());
}

struct Files {
    fs::path model, compressed, image;
};

/// Writes the family's checkpoint + config.json, its compressed file (in another folder, with
/// the same config.json) and a 48x40 test image.
Files writeFiles(const FamilyCase& family)
{
    const fs::path root = fs::path(birkhoff::test::scratchDir().toStdString()) / "cli_families" / family.name;
    Files f{root / "original" / "model.safetensors", root / "compressed" / "model.hyper.safetensors", root / "image.png"};
    fs::create_directories(f.model.parent_path());
    fs::create_directories(f.compressed.parent_path());
    const io::StateDict tensors = birkhoff::test::randomCheckpoint(family.config, 21);
    io::writeSafetensors(f.model, tensors);
    for (const auto& dir : {f.model.parent_path(), f.compressed.parent_path()})
        std::ofstream(dir / "config.json") << family.configJson.dump();
    const models::FamilyInfo detected = models::detectFamily(tensors);
    std::vector<codec::TensorRole> roles;
    for (const auto& role : models::classifyAll(detected, tensors))
        roles.push_back(role.kind == models::TensorKind::LinearWeight ? codec::TensorRole::LinearWeight
                        : role.kind == models::TensorKind::Buffer   ? codec::TensorRole::Buffer
                                                                      : codec::TensorRole::Parameter);
    format::writeCompressedModel(f.compressed, codec::compressModel(tensors, roles, {}).model);
    cv::Mat image(40, 48, CV_8UC3);
    cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::imwrite(f.image.string(), image);
    return f;
}

}  // namespace

class TestCliFamilies : public QObject {
    Q_OBJECT
private slots:
    void inspectSegmentAndCompare_data()
    {
        QTest::addColumn<FamilyCase>("family");
        for (const auto& f : birkhoff::test::allFamilyCases())
            QTest::newRow(f.name.c_str()) << f;
    }
    void inspectSegmentAndCompare()
    {
        QFETCH(FamilyCase, family);
        const Files f = writeFiles(family);

        auto r = runCli({QStringLiteral("inspect"), q(f.model), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto inspect = nlohmann::json::parse(r.out.toStdString());
        QVERIFY(inspect["family"]["known"].get<bool>());
        QVERIFY(inspect["family"]["runnable"].get<bool>());

        const fs::path mask = f.model.parent_path() / "mask.png";
        r = runCli({QStringLiteral("segment"), QStringLiteral("--model"), q(f.model), QStringLiteral("--image"), q(f.image),
                    QStringLiteral("--point"), QStringLiteral("20,15"), QStringLiteral("--box"),
                    QStringLiteral("4,5,40,35"), QStringLiteral("-o"), q(mask), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(fs::exists(mask));
        QCOMPARE(cv::imread(mask.string(), cv::IMREAD_GRAYSCALE).size(), cv::Size(48, 40));

        r = runCli({QStringLiteral("compare"), QStringLiteral("--model"), q(f.model), QStringLiteral("--compressed"),
                    q(f.compressed), QStringLiteral("--image"), q(f.image), QStringLiteral("--point"),
                    QStringLiteral("20,15"), QStringLiteral("--multimask"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto compare = nlohmann::json::parse(r.out.toStdString());
        qInfo("%s: compare output %s", family.name.c_str(), compare.dump().substr(0, 300).c_str());
        QVERIFY(compare.dump().find("compressed_linear_layers") != std::string::npos);
    }

    void unknownLayoutIsCompressOnly()
    {
        const fs::path path = fs::path(birkhoff::test::scratchDir().toStdString()) / "cli_families" / "generic.safetensors";
        fs::create_directories(path.parent_path());
        io::StateDict tensors;
        tensors.insert("encoder.fc.weight", at::ones({4, 4}));
        io::writeSafetensors(path, tensors);
        const auto r = runCli({QStringLiteral("inspect"), q(path), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const auto inspect = nlohmann::json::parse(r.out.toStdString());
        QVERIFY(!inspect["family"]["runnable"].get<bool>());
        QVERIFY(!inspect["family"]["run_note"].get<std::string>().empty());
        const auto segment = runCli({QStringLiteral("segment"), QStringLiteral("--model"), q(path),
                                     QStringLiteral("--image"), q(path), QStringLiteral("--point"),
                                     QStringLiteral("1,1"), QStringLiteral("-o"), q(path.parent_path() / "m.png")});
        QCOMPARE(segment.exitCode, 1);  // a clear error, no crash
    }
};

BIRKHOFF_REGISTER_TEST(TestCliFamilies);
#include "test_cli_families.moc"
