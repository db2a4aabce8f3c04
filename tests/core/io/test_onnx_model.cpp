// ONNX reading: nodes, attributes (including Constant tensors) and initializers of small models
// written here with the ONNX protobuf classes, decoded bit-exactly from raw_data and from the typed
// fields; clear errors naming the file for everything that is not a readable single-file ONNX model.
#include "core/io/onnx_model.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <onnx/onnx_pb.h>

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
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "onnx_model";
    fs::create_directories(dir);
    return dir / name;
}

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::string rawBytes(const at::Tensor& t)
{
    const at::Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes()));
}

void setTensor(onnx::TensorProto* t, const std::string& name, int dataType, std::vector<std::int64_t> dims)
{
    t->set_name(name);
    t->set_data_type(dataType);
    for (const auto d : dims)
        t->add_dims(d);
}

// A two-node model: Constant (INT64 shape) -> Reshape, and MatMul(x, W) + B, with W in raw_data
// and B in float_data.
onnx::ModelProto smallModel(const at::Tensor& w, const at::Tensor& b)
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("birkhoff-test");
    m.set_producer_version("1");
    auto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(17);
    auto* g = m.mutable_graph();
    g->set_name("small");
    g->add_input()->set_name("x");
    g->add_output()->set_name("y");

    auto* c = g->add_node();
    c->set_name("/shape/Constant");
    c->set_op_type("Constant");
    c->add_output("shape");
    auto* value = c->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto_AttributeType_TENSOR);
    setTensor(value->mutable_t(), "", onnx::TensorProto_DataType_INT64, {2});
    value->mutable_t()->add_int64_data(-1);
    value->mutable_t()->add_int64_data(2);

    auto* r = g->add_node();
    r->set_name("/Reshape");
    r->set_op_type("Reshape");
    r->add_input("x");
    r->add_input("shape");
    r->add_output("xr");

    auto* mm = g->add_node();
    mm->set_name("/fc/MatMul");
    mm->set_op_type("MatMul");
    mm->add_input("xr");
    mm->add_input("W");
    mm->add_output("xw");
    auto* alpha = mm->add_attribute();
    alpha->set_name("note_ints");
    alpha->set_type(onnx::AttributeProto_AttributeType_INTS);
    alpha->add_ints(3);
    alpha->add_ints(4);

    auto* add = g->add_node();
    add->set_name("/fc/Add");
    add->set_op_type("Add");
    add->add_input("xw");
    add->add_input("B");
    add->add_output("y");

    auto* wt = g->add_initializer();
    setTensor(wt, "W", onnx::TensorProto_DataType_FLOAT, w.sizes().vec());
    wt->set_raw_data(rawBytes(w));
    auto* bt = g->add_initializer();
    setTensor(bt, "B", onnx::TensorProto_DataType_FLOAT, b.sizes().vec());
    const at::Tensor bc = b.contiguous();
    for (std::int64_t k = 0; k < bc.numel(); ++k)
        bt->add_float_data(bc.data_ptr<float>()[k]);
    return m;
}

fs::path writeModel(const onnx::ModelProto& m, const std::string& name)
{
    const fs::path path = scratch(name);
    std::string bytes;
    if (!m.SerializeToString(&bytes))
        qFatal("cannot serialize a test ONNX model");
    writeBytes(path, bytes);
    return path;
}

bool bitEqual(const at::Tensor& a, const at::Tensor& b)
{
    if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes())
        return false;
    const at::Tensor ca = a.contiguous();
    const at::Tensor cb = b.contiguous();
    return std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<std::size_t>(ca.nbytes())) == 0;
}

QString errorOf(const fs::path& path)
{
    try {
        readOnnxModel(path);
    } catch (const birkhoff::Error& e) {
        qInfo("error: %s", e.what());
        return QString::fromUtf8(e.what());
    }
    return QString();
}

}  // namespace

class TestOnnxModel : public QObject {
    Q_OBJECT
private slots:
    void readsNodesAttributesAndInitializers()
    {
        const at::Tensor w = at::randn({3, 4});
        const at::Tensor b = at::randn({4});
        const fs::path path = writeModel(smallModel(w, b), "small.onnx");
        const OnnxModel m = readOnnxModel(path);

        QCOMPARE(m.path(), path);
        QCOMPARE(m.irVersion(), std::int64_t(8));
        QCOMPARE(m.opsetVersion(), std::int64_t(17));
        QCOMPARE(m.producerName(), std::string("birkhoff-test"));
        QCOMPARE(m.graphInputs(), std::vector<std::string>{"x"});
        QCOMPARE(m.graphOutputs(), std::vector<std::string>{"y"});

        QCOMPARE(m.nodes().size(), std::size_t(4));
        const OnnxNode& c = m.nodes()[0];
        QCOMPARE(c.opType, std::string("Constant"));
        const OnnxAttribute* value = c.attribute("value");
        QVERIFY(value != nullptr);
        QCOMPARE(value->kind, OnnxAttribute::Kind::Tensor);
        QVERIFY(bitEqual(value->tensor, at::tensor(std::vector<std::int64_t>{-1, 2})));
        const OnnxNode& mm = m.nodes()[2];
        QCOMPARE(mm.name, std::string("/fc/MatMul"));
        QCOMPARE(mm.inputs, (std::vector<std::string>{"xr", "W"}));
        QCOMPARE(mm.outputs, std::vector<std::string>{"xw"});
        QVERIFY(mm.attribute("missing") == nullptr);
        QCOMPARE(mm.attribute("note_ints")->ints, (std::vector<std::int64_t>{3, 4}));

        QCOMPARE(m.initializers().names(), (std::vector<std::string>{"W", "B"}));
        QVERIFY(bitEqual(m.initializers().at("W"), w));  // raw_data
        QVERIFY(bitEqual(m.initializers().at("B"), b));  // float_data

        QCOMPARE(m.producerOf("shape"), std::ptrdiff_t(0));
        QCOMPARE(m.producerOf("W"), std::ptrdiff_t(-1));
        QCOMPARE(m.consumersOf("W").size(), std::size_t(1));
        QCOMPARE(m.consumersOf("W")[0].node, std::size_t(2));
        QCOMPARE(m.consumersOf("W")[0].slot, std::size_t(1));
        QVERIFY(m.consumersOf("nothing").empty());
    }

    void decodesEveryTypedField()
    {
        onnx::ModelProto m = smallModel(at::ones({1, 1}), at::ones({1}));
        auto* g = m.mutable_graph();
        auto* i64 = g->add_initializer();
        setTensor(i64, "i64", onnx::TensorProto_DataType_INT64, {3});
        for (std::int64_t v : {-5ll, 0ll, 1ll << 40})
            i64->add_int64_data(v);
        auto* i8 = g->add_initializer();
        setTensor(i8, "i8", onnx::TensorProto_DataType_INT8, {2});
        i8->add_int32_data(-7);
        i8->add_int32_data(100);
        auto* flags = g->add_initializer();
        setTensor(flags, "bool", onnx::TensorProto_DataType_BOOL, {3});
        for (int v : {1, 0, 1})
            flags->add_int32_data(v);
        auto* half = g->add_initializer();
        setTensor(half, "half", onnx::TensorProto_DataType_FLOAT16, {2});
        half->add_int32_data(0x3c00);  // 1.0
        half->add_int32_data(0xc000);  // -2.0
        auto* dbl = g->add_initializer();
        setTensor(dbl, "double", onnx::TensorProto_DataType_DOUBLE, {2});
        dbl->add_double_data(0.1);
        dbl->add_double_data(-3.5);
        auto* scalar = g->add_initializer();
        setTensor(scalar, "scalar", onnx::TensorProto_DataType_FLOAT, {});
        scalar->add_float_data(2.5f);
        auto* empty = g->add_initializer();
        setTensor(empty, "empty", onnx::TensorProto_DataType_FLOAT, {0, 4});

        const OnnxModel r = readOnnxModel(writeModel(m, "typed.onnx"));
        const auto& inits = r.initializers();
        QVERIFY(bitEqual(inits.at("i64"), at::tensor(std::vector<std::int64_t>{-5, 0, 1ll << 40})));
        QVERIFY(bitEqual(inits.at("i8"), at::tensor(std::vector<std::int8_t>{-7, 100}).to(at::kChar)));
        QVERIFY(bitEqual(inits.at("bool"), at::tensor(std::vector<std::uint8_t>{1, 0, 1}).to(at::kBool)));
        QVERIFY(bitEqual(inits.at("half"), at::tensor(std::vector<float>{1.0f, -2.0f}).to(at::kHalf)));
        QVERIFY(bitEqual(inits.at("double"), at::tensor(std::vector<double>{0.1, -3.5})));
        QCOMPARE(inits.at("scalar").dim(), std::int64_t(0));
        QCOMPARE(inits.at("scalar").item<float>(), 2.5f);
        QCOMPARE(inits.at("empty").sizes().vec(), (std::vector<std::int64_t>{0, 4}));
    }

    void rejectsBadTensors_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("external-data") << QStringLiteral("external") << QStringLiteral("external file ('weights.bin')");
        QTest::newRow("string-type") << QStringLiteral("string") << QStringLiteral("unsupported data type STRING");
        QTest::newRow("uint64-type") << QStringLiteral("uint64") << QStringLiteral("unsupported data type UINT64");
        QTest::newRow("raw-size") << QStringLiteral("raw-size") << QStringLiteral("12 bytes of raw_data but its dims and type FLOAT need 16");
        QTest::newRow("typed-count") << QStringLiteral("typed-count") << QStringLiteral("holds 3 values but its dims need 4");
        QTest::newRow("negative-dim") << QStringLiteral("negative-dim") << QStringLiteral("negative dimension");
        QTest::newRow("duplicate") << QStringLiteral("duplicate") << QStringLiteral("two initializers named 'W'");
        QTest::newRow("constant-attribute") << QStringLiteral("constant") << QStringLiteral("node '/shape/Constant'");
    }
    void rejectsBadTensors()
    {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        onnx::ModelProto m = smallModel(at::ones({2, 2}), at::ones({2}));
        auto* g = m.mutable_graph();
        auto* t = g->add_initializer();
        setTensor(t, "bad", onnx::TensorProto_DataType_FLOAT, {4});
        if (kind == QStringLiteral("external")) {
            t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
            auto* kv = t->add_external_data();
            kv->set_key("location");
            kv->set_value("weights.bin");
        } else if (kind == QStringLiteral("string")) {
            t->set_data_type(onnx::TensorProto_DataType_STRING);
        } else if (kind == QStringLiteral("uint64")) {
            t->set_data_type(onnx::TensorProto_DataType_UINT64);
        } else if (kind == QStringLiteral("raw-size")) {
            t->set_raw_data(std::string(12, '\0'));
        } else if (kind == QStringLiteral("typed-count")) {
            for (int k = 0; k < 3; ++k)
                t->add_float_data(1.0f);
        } else if (kind == QStringLiteral("negative-dim")) {
            t->set_dims(0, -4);
        } else if (kind == QStringLiteral("duplicate")) {
            t->set_name("W");
            t->set_raw_data(std::string(16, '\0'));
        } else if (kind == QStringLiteral("constant")) {
            t->set_raw_data(std::string(16, '\0'));
            g->mutable_node(0)->mutable_attribute(0)->mutable_t()->set_data_type(onnx::TensorProto_DataType_STRING);
        }
        const fs::path path = writeModel(m, "bad-" + kind.toStdString() + ".onnx");
        const QString err = errorOf(path);
        QVERIFY2(err.contains(expected), qPrintable(err));
        QVERIFY2(err.contains(QString::fromStdString(path.string())), qPrintable(err));
    }

    void rejectsFilesThatAreNotOnnxModels_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("text") << QByteArray("this is a text file, not a model\n") << QStringLiteral("is not an ONNX model");
        QTest::newRow("zip") << QByteArray("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10) << QStringLiteral("is not an ONNX model");
        QTest::newRow("safetensors") << QByteArray("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}       ", 24) << QStringLiteral("is not an ONNX model");
        QTest::newRow("no-graph") << QByteArray("\x08\x07", 2) << QStringLiteral("it has no graph");
        QTest::newRow("bad-varint") << QByteArray(12, '\xff') << QStringLiteral("is not an ONNX model");
    }
    void rejectsFilesThatAreNotOnnxModels()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const fs::path path = scratch(std::string("not-onnx-") + QTest::currentDataTag() + ".onnx");
        writeBytes(path, bytes.toStdString());
        const QString err = errorOf(path);
        QVERIFY2(err.contains(expected), qPrintable(err));
        QVERIFY2(err.contains(QString::fromStdString(path.string())), qPrintable(err));
    }

    void rejectsTruncatedFiles()
    {
        onnx::ModelProto m = smallModel(at::randn({64, 64}), at::randn({64}));
        std::string bytes;
        QVERIFY(m.SerializeToString(&bytes));
        for (const double fraction : {0.2, 0.5, 0.9, 0.999}) {
            const fs::path path = scratch("truncated-" + std::to_string(fraction) + ".onnx");
            writeBytes(path, bytes.substr(0, static_cast<std::size_t>(bytes.size() * fraction)));
            const QString err = errorOf(path);
            QVERIFY2(err.contains(QStringLiteral("truncated ONNX file")), qPrintable(err));
            QVERIFY2(err.contains(QString::fromStdString(path.string())), qPrintable(err));
        }
    }

    void rejectsEmptyMissingAndDirectory()
    {
        const fs::path empty = scratch("empty.onnx");
        writeBytes(empty, "");
        QVERIFY(errorOf(empty).contains(QStringLiteral("empty")));
        QVERIFY(errorOf(scratch("missing.onnx")).contains(QStringLiteral("No such file")));
        QVERIFY(errorOf(scratch("")).contains(QStringLiteral("directory")));
    }

    void reportsProgressAndHonoursCancellation()
    {
        const fs::path path = writeModel(smallModel(at::ones({2, 2}), at::ones({2})), "progress.onnx");
        std::vector<double> fractions;
        birkhoff::Progress progress;
        progress.onProgress = [&](double f, const std::string&) { fractions.push_back(f); };
        readOnnxModel(path, progress);
        QVERIFY(!fractions.empty());
        QCOMPARE(fractions.back(), 1.0);

        birkhoff::CancelToken token;
        token.cancel();
        birkhoff::Progress cancelled;
        cancelled.cancel = &token;
        QVERIFY_THROWS_EXCEPTION(birkhoff::CancelledError, readOnnxModel(path, cancelled));
    }
};

BIRKHOFF_REGISTER_TEST(TestOnnxModel);
#include "test_onnx_model.moc"
