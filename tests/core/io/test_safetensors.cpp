// safetensors: round trips of every dtype with key order and metadata, and clear errors for
// malformed files (no crash, no output left behind).
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace birkhoff::io;

namespace {

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "safetensors";
    fs::create_directories(dir);
    return dir / name;
}

void writeRaw(const fs::path& path, const std::string& json, std::size_t dataBytes)
{
    std::ofstream out(path, std::ios::binary);
    std::uint64_t n = json.size();
    for (int i = 0; i < 8; ++i, n >>= 8)
        out.put(static_cast<char>(n & 0xff));
    out << json;
    out << std::string(dataBytes, '\0');
}

void writeHeaderLength(const fs::path& path, std::uint64_t len)
{
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 8; ++i, len >>= 8)
        out.put(static_cast<char>(len & 0xff));
    out << "{}";
}

QString errorOf(const fs::path& path)
{
    try {
        readSafetensors(path);
    } catch (const birkhoff::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return QString();
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    void roundTripAllDtypesKeepsOrderAndMetadata()
    {
        StateDict sd;
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
        sd.insert("k.view", at::randn({4, 6}).t());  // non-contiguous input
        const SafetensorsMetadata meta{{"format", "pt"}, {"note", "x"}};
        const fs::path path = scratch("roundtrip.safetensors");
        writeSafetensors(path, sd, meta);
        const SafetensorsContent back = readSafetensors(path);
        QCOMPARE(back.tensors.names(), sd.names());
        QCOMPARE(back.metadata, meta);
        for (const auto& e : sd) {
            const at::Tensor& t = back.tensors.at(e.name);
            QCOMPARE(t.scalar_type(), e.tensor.scalar_type());
            QCOMPARE(t.sizes().vec(), e.tensor.sizes().vec());
            QVERIFY2(at::equal(t, e.tensor), e.name.c_str());
        }
    }

    void officialOrderSortsByDtypeThenName()
    {
        StateDict sd;
        sd.insert("b", at::zeros({2}, at::kByte));
        sd.insert("a", at::zeros({2}, at::kByte));
        sd.insert("c", at::zeros({2}, at::kFloat));
        sd.insert("d", at::zeros({2}, at::kLong));
        const fs::path path = scratch("order.safetensors");
        writeSafetensors(path, sd, {}, SafetensorsOrder::DtypeThenName);
        const auto names = readSafetensors(path).tensors.names();
        QCOMPARE(names, (std::vector<std::string>{"d", "c", "a", "b"}));
    }

    void loadedTensorsMayBeModifiedInPlace()
    {
        StateDict sd;
        sd.insert("w", at::ones({16}));
        const fs::path path = scratch("cow.safetensors");
        writeSafetensors(path, sd);
        at::Tensor t = readSafetensors(path).tensors.at("w");
        t.mul_(2);  // copy-on-write mapping: the file must stay unchanged
        QVERIFY(at::equal(readSafetensors(path).tensors.at("w"), at::ones({16})));
    }

    void rejectsMalformedFiles_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("out-of-range") << QStringLiteral(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})") << 8 << QStringLiteral("run past the end");
        QTest::newRow("overlap") << QStringLiteral(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})") << 16 << QStringLiteral("overlap");
        QTest::newRow("unknown-dtype") << QStringLiteral(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})") << 8 << QStringLiteral("unknown dtype 'Q7'");
        QTest::newRow("size-mismatch") << QStringLiteral(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})") << 8 << QStringLiteral("need 12 bytes");
        QTest::newRow("negative-dim") << QStringLiteral(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})") << 8 << QStringLiteral("negative");
        QTest::newRow("end-before-begin") << QStringLiteral(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})") << 8 << QStringLiteral("before begin");
        QTest::newRow("not-json") << QStringLiteral("{not json at all}") << 0 << QStringLiteral("not valid JSON");
        QTest::newRow("not-object") << QStringLiteral("[1,2,3]") << 0 << QStringLiteral("not a JSON object");
        QTest::newRow("bad-metadata") << QStringLiteral(R"({"__metadata__":{"k":3}})") << 0 << QStringLiteral("not a string");
        QTest::newRow("huge-shape") << QStringLiteral(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})") << 8 << QStringLiteral("too large");
    }
    void rejectsMalformedFiles()
    {
        QFETCH(QString, json);
        QFETCH(int, dataBytes);
        QFETCH(QString, expected);
        const fs::path path = scratch(std::string("bad-") + QTest::currentDataTag() + ".safetensors");
        writeRaw(path, json.toStdString(), static_cast<std::size_t>(dataBytes));
        const QString err = errorOf(path);
        QVERIFY2(err.contains(expected), qPrintable(err));
        QVERIFY2(err.contains(QString::fromStdString(path.filename().string())), qPrintable(err));
    }

    void rejectsAbsurdHeaderLength()
    {
        const fs::path path = scratch("absurd.safetensors");
        writeHeaderLength(path, 1000000000000000ull);
        QVERIFY(errorOf(path).contains(QStringLiteral("1000000000000000")));
        const fs::path truncated = scratch("truncated.safetensors");
        writeHeaderLength(truncated, 5000);
        QVERIFY(errorOf(truncated).contains(QStringLiteral("truncated")));
    }

    void rejectsEmptyMissingAndDirectory()
    {
        const fs::path empty = scratch("empty.safetensors");
        { std::ofstream out(empty); }
        QVERIFY(errorOf(empty).contains(QStringLiteral("empty")));
        QVERIFY(errorOf(scratch("missing.safetensors")).contains(QStringLiteral("No such file")));
        QVERIFY(errorOf(fs::path(birkhoff::test::scratchDir().toStdString())).contains(QStringLiteral("directory")));
    }

    void failedWriteLeavesNothing()
    {
        StateDict sd;
        sd.insert("ok", at::ones({2}));
        sd.insert("complex", at::zeros({2}, at::kComplexFloat));
        const fs::path path = scratch("unsupported.safetensors");
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, writeSafetensors(path, sd));
        QVERIFY(!fs::exists(path));
        for (const auto& e : fs::directory_iterator(path.parent_path()))
            QVERIFY2(e.path().filename().string().find("unsupported") == std::string::npos, e.path().c_str());
    }
};

BIRKHOFF_REGISTER_TEST(TestSafetensors);
#include "test_safetensors.moc"
