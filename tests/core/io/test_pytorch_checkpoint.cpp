// torch.save zip checkpoints: our writer and reader round-trip every dtype bit-exactly with key
// order, views and shared storages; Python's torch.load reads our files and we read Python's
// (protocols 2 and 4, wrappers, parameters, deflated archives); bad files fail with clear
// errors through loadCheckpoint (no crash, nothing written).
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/io/zip_archive.h"
#include "core/util/error.h"
#include "tests/core/io/bad_files.h"
#include "tests/core/io/python_torch.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QProcess>
#include <QTest>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace birkhoff::io;

namespace {

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "pytorch";
    fs::create_directories(dir);
    return dir / name;
}

QString errorOf(const fs::path& path)
{
    try {
        loadCheckpoint(path);
    } catch (const birkhoff::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return QString();
}

std::string fileBytes(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

StateDict everyDtype()
{
    at::manual_seed(7);
    StateDict sd;
    const at::Tensor base = at::randn({4, 6});
    sd.insert("z.float", at::randn({3, 4}));
    sd.insert("a.double", at::randn({5}, at::kDouble));
    sd.insert("m.half", at::randn({2, 2}).to(at::kHalf));
    sd.insert("b.bf16", at::randn({7}).to(at::kBFloat16));
    sd.insert("c.long", at::arange(10, at::kLong));
    sd.insert("d.int", at::arange(6, at::kInt).reshape({2, 3}));
    sd.insert("e.short", at::arange(4, at::kShort));
    sd.insert("f.byte", at::arange(9, at::kByte));
    sd.insert("g.char", at::arange(-3, 3, at::kChar));
    sd.insert("h.bool", at::tensor({1, 0, 1}).to(at::kBool));
    sd.insert("i.scalar", at::tensor(3.5f));
    sd.insert("j.empty", at::empty({0, 4}));
    sd.insert("k.transposed", base.t());
    sd.insert("l.slice", base.narrow(1, 2, 3));
    sd.insert("n.tied", base);
    sd.insert("o.tied.again", base);
    return sd;
}

void verifySame(const StateDict& back, const StateDict& sd)
{
    QCOMPARE(back.names(), sd.names());
    for (const auto& e : sd) {
        const at::Tensor& t = back.at(e.name);
        QCOMPARE(t.scalar_type(), e.tensor.scalar_type());
        QCOMPARE(t.sizes().vec(), e.tensor.sizes().vec());
        QVERIFY2(at::equal(t, e.tensor), e.name.c_str());
    }
}

}  // namespace

class TestPyTorchCheckpoint : public QObject {
    Q_OBJECT
private slots:
    void roundTripKeepsEveryDtypeOrderAndSharing()
    {
        const StateDict sd = everyDtype();
        for (const std::string wrapper : {"", "model", "state_dict"}) {
            const fs::path path = scratch("roundtrip_" + wrapper + ".pth");
            savePyTorchCheckpoint(path, sd, wrapper);
            const Checkpoint back = loadCheckpoint(path);
            QCOMPARE(back.format, CheckpointFormat::PyTorchZip);
            QCOMPARE(back.wrapper, wrapper);
            QCOMPARE(back.fileBytes, static_cast<std::uint64_t>(fs::file_size(path)));
            verifySame(back.tensors, sd);
            // The two names of one tensor share one storage in the file and after loading.
            QCOMPARE(back.tensors.at("n.tied").data_ptr(), back.tensors.at("o.tied.again").data_ptr());
        }
    }

    void archiveLayoutIsTorchSaves()
    {
        StateDict sd;
        sd.insert("w", at::ones({3}));
        const fs::path path = scratch("layout_name.pth");
        saveCheckpoint(path, sd);
        const std::string bytes = fileBytes(path);
        const ZipReader zip(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "layout");
        QStringList names;
        for (const auto& e : zip.entries()) {
            names << QString::fromStdString(e.name);
            QCOMPARE(e.dataOffset % 64, std::uint64_t{0});  // aligned like torch.save
            QCOMPARE(e.method, std::uint16_t{0});
        }
        QCOMPARE(names, (QStringList{QStringLiteral("layout_name/data.pkl"), QStringLiteral("layout_name/byteorder"),
                                     QStringLiteral("layout_name/data/0"), QStringLiteral("layout_name/version")}));
        const auto r = QProcess::execute(QStringLiteral("unzip"), {QStringLiteral("-tq"), QString::fromStdString(path.string())});
        if (r != -2)  // -2: unzip is not installed; ZipReader's libzip cross-check above still ran
            QCOMPARE(r, 0);
    }

    void loadedTensorsAreCopyOnWriteViewsOfTheFile()
    {
        StateDict sd;
        sd.insert("w", at::ones({16}));
        const fs::path path = scratch("cow.pth");
        savePyTorchCheckpoint(path, sd);
        at::Tensor t = loadCheckpoint(path).tensors.at("w");
        t.mul_(2);
        QVERIFY(at::equal(loadCheckpoint(path).tensors.at("w"), at::ones({16})));
    }

    void pythonReadsOurFiles()
    {
        BIRKHOFF_REQUIRE_PYTHON_TORCH();
        const StateDict sd = everyDtype();
        for (const std::string wrapper : {"", "model"}) {
            const fs::path path = scratch("for_python_" + wrapper + ".pth");
            savePyTorchCheckpoint(path, sd, wrapper);
            QString error;
            QStringList lines = birkhoff::test::pythonCheckpointListing(QString::fromStdString(path.string()), &error);
            QVERIFY2(lines.size() >= 2, qPrintable(error));
            QCOMPARE(lines.takeFirst(), QStringLiteral("TYPE OrderedDict"));
            QCOMPARE(lines.takeFirst(), QStringLiteral("WRAPPER ") + (wrapper.empty() ? QStringLiteral("-") : QString::fromStdString(wrapper)));
            QCOMPARE(lines, birkhoff::test::stateDictListing(sd));
        }
        const auto zipCheck = birkhoff::test::runPython(
            QStringLiteral("import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip())"),
            {QString::fromStdString(scratch("for_python_.pth").string())});
        QCOMPARE(zipCheck.out.trimmed(), QStringLiteral("None"));
    }

    void readsPythonWrittenFiles()
    {
        BIRKHOFF_REQUIRE_PYTHON_TORCH();
        const fs::path dir = scratch("from_python");
        fs::create_directories(dir);
        static const char* const kMake = R"PY(
import collections, sys, zipfile, torch
d = sys.argv[1]
torch.manual_seed(3)
base = torch.randn(4, 6)
sd = collections.OrderedDict()
sd["a.f32"] = torch.randn(3, 5)
sd["b.view.t"] = base.t()
sd["c.view.slice"] = base[1:, 2:]
sd["d.base"] = base
sd["e.f16"] = torch.randn(8).half()
sd["f.bf16"] = torch.randn(8).bfloat16()
sd["g.i64"] = torch.arange(5)
sd["h.bool"] = torch.tensor([True, False, True])
sd["i.i8"] = torch.arange(-4, 4, dtype=torch.int8)
sd["j.f64"] = torch.randn(2, 2, dtype=torch.float64)
sd["k.param"] = torch.nn.Parameter(torch.randn(3))
sd["l.scalar"] = torch.tensor(2.0)
sd["m.empty"] = torch.zeros(0, 3)
torch.save(sd, d + "/p2.pth")
torch.save(sd, d + "/p4.pth", pickle_protocol=4)
torch.save({"model": sd, "epoch": 7, "lr": 1e-4}, d + "/wrapped.pth")
torch.save({"state_dict": sd, "optimizer": {"state": {0: {"exp_avg": torch.ones(2)}}}}, d + "/sdwrapped.pth")
with zipfile.ZipFile(d + "/p2.pth") as src, zipfile.ZipFile(d + "/deflated.pth", "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
lin = torch.nn.Linear(4, 3)
torch.save(lin.state_dict(), d + "/module_state.pth")
)PY";
        const auto made = birkhoff::test::runPython(QString::fromLatin1(kMake), {QString::fromStdString(dir.string())});
        QVERIFY2(made.exitCode == 0, qPrintable(made.err));
        const QString reference = QString::fromStdString((dir / "p2.pth").string());
        QStringList expected = birkhoff::test::pythonCheckpointListing(reference);
        QCOMPARE(expected.takeFirst(), QStringLiteral("TYPE OrderedDict"));
        expected.takeFirst();
        for (const char* name : {"p2.pth", "p4.pth", "wrapped.pth", "sdwrapped.pth", "deflated.pth"}) {
            const Checkpoint c = loadCheckpoint(dir / name);
            QVERIFY2(birkhoff::test::stateDictListing(c.tensors) == expected, name);
        }
        const Checkpoint wrapped = loadCheckpoint(dir / "wrapped.pth");
        QCOMPARE(wrapped.wrapper, std::string("model"));
        QCOMPARE(wrapped.notes.size(), std::size_t{2});
        const Checkpoint sdWrapped = loadCheckpoint(dir / "sdwrapped.pth");
        QCOMPARE(sdWrapped.wrapper, std::string("state_dict"));
        QVERIFY(QString::fromStdString(sdWrapped.notes.at(0)).contains(QStringLiteral("'optimizer' (dict holding 1 tensors)")));
        // Views of one storage stay views of one storage.
        const Checkpoint p2 = loadCheckpoint(dir / "p2.pth");
        QCOMPARE(p2.tensors.at("b.view.t").storage().data(), p2.tensors.at("d.base").storage().data());
        QCOMPARE(p2.tensors.at("c.view.slice").storage_offset(), std::int64_t{8});
        const Checkpoint module = loadCheckpoint(dir / "module_state.pth");
        QCOMPARE(module.tensors.names(), (std::vector<std::string>{"weight", "bias"}));
    }

    void badFilesFailClearly()
    {
        const fs::path dir = scratch("bad");
        fs::create_directories(dir);
        for (const auto& bad : birkhoff::test::makeBadCheckpoints(dir)) {
            const QString err = errorOf(bad.path);
            QVERIFY2(!err.isEmpty(), bad.label.c_str());
            qInfo("%s -> %s", bad.label.c_str(), qPrintable(err));
            for (const auto& fragment : bad.expected)
                QVERIFY2(err.contains(QString::fromStdString(fragment)),
                         qPrintable(QString::fromStdString(bad.label) + QStringLiteral(": ") + err));
        }
    }

    void corruptDeflatedEntryFails()
    {
        BIRKHOFF_REQUIRE_PYTHON_TORCH();
        const fs::path path = scratch("deflated_corrupt.pth");
        const auto made = birkhoff::test::runPython(QStringLiteral(R"PY(
import sys, zipfile, torch, io
buf = io.BytesIO()
torch.save({"w": torch.arange(4096.0)}, buf)
src = zipfile.ZipFile(buf)
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename.replace("archive", "deflated_corrupt"), src.read(info.filename))
)PY"), {QString::fromStdString(path.string())});
        QVERIFY2(made.exitCode == 0, qPrintable(made.err));
        std::string bytes = fileBytes(path);
        const ZipReader zip(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "x");
        const ZipEntry* data = zip.find("deflated_corrupt/data/0");
        QVERIFY(data != nullptr && data->method == 8);
        bytes[data->dataOffset + data->compressedSize / 2] ^= 0x5a;
        writeBytes(path, bytes);
        const QString err = errorOf(path);
        QVERIFY2(err.contains(QStringLiteral("deflated_corrupt/data/0")), qPrintable(err));
    }

    void saveByExtensionAndFailuresLeaveNothing()
    {
        const StateDict sd = everyDtype();
        const fs::path st = scratch("by_ext.safetensors");
        saveCheckpoint(st, sd);
        QCOMPARE(loadCheckpoint(st).format, CheckpointFormat::Safetensors);
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, saveCheckpoint(scratch("by_ext.txt"), sd));
        QVERIFY(!fs::exists(scratch("by_ext.txt")));

        StateDict bad;
        bad.insert("ok", at::ones({2}));
        bad.insert("complex", at::zeros({2}, at::kComplexFloat));
        const fs::path path = scratch("unsupported.pth");
        try {
            savePyTorchCheckpoint(path, bad);
            QFAIL("complex tensors must be refused");
        } catch (const birkhoff::Error& e) {
            QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("complex")));
        }
        QVERIFY(!fs::exists(path));
        for (const auto& e : fs::directory_iterator(path.parent_path()))
            QVERIFY2(e.path().filename().string().find("unsupported") == std::string::npos, e.path().c_str());
    }

    void roundTripThroughSafetensorsIsBitExact()
    {
        const StateDict sd = everyDtype();
        const fs::path a = scratch("rt_a.pth");
        const fs::path b = scratch("rt_b.safetensors");
        const fs::path c = scratch("rt_c.pth");
        saveCheckpoint(a, sd);
        saveCheckpoint(b, loadCheckpoint(a).tensors);
        saveCheckpoint(c, loadCheckpoint(b).tensors);
        verifySame(loadCheckpoint(c).tensors, sd);
        QCOMPARE(birkhoff::test::stateDictListing(loadCheckpoint(c).tensors), birkhoff::test::stateDictListing(sd));
    }
};

BIRKHOFF_REGISTER_TEST(TestPyTorchCheckpoint);
#include "test_pytorch_checkpoint.moc"
