// The compressed file format on synthetic models: write/read round trips, decoding against the
// reference decode math, exact size prediction, the fast index packer against the reference
// packer, and a clear error for every kind of inconsistent file.
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/format/index_packing.h"
#include "core/io/safetensors.h"
#include "kernels/bitpack.h"
#include "kernels/decode.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/Functions.h>

#include <QTest>

#include <functional>
#include <random>

using namespace birkhoff;
using namespace birkhoff::format;

namespace {

// An encoded tensor with random valid indices.
EncodedTensor makeEncoded(const std::string& name, LoadType type, std::vector<std::int64_t> shape, std::uint32_t U,
                          std::uint8_t uPos, std::uint32_t K, std::mt19937& rng)
{
    EncodedTensor t;
    t.name = name;
    t.loadType = type;
    t.shape = std::move(shape);
    t.padded = type == LoadType::LinearMatrix ? t.shape[1] % 2 != 0 : t.numel() % 2 != 0;
    t.center[0] = 0.01f;
    t.center[1] = -0.02f;
    t.farthest[0] = 0.2f;
    t.farthest[1] = 0.1f;
    t.l = 0.1f;
    t.U = U;
    t.uPosition = uPos;
    t.K = K;
    std::uniform_int_distribution<std::uint32_t> pick(0, U * (K + 1) - 1);
    std::vector<std::uint32_t> idx(static_cast<std::size_t>(t.indexCount()));
    std::uint32_t mx = 0;
    for (auto& v : idx) {
        v = pick(rng);
        mx = std::max(mx, v);
    }
    t.bits = kernels::bitWidthFor(mx);
    t.packed = at::empty({static_cast<std::int64_t>(kernels::packedByteCount(idx.size(), t.bits))}, at::kByte);
    t.padBits = packIndexStream(idx.data(), idx.size(), t.bits, t.packed.data_ptr<std::uint8_t>());
    return t;
}

CompressedModel makeModel()
{
    std::mt19937 rng(7);
    CompressedModel m;
    m.l = 0.1f;
    m.uList = {1225, 1600};
    m.tensors.push_back(makeEncoded("enc.qkv.weight", LoadType::LinearMatrix, {48, 32}, 1225, 0, 1, rng));
    m.tensors.push_back(makeEncoded("enc.odd.weight", LoadType::LinearMatrix, {5, 7}, 1600, 1, 3, rng));
    m.tensors.push_back(makeEncoded("enc.norm.bias", LoadType::Pairs, {33}, 1225, 0, 0, rng));
    m.tensors.push_back(makeEncoded("enc.conv.weight", LoadType::Pairs, {4, 3, 2, 2}, 1600, 1, 2, rng));
    EncodedTensor buffer;
    buffer.name = "pe.gaussian";
    buffer.loadType = LoadType::Raw;
    buffer.loadTypeIsVector = true;
    buffer.raw = at::arange(6, at::kLong).view({2, 3});
    m.tensors.push_back(buffer);
    EncodedTensor fallback;
    fallback.name = "enc.fallback.weight";
    fallback.loadType = LoadType::Raw;
    fallback.raw = at::randn({4, 8});
    m.tensors.push_back(fallback);
    return m;
}

// Reference decode of one tensor, element by element through kernels::decodeIndex.
at::Tensor referenceDecode(const EncodedTensor& t)
{
    const kernels::LatticeParams p = t.lattice();
    const std::int64_t rows = t.indexRows(), cols = t.indexCols();
    at::Tensor out = at::empty({rows, 2 * cols}, at::kFloat);
    for (std::int64_t i = 0; i < rows * cols; ++i)
        kernels::decodeIndex(p, kernels::packedIndexAt(t.packed.data_ptr<std::uint8_t>(), t.bits, t.padBits,
                                                       static_cast<std::size_t>(i)),
                             out.data_ptr<float>() + 2 * i);
    if (t.loadType == LoadType::LinearMatrix)
        return out.narrow(1, 0, t.shape[1]).contiguous();
    return out.view({-1}).narrow(0, 0, t.numel()).view(t.shape);
}

// Expects parseCompressedModel to reject `dict` with a message containing every fragment.
void expectRejected(const io::StateDict& dict, const std::vector<std::string>& fragments)
{
    io::SafetensorsContent content;
    content.tensors = dict;
    try {
        parseCompressedModel(content, "bad.safetensors");
        QFAIL(("accepted a file that should fail with: " + fragments.front()).c_str());
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const auto& f : fragments)
            QVERIFY2(msg.find(f) != std::string::npos, ("message '" + msg + "' lacks '" + f + "'").c_str());
    }
}

io::StateDict modified(const std::function<void(io::StateDict&)>& edit)
{
    io::StateDict d = compressedFileTensors(makeModel());
    edit(d);
    return d;
}

}  // namespace

class TestCompressedFormat : public QObject {
    Q_OBJECT
private slots:
    void fastPackerMatchesReference()
    {
        std::mt19937 rng(1);
        for (unsigned bits = 1; bits <= 32; ++bits) {
            for (std::size_t count : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(9), std::size_t(1000)}) {
                const std::uint64_t mask = bits == 32 ? 0xffffffffull : ((1ull << bits) - 1);
                std::vector<std::uint32_t> idx(count);
                for (auto& v : idx)
                    v = static_cast<std::uint32_t>(rng() & mask);
                const std::size_t nbytes = kernels::packedByteCount(count, bits);
                std::vector<std::uint8_t> fast(nbytes + 1, 0xAB), ref(nbytes + 1, 0xAB);
                const unsigned padFast = packIndexStream(idx.data(), count, bits, fast.data());
                const unsigned padRef = kernels::packIndices(idx.data(), count, bits, ref.data());
                QCOMPARE(padFast, padRef);
                QCOMPARE(fast, ref);  // includes the untouched guard byte
                std::vector<std::uint32_t> back(count);
                for (std::size_t first = 0; first < count; first += 333) {
                    const std::size_t n = std::min<std::size_t>(333, count - first);
                    unpackIndexRange(fast.data(), nbytes, bits, padFast, first, n, back.data() + first);
                }
                QCOMPARE(back, idx);
            }
        }
    }

    void roundTripKeepsEverything()
    {
        const CompressedModel m = makeModel();
        const std::string path = (test::scratchDir() + QStringLiteral("/synthetic.safetensors")).toStdString();
        writeCompressedModel(path, m);
        QCOMPARE(std::uint64_t(std::filesystem::file_size(path)), compressedFileSize(m));
        const CompressedModel r = readCompressedModel(path);
        QCOMPARE(r.tensors.size(), m.tensors.size());
        QCOMPARE(r.l, m.l);
        QCOMPARE(r.uList, m.uList);
        QVERIFY(r.extensions.empty());
        for (std::size_t i = 0; i < m.tensors.size(); ++i) {
            const EncodedTensor& a = m.tensors[i];
            const EncodedTensor& b = r.tensors[i];
            QCOMPARE(b.name, a.name);
            QCOMPARE(b.loadType, a.loadType);
            if (!a.isEncoded()) {
                QCOMPARE(b.loadTypeIsVector, a.loadTypeIsVector);
                QVERIFY(b.raw.equal(a.raw));
                continue;
            }
            QCOMPARE(b.shape, a.shape);
            QCOMPARE(b.padded, a.padded);
            QCOMPARE(b.U, a.U);
            QCOMPARE(b.K, a.K);
            QCOMPARE(b.bits, a.bits);
            QCOMPARE(b.padBits, a.padBits);
            QVERIFY(b.packed.equal(a.packed));
            QVERIFY(decodeTensor(b).equal(referenceDecode(a)));
            const at::Tensor idx = b.unpackedIndices();
            QCOMPARE(idx.size(0), b.indexRows() == 1 && b.loadType == LoadType::Pairs ? b.indexCount() : b.indexRows());
        }
        const io::StateDict dense = restoreDense(r);
        QCOMPARE(dense.names(), (std::vector<std::string>{"enc.qkv.weight", "enc.odd.weight", "enc.norm.bias",
                                                          "enc.conv.weight", "pe.gaussian", "enc.fallback.weight"}));
        QCOMPARE(dense.at("enc.odd.weight").sizes(), (c10::IntArrayRef{5, 7}));
        QCOMPARE(dense.at("enc.norm.bias").sizes(), (c10::IntArrayRef{33}));
        QCOMPARE(dense.at("pe.gaussian").scalar_type(), at::kLong);
    }

    void layoutMatchesAuthors()
    {
        const io::StateDict d = compressedFileTensors(makeModel());
        QCOMPARE(d.at("rect_l").dim(), int64_t(0));
        QCOMPARE(d.at("num_inner_list").scalar_type(), at::kLong);
        QCOMPARE(d.at("pe.gaussian.load_type").sizes(), (c10::IntArrayRef{1}));
        QCOMPARE(d.at("enc.fallback.weight.load_type").dim(), int64_t(0));
        for (const char* k : {".load_type", ".uint_i", ".padding_bits", ".if_padding", ".U", ".K"}) {
            const at::Tensor& t = d.at(std::string("enc.qkv.weight") + k);
            QCOMPARE(t.dim(), int64_t(0));
            QCOMPARE(t.scalar_type(), at::kByte);
        }
        QCOMPARE(d.at("enc.qkv.weight.center_node").sizes(), (c10::IntArrayRef{2}));
        QCOMPARE(d.at("enc.conv.weight.original_shape").scalar_type(), at::kLong);
        QVERIFY(!d.contains("enc.qkv.weight.rect_l"));
    }

    void perTensorLIsAMarkedExtension()
    {
        CompressedModel m = makeModel();
        m.tensors[0].l = 0.05f;
        const std::string path = (test::scratchDir() + QStringLiteral("/ext.safetensors")).toStdString();
        writeCompressedModel(path, m);
        const CompressedModel r = readCompressedModel(path);
        QCOMPARE(r.tensors[0].l, 0.05f);
        QCOMPARE(r.tensors[1].l, 0.1f);
        QCOMPARE(r.extensions, (std::vector<std::string>{extension::kPerTensorL}));
        QVERIFY(decodeTensor(r.tensors[0]).equal(referenceDecode(m.tensors[0])));
    }

    void inconsistentFilesAreRejected()
    {
        using D = io::StateDict;
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.qkv.weight.encoded_index", at::zeros({5}, at::kByte)); }),
                       {"enc.qkv.weight", "encoded_index has 5 bytes"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.qkv.weight.U", at::scalar_tensor(2, at::kByte)); }),
                       {"enc.qkv.weight", "U position 2 is out of range"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.norm.bias.uint_i", at::scalar_tensor(20, at::kByte)); }),
                       {"enc.norm.bias", "wider than any index"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.norm.bias.uint_i", at::scalar_tensor(0, at::kByte)); }),
                       {"enc.norm.bias", "outside [1, 32]"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.qkv.weight.padding_bits", at::scalar_tensor(3, at::kByte)); }),
                       {"enc.qkv.weight", "padding_bits = 3"});
        expectRejected(modified([](D& d) {
                           at::Tensor s = at::empty({2}, at::kLong);
                           s.data_ptr<std::int64_t>()[0] = 48;
                           s.data_ptr<std::int64_t>()[1] = 31;
                           d.insertOrAssign("enc.qkv.weight.original_shape", s);
                       }),
                       {"enc.qkv.weight", "if_padding = 0 but the shape needs 1"});
        expectRejected(modified([](D& d) {
                           at::Tensor s = at::empty({2}, at::kLong);
                           s.data_ptr<std::int64_t>()[0] = 48;
                           s.data_ptr<std::int64_t>()[1] = 30;
                           d.insertOrAssign("enc.qkv.weight.original_shape", s);
                       }),
                       {"enc.qkv.weight", "encoded_index has"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.qkv.weight.original_shape", at::full({1}, 1536, at::kLong)); }),
                       {"enc.qkv.weight", "2-D original_shape"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.qkv.weight.K", at::scalar_tensor(65, at::kByte)); }),
                       {"enc.qkv.weight", "K = 65"});
        expectRejected(modified([](D& d) { d.insertOrAssign("rect_l", at::scalar_tensor(-0.1, at::kFloat)); }),
                       {"rect_l", "must be finite and > 0"});
        expectRejected(modified([](D& d) {
                           at::Tensor u = at::empty({2}, at::kLong);
                           u.data_ptr<std::int64_t>()[0] = 1225;
                           u.data_ptr<std::int64_t>()[1] = 1601;
                           d.insertOrAssign("num_inner_list", u);
                       }),
                       {"num_inner_list[1] = 1601", "perfect square"});
        expectRejected(modified([](D& d) { d.erase("enc.conv.weight.farthest_node"); }),
                       {"enc.conv.weight", "farthest_node' is missing"});
        expectRejected(modified([](D& d) { d.insert("stray.key", at::zeros({1})); }), {"stray.key", "belongs to no tensor"});
        expectRejected(modified([](D& d) { d.insert("pe.gaussian.uint_i", at::scalar_tensor(3, at::kByte)); }),
                       {"pe.gaussian", "does not belong to a raw tensor"});
        expectRejected(modified([](D& d) { d.insertOrAssign("enc.norm.bias.load_type", at::scalar_tensor(3, at::kByte)); }),
                       {"enc.norm.bias", "load_type 3"});
        expectRejected(modified([](D& d) {
                           d.insertOrAssign("enc.conv.weight.center_node", at::full({2}, NAN, at::kFloat));
                       }),
                       {"enc.conv.weight", "not finite"});
        expectRejected(modified([](D& d) { d.erase("rect_l"); }), {"rect_l' is missing"});
    }

    void outOfRangeIndexFailsAtDecode()
    {
        CompressedModel m = makeModel();
        EncodedTensor& t = m.tensors[2];  // K = 0, U = 1225: indices must be < 1225
        t.bits = 11;
        std::vector<std::uint32_t> idx(static_cast<std::size_t>(t.indexCount()), 5);
        idx[3] = 2000;
        t.packed = at::empty({static_cast<std::int64_t>(kernels::packedByteCount(idx.size(), 11))}, at::kByte);
        t.padBits = packIndexStream(idx.data(), idx.size(), 11, t.packed.data_ptr<std::uint8_t>());
        QVERIFY_THROWS_EXCEPTION(Error, decodeTensor(t));
        try {
            decodeTensor(t);
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("index 2000 at position 3") != std::string::npos);
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestCompressedFormat);
#include "test_compressed_format.moc"
