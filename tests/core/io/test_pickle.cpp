// The restricted unpickler and the state-dict layer on hand-made pickles: what torch.save
// writes is understood (protocols 2 and 4, OrderedDict + BUILD _metadata, views, parameters,
// wrappers), everything else is refused with a message naming the global or the tensor, and
// malformed bytes never crash.
#include "core/io/pickle.h"
#include "core/io/state_dict_pickle.h"
#include "core/util/error.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cstdint>
#include <string>

using namespace birkhoff::io;

namespace {

// Writes pickle opcodes by name, so tests read like pickletools listings.
class PickleBuilder {
public:
    explicit PickleBuilder(int protocol = 2)
    {
        raw("\x80");
        byte(protocol);
    }
    PickleBuilder& raw(const std::string& s) { bytes_ += s; return *this; }
    PickleBuilder& byte(int b) { bytes_ += static_cast<char>(b); return *this; }
    PickleBuilder& global(const std::string& module, const std::string& name)
    {
        return raw("c" + module + "\n" + name + "\n");
    }
    PickleBuilder& stackGlobal(const std::string& module, const std::string& name)
    {
        return shortStr(module).shortStr(name).byte(0x93);
    }
    PickleBuilder& str(const std::string& s)
    {
        raw("X");
        for (int i = 0; i < 4; ++i)
            byte(static_cast<int>((s.size() >> (8 * i)) & 0xff));
        return raw(s);
    }
    PickleBuilder& shortStr(const std::string& s) { return byte(0x8c).byte(static_cast<int>(s.size())).raw(s); }
    PickleBuilder& int1(int v) { return raw("K").byte(v); }
    PickleBuilder& mark() { return raw("("); }
    PickleBuilder& tuple() { return raw("t"); }
    PickleBuilder& emptyTuple() { return raw(")"); }
    PickleBuilder& reduce() { return raw("R"); }
    PickleBuilder& orderedDict() { return global("collections", "OrderedDict").emptyTuple().reduce(); }
    PickleBuilder& storage(const std::string& type, const std::string& key, int numel)
    {
        return mark().str("storage").global("torch", type).str(key).str("cpu").int1(numel).tuple().raw("Q");
    }
    // _rebuild_tensor_v2(storage, offset, (sizes), (strides), False, OrderedDict())
    PickleBuilder& tensor(const std::string& type, const std::string& key, int numel, int offset,
                          std::initializer_list<int> sizes, std::initializer_list<int> strides)
    {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(type, key, numel).int1(offset).mark();
        for (int s : sizes)
            int1(s);
        tuple().mark();
        for (int s : strides)
            int1(s);
        tuple().byte(0x89);
        return orderedDict().tuple().reduce();
    }
    PickleBuilder& stop() { return raw("."); }
    const std::string& bytes() const { return bytes_; }

private:
    std::string bytes_;
};

pickle::Document run(const std::string& bytes)
{
    return pickle::unpickle(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "'test.pth'");
}

StateDictRecords records(const std::string& bytes)
{
    return extractStateDict(run(bytes), "'test.pth'");
}

QString errorOf(const std::string& bytes)
{
    try {
        records(bytes);
    } catch (const birkhoff::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return QString();
}

// {'a': tensor(2x3 view into a 6-float storage)} as an OrderedDict.
std::string simpleStateDict()
{
    PickleBuilder b;
    b.orderedDict().mark().str("a").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1}).raw("u").stop();
    return b.bytes();
}

}  // namespace

class TestPickle : public QObject {
    Q_OBJECT
private slots:
    void readsOrderedDictOfTensors()
    {
        const auto r = records(simpleStateDict());
        QCOMPARE(r.tensors.size(), std::size_t{1});
        QCOMPARE(QString::fromStdString(r.tensors[0].name), QStringLiteral("a"));
        const auto& rec = r.tensors[0].record;
        QCOMPARE(rec.storage.key, std::string("0"));
        QCOMPARE(rec.storage.type, pickle::StorageType::Float);
        QCOMPARE(rec.storage.numel, std::int64_t{6});
        QCOMPARE(rec.sizes, (std::vector<std::int64_t>{2, 3}));
        QCOMPARE(rec.strides, (std::vector<std::int64_t>{3, 1}));
        QVERIFY(r.wrapper.empty());
        QVERIFY(r.notes.empty());
    }

    void acceptsMetadataBuildOnOrderedDict()
    {
        // What model.state_dict() pickles: items, then BUILD with {'_metadata': OrderedDict(...)}.
        PickleBuilder b;
        b.orderedDict().mark().str("w").tensor("HalfStorage", "0", 4, 0, {4}, {1}).raw("u");
        b.raw("}").str("_metadata").orderedDict().mark().str("").raw("}").str("version").int1(1).raw("s");
        b.raw("u").raw("s").raw("b").stop();
        const auto doc = run(b.bytes());
        QVERIFY(doc.root().attributes != nullptr);
        QVERIFY(doc.root().attributes->find("_metadata") != nullptr);
        const auto r = extractStateDict(doc, "'x'");
        QCOMPARE(r.tensors.size(), std::size_t{1});
        QCOMPARE(r.tensors[0].record.storage.type, pickle::StorageType::Half);
    }

    void readsProtocol4Framing()
    {
        PickleBuilder b(4);
        b.byte(0x95).raw(std::string(8, '\0'));  // FRAME (length is not checked)
        b.stackGlobal("collections", "OrderedDict").byte(0x94).emptyTuple().reduce().byte(0x94);
        b.mark().shortStr("p").byte(0x94);
        b.stackGlobal("torch._utils", "_rebuild_parameter");
        b.tensor("BFloat16Storage", "7", 3, 1, {2}, {1}).byte(0x88).orderedDict().raw("\x87").reduce();
        b.raw("u").stop();
        const auto r = records(b.bytes());
        QCOMPARE(r.tensors.size(), std::size_t{1});
        QVERIFY(r.tensors[0].record.parameter);
        QCOMPARE(r.tensors[0].record.offset, std::int64_t{1});
        QCOMPARE(r.tensors[0].record.storage.type, pickle::StorageType::BFloat16);
    }

    void memoAndIntegerEncodings()
    {
        // BINPUT/BINGET reuse, LONG1 (negative and 8-byte), BININT2, BININT, BINFLOAT, NONE.
        PickleBuilder b;
        b.raw("}").raw("q").byte(0).mark();
        b.str("neg").raw("\x8a\x01\xff");
        b.str("big").raw("\x8a\x08").raw(std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8));
        b.str("two").raw("M").byte(0x34).byte(0x12);
        b.str("four").raw("J").raw(std::string("\xfe\xff\xff\xff", 4));
        b.str("pi").raw("G").raw(std::string("\x40\x09\x21\xfb\x54\x44\x2d\x18", 8));
        b.str("none").raw("N").raw("u").raw("h").byte(0).raw("0").stop();
        const auto doc = run(b.bytes());
        const auto& root = doc.root();
        QCOMPARE(root.find("neg")->integer, std::int64_t{-1});
        QCOMPARE(root.find("big")->integer, std::int64_t{1} << 62);
        QCOMPARE(root.find("two")->integer, std::int64_t{0x1234});
        QCOMPARE(root.find("four")->integer, std::int64_t{-2});
        QCOMPARE(root.find("pi")->real, 3.141592653589793);
        QCOMPARE(root.find("none")->kind, pickle::Kind::None);
    }

    void refusesForeignGlobals_data()
    {
        QTest::addColumn<QString>("module");
        QTest::addColumn<QString>("name");
        QTest::newRow("os.system") << QStringLiteral("os") << QStringLiteral("system");
        QTest::newRow("posix.system") << QStringLiteral("posix") << QStringLiteral("system");
        QTest::newRow("builtins.eval") << QStringLiteral("builtins") << QStringLiteral("eval");
        QTest::newRow("nn.Linear") << QStringLiteral("torch.nn.modules.linear") << QStringLiteral("Linear");
        QTest::newRow("subprocess") << QStringLiteral("subprocess") << QStringLiteral("Popen");
        QTest::newRow("torch.load") << QStringLiteral("torch") << QStringLiteral("load");
        QTest::newRow("numpy scalar") << QStringLiteral("numpy.core.multiarray") << QStringLiteral("scalar");
    }
    void refusesForeignGlobals()
    {
        QFETCH(QString, module);
        QFETCH(QString, name);
        PickleBuilder b;
        b.global(module.toStdString(), name.toStdString()).str("touch /tmp/pwned").raw("\x85").reduce().stop();
        const QString err = errorOf(b.bytes());
        QVERIFY2(err.contains(QStringLiteral("refused to load global '%1.%2'").arg(module, name)), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("test.pth")), qPrintable(err));
        // The same refusal through STACK_GLOBAL (protocol 4).
        PickleBuilder b4(4);
        b4.stackGlobal(module.toStdString(), name.toStdString()).stop();
        QVERIFY(errorOf(b4.bytes()).contains(QStringLiteral("%1.%2").arg(module, name)));
    }

    void refusesMisuseOfAllowedGlobals()
    {
        PickleBuilder callStorage;
        callStorage.global("torch", "FloatStorage").emptyTuple().reduce().stop();
        QVERIFY(errorOf(callStorage.bytes()).contains(QStringLiteral("may only appear inside a storage reference")));

        PickleBuilder dictWithArgs;
        dictWithArgs.global("collections", "OrderedDict").mark().raw("]").tuple().reduce().stop();
        QVERIFY(errorOf(dictWithArgs.bytes()).contains(QStringLiteral("only OrderedDict() is allowed")));

        PickleBuilder buildOnList;
        buildOnList.raw("]").raw("}").raw("b").stop();
        QVERIFY(errorOf(buildOnList.bytes()).contains(QStringLiteral("BUILD")));

        PickleBuilder badPid;
        badPid.mark().str("storage").str("not a class").str("0").str("cpu").int1(1).tuple().raw("Q").stop();
        QVERIFY(errorOf(badPid.bytes()).contains(QStringLiteral("no torch storage class")));

        PickleBuilder pathKey;
        pathKey.mark().str("storage").global("torch", "FloatStorage").str("../x").str("cpu").int1(1).tuple().raw("Q").stop();
        QVERIFY(errorOf(pathKey.bytes()).contains(QStringLiteral("characters other than")));

        PickleBuilder wrongArity;
        wrongArity.global("torch._utils", "_rebuild_tensor_v2").emptyTuple().reduce().stop();
        QVERIFY(errorOf(wrongArity.bytes()).contains(QStringLiteral("arguments instead of 6 or 7")));
    }

    void malformedBytesFailCleanly_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty") << QByteArray() << QStringLiteral("truncated");
        QTest::newRow("no-stop") << QByteArray("\x80\x02}", 3) << QStringLiteral("truncated");
        QTest::newRow("underflow") << QByteArray("\x80\x02s.", 4) << QStringLiteral("stack underflow");
        QTest::newRow("bad-opcode") << QByteArray("\x80\x02\xff.", 4) << QStringLiteral("unsupported pickle opcode 0xff");
        QTest::newRow("memo-miss") << QByteArray("\x80\x02h\x05.", 5) << QStringLiteral("memo entry 5");
        QTest::newRow("long-string") << QByteArray("\x80\x02X\xff\xff\xff\x7f", 7) << QStringLiteral("truncated");
        QTest::newRow("two-values") << QByteArray("\x80\x02NN.", 5) << QStringLiteral("instead of one value");
        QTest::newRow("protocol-9") << QByteArray("\x80\x09N.", 4) << QStringLiteral("protocol 9");
        QTest::newRow("mark-fence") << QByteArray("\x80\x02](a.", 5) << QStringLiteral("stack underflow");
        QTest::newRow("list-key") << QByteArray("\x80\x02}]Ns.", 6) << QStringLiteral("unsupported dict key");
        QTest::newRow("huge-long") << QByteArray("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", 14)
                                   << QStringLiteral("does not fit in 64 bits");
        QTest::newRow("unterminated-global") << QByteArray("\x80\x02" "ccollections", 13) << QStringLiteral("unterminated");
    }
    void malformedBytesFailCleanly()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const QString err = errorOf(bytes.toStdString());
        QVERIFY2(err.contains(expected), qPrintable(err));
    }

    void unwrapsModelAndStateDictWrappersWithNotes()
    {
        for (const char* wrapper : {"model", "state_dict"}) {
            PickleBuilder b;
            b.raw("}").mark();
            b.str("epoch").int1(3);
            b.str(wrapper).orderedDict().mark().str("w").tensor("FloatStorage", "0", 2, 0, {2}, {1}).raw("u");
            b.str("name").str("vit_b");
            b.raw("u").stop();
            const auto r = records(b.bytes());
            QCOMPARE(QString::fromStdString(r.wrapper), QString::fromLatin1(wrapper));
            QCOMPARE(r.tensors.size(), std::size_t{1});
            QCOMPARE(r.tensors[0].name, std::string("w"));
            QCOMPARE(r.notes.size(), std::size_t{2});
            QVERIFY(QString::fromStdString(r.notes[0]).contains(QStringLiteral("'epoch' (int 3)")));
            QVERIFY(QString::fromStdString(r.notes[1]).contains(QStringLiteral("'name' (str 'vit_b')")));
        }
    }

    void flattensNestedDictsAndStripsDataParallelPrefix()
    {
        PickleBuilder b;
        b.raw("}").mark().str("module.enc").raw("}").mark();
        b.str("w").tensor("FloatStorage", "0", 4, 0, {4}, {1});
        b.str("b").tensor("FloatStorage", "0", 4, 2, {2}, {1});
        b.raw("u").str("module.lr").raw("G").raw(std::string("\x3f\x1a\x36\xe2\xeb\x1c\x43\x2d", 8)).raw("u").stop();
        const auto r = records(b.bytes());
        QCOMPARE(r.tensors.size(), std::size_t{2});
        QCOMPARE(r.tensors[0].name, std::string("enc.w"));
        QCOMPARE(r.tensors[1].name, std::string("enc.b"));
        QCOMPARE(r.tensors[1].record.offset, std::int64_t{2});
        bool stripped = false;
        for (const auto& n : r.notes)
            stripped = stripped || n.find("module.") != std::string::npos;
        QVERIFY(stripped);
    }

    void rejectsViewsPastTheirStorage()
    {
        // A 2x3 view with stride 3 needs 6 elements; the storage declares 5.
        PickleBuilder b;
        b.orderedDict().mark().str("image_encoder.blocks.0.attn.qkv.weight");
        b.tensor("FloatStorage", "0", 5, 0, {2, 3}, {3, 1}).raw("u").stop();
        const QString err = errorOf(b.bytes());
        QVERIFY2(err.contains(QStringLiteral("image_encoder.blocks.0.attn.qkv.weight")), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("needs 6 elements")), qPrintable(err));
        // Offset pushing a view past the end, and inconsistent storage declarations.
        PickleBuilder off;
        off.orderedDict().mark().str("t").tensor("FloatStorage", "0", 6, 4, {3}, {1}).raw("u").stop();
        QVERIFY(errorOf(off.bytes()).contains(QStringLiteral("needs 7 elements")));
        PickleBuilder twoTypes;
        twoTypes.orderedDict().mark().str("a").tensor("FloatStorage", "0", 6, 0, {6}, {1});
        twoTypes.str("b").tensor("HalfStorage", "0", 6, 0, {6}, {1}).raw("u").stop();
        QVERIFY(errorOf(twoTypes.bytes()).contains(QStringLiteral("earlier tensor")));
    }

    void rejectsNonStateDicts()
    {
        PickleBuilder list;
        list.raw("]").stop();
        QVERIFY(errorOf(list.bytes()).contains(QStringLiteral("holds a list")));
        PickleBuilder empty;
        empty.orderedDict().stop();
        QVERIFY(errorOf(empty.bytes()).contains(QStringLiteral("holds no tensors")));
        PickleBuilder dup;
        dup.raw("}").mark().str("a.b").tensor("FloatStorage", "0", 1, 0, {1}, {1});
        dup.str("a").raw("}").str("b").tensor("FloatStorage", "1", 1, 0, {1}, {1}).raw("s").raw("u").stop();
        QVERIFY(errorOf(dup.bytes()).contains(QStringLiteral("occurs twice")));
    }

    void selfReferencesTerminate()
    {
        // d = {}; d['d'] = d; d['t'] = tensor -> the cycle is skipped, the tensor kept.
        PickleBuilder b;
        b.raw("}").raw("q").byte(0).str("d").raw("h").byte(0).raw("s");
        b.str("t").tensor("FloatStorage", "0", 1, 0, {1}, {1}).raw("s").stop();
        const auto r = records(b.bytes());
        QCOMPARE(r.tensors.size(), std::size_t{1});
        QCOMPARE(r.tensors[0].name, std::string("t"));
    }

    void writerOutputReadsBack()
    {
        std::vector<NamedTensorRecord> in(3);
        in[0].name = "a";
        in[0].record.storage = {"0", pickle::StorageType::Float, "cpu", 6};
        in[0].record.sizes = {2, 3};
        in[0].record.strides = {3, 1};
        in[1].name = "a.t";
        in[1].record = in[0].record;
        in[1].record.sizes = {3, 2};
        in[1].record.strides = {1, 3};
        in[2].name = "huge.offset";
        in[2].record.storage = {"1", pickle::StorageType::Long, "cpu", 5000000000};
        in[2].record.offset = 4999999999;
        in[2].record.sizes = {1};
        in[2].record.strides = {1};
        for (const std::string wrapper : {"", "model"}) {
            const std::string bytes = pickleStateDict(in, wrapper);
            const auto r = records(bytes);
            QCOMPARE(r.wrapper, wrapper);
            QCOMPARE(r.tensors.size(), in.size());
            for (std::size_t i = 0; i < in.size(); ++i) {
                QCOMPARE(r.tensors[i].name, in[i].name);
                QCOMPARE(r.tensors[i].record.storage.key, in[i].record.storage.key);
                QCOMPARE(r.tensors[i].record.storage.numel, in[i].record.storage.numel);
                QCOMPARE(r.tensors[i].record.offset, in[i].record.offset);
                QCOMPARE(r.tensors[i].record.sizes, in[i].record.sizes);
                QCOMPARE(r.tensors[i].record.strides, in[i].record.strides);
            }
        }
    }

    void extentArithmetic()
    {
        pickle::TensorRecord r;
        r.offset = 3;
        r.sizes = {2, 0, 4};
        r.strides = {8, 1, 2};
        QCOMPARE(storageElementsNeeded(r, "x"), std::uint64_t{0});
        r.sizes = {2, 1, 4};
        QCOMPARE(storageElementsNeeded(r, "x"), std::uint64_t{3 + 8 + 6 + 1});
        r.strides = {std::int64_t{1} << 62, 1, std::int64_t{1} << 62};
        r.sizes = {4, 1, 4};
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, storageElementsNeeded(r, "x"));
        r.strides = {-1, 1, 1};
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, storageElementsNeeded(r, "x"));
    }
};

BIRKHOFF_REGISTER_TEST(TestPickle);
#include "test_pickle.moc"
