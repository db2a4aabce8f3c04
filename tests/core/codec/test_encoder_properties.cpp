// Properties of the encoder on random tensors of many shapes and distributions:
//  - every restored element is within the bound the lattice implies: a point in ring j lies
//    within ~1.2 pitches (per coordinate) of its codebook point in the scaled square, so its error
//    is at most 1.2 * d * r_j / (l/2) (d = l / sqrt(U), r_0 = l/2), plus float32 rounding (2.2
//    pitches when rounding moved codebook points away; without rings a pair outside the square
//    must get its nearest codebook point);
//  - the report's MAE and max error are those of format::decodeTensor;
//  - routing: buffers and tiny tensors raw, Linear weights as [out, ceil(in/2)] matrices (odd
//    widths included), NaN/Inf tensors raw with a warning, zero-size tensors raw;
//  - the result does not depend on the thread count; hints are honoured; cancellation stops.
#include "core/codec/lattice_nearest.h"
#include "core/codec/tensor_encoder.h"
#include "core/format/encoded_tensor.h"
#include "core/util/runtime.h"
#include "kernels/decode.h"
#include "tests/support/test_registry.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <QTest>

#include <cmath>

using namespace birkhoff;
using namespace birkhoff::codec;

namespace {

at::Tensor draw(const std::string& kind, const std::vector<std::int64_t>& shape, at::Generator& gen)
{
    const auto opts = at::TensorOptions().dtype(at::kFloat);
    if (kind == "normal")
        return at::normal(0.0, 0.02, shape, gen, opts);
    if (kind == "wide")
        return at::normal(0.01, 0.3, shape, gen, opts);
    if (kind == "uniform")
        return at::rand(shape, gen, opts) * 0.2 - 0.1;
    if (kind == "laplace") {
        const at::Tensor u = at::rand(shape, gen, opts) - 0.5;
        return -(1 - 2 * u.abs()).clamp_min(1e-7).log() * u.sign() * 0.02;
    }
    if (kind == "layernorm")
        return 1 + at::normal(0.0, 0.05, shape, gen, opts);
    if (kind == "outliers") {
        at::Tensor t = at::normal(0.0, 0.02, shape, gen, opts);
        t.view({-1})[0] = 0.9f;
        t.view({-1})[t.numel() - 1] = -0.7f;
        return t;
    }
    if (kind == "constant")
        return at::full(shape, 0.25f, opts);
    if (kind == "tiny")
        return at::normal(0.0, 1e-5, shape, gen, opts);
    throw std::runtime_error("unknown kind " + kind);
}

// Checks the per-element bound and the report's statistics for one encoding.
void checkBound(const std::string& what, const at::Tensor& original, const TensorEncoding& r)
{
    const format::EncodedTensor& t = r.tensor;
    QVERIFY2(t.isEncoded(), what.c_str());
    const at::Tensor decoded = format::decodeTensor(t);
    QCOMPARE(decoded.sizes(), original.sizes());
    const at::Tensor err = (decoded.to(at::kDouble) - original.to(at::kDouble)).abs();
    QVERIFY2(std::fabs(err.mean().item<double>() - r.mae) <= 1e-9 + 1e-6 * r.mae, what.c_str());
    QVERIFY2(std::fabs(err.max().item<double>() - r.maxAbsError) <= 1e-12, what.c_str());

    const kernels::LatticeParams p = t.lattice();
    const double pitch = static_cast<double>(t.l) / std::sqrt(static_cast<double>(t.U));
    // Where float32 rounding wrapped a codebook point to the opposite edge (fmod), the nearest
    // remaining point can be one pitch farther.
    const LatticeNearest nn(p);
    const double reach = nn.strayCount() == 0 ? 1.2 : 2.2;
    const at::Tensor idx = t.unpackedIndices().view({-1});
    // Errors and original values laid out as the stored pairs (the pad slot holds 0).
    const auto asPairs = [&](const at::Tensor& x) {
        return t.loadType == format::LoadType::LinearMatrix
                   ? at::constant_pad_nd(x, {0, 2 * t.indexCols() - x.size(1)}).reshape({-1, 2})
                   : at::constant_pad_nd(x.reshape({-1}), {0, 2 * t.indexCount() - x.numel()}).reshape({-1, 2});
    };
    const at::Tensor errPairs = asPairs(err).contiguous();
    const at::Tensor origPairs = asPairs(original.to(at::kDouble)).contiguous();
    const double* e = errPairs.data_ptr<double>();
    const double* o = origPairs.data_ptr<double>();
    const double scale = std::max(1.0, original.abs().max().item<double>());
    for (std::int64_t i = 0; i < idx.numel(); ++i) {
        const auto j = static_cast<std::uint32_t>(idx.data_ptr<std::int32_t>()[i]) / t.U;
        const double radius = t.K == 0 ? p.halfL : p.halfL + j * static_cast<double>(p.ringStep);
        const bool padPair = t.padded && (i + 1) % t.indexCols() == 0;
        bool outsideSquare = false;
        for (int c = 0; c < 2; ++c)
            outsideSquare = outsideSquare || std::fabs(o[2 * i + c] - t.center[c]) > p.halfL;
        if (t.K == 0 && outsideSquare) {
            // Without rings a pair outside the square simply takes its nearest codebook point.
            if (!padPair)
                QCOMPARE(static_cast<std::uint32_t>(idx.data_ptr<std::int32_t>()[i]),
                         nn.bruteForce(static_cast<float>(o[2 * i]), static_cast<float>(o[2 * i + 1])));
            continue;
        }
        for (int c = 0; c < 2; ++c) {
            const double bound = reach * pitch * radius / p.halfL * (1 + 1e-5) + 4e-7 * scale;
            if (e[2 * i + c] > bound)
                QFAIL((what + ": element error " + std::to_string(e[2 * i + c]) + " above the bound "
                       + std::to_string(bound) + " (ring " + std::to_string(j) + ")")
                          .c_str());
        }
    }
}

}  // namespace

class TestEncoderProperties : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { configureThreads(); }

    void restoredErrorIsWithinTheLatticeBound()
    {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
        const std::vector<std::vector<std::int64_t>> shapes = {{10}, {11}, {97}, {256}, {3, 5},   {64, 33},
                                                               {7, 7, 3, 3}, {1, 4096}, {300, 64}, {2, 3, 4, 5}};
        const std::vector<std::string> kinds = {"normal", "wide",    "uniform",  "laplace",
                                                "layernorm", "outliers", "constant", "tiny"};
        struct Variant {
            float l;
            std::vector<std::uint32_t> u;
            std::uint32_t m;
        };
        const std::vector<Variant> variants = {{0.1f, {1225, 1600}, 3}, {0.02f, {225}, 1}, {0.5f, {4096}, 8}, {0.1f, {64}, 0}};
        int checked = 0;
        for (const auto& shape : shapes)
            for (const auto& kind : kinds)
                for (const Variant& v : variants) {
                    const at::Tensor w = draw(kind, shape, gen);
                    TensorSettings s;
                    s.l = v.l;
                    s.uList = v.u;
                    s.maxRings = v.m;
                    s.rawFallback = false;
                    for (TensorRole role : {TensorRole::Parameter, TensorRole::LinearWeight}) {
                        if (role == TensorRole::LinearWeight && shape.size() != 2)
                            continue;
                        const TensorEncoding r = encodeTensor("t", w, role, s);
                        std::string what = kind + " shape";
                        for (auto d : shape)
                            what += " " + std::to_string(d);
                        what += " l=" + std::to_string(v.l) + " M=" + std::to_string(v.m) + " " + roleName(role);
                        QCOMPARE(r.path, StoragePath::Hyper);
                        QCOMPARE(r.tensor.loadType, role == TensorRole::LinearWeight ? format::LoadType::LinearMatrix
                                                                                     : format::LoadType::Pairs);
                        QVERIFY(r.tensor.K <= v.m);
                        checkBound(what, w, r);
                        ++checked;
                    }
                }
        qInfo("%d encodings within the lattice bound", checked);
    }

    void routesTensorsLikeTheAuthors()
    {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
        const TensorSettings s;
        const at::Tensor w = at::normal(0.0, 0.02, {48, 31}, gen);
        QCOMPARE(encodeTensor("b", w, TensorRole::Buffer, s).path, StoragePath::Buffer);
        QVERIFY(encodeTensor("b", w, TensorRole::Buffer, s).tensor.loadTypeIsVector);
        const TensorEncoding small = encodeTensor("s", at::ones({9}), TensorRole::Parameter, s);
        QCOMPARE(small.path, StoragePath::Small);
        QVERIFY(small.tensor.loadTypeIsVector);
        QCOMPARE(encodeTensor("z", at::empty({0, 768}), TensorRole::LinearWeight, s).path, StoragePath::Small);

        const TensorEncoding odd = encodeTensor("odd", w, TensorRole::LinearWeight, s);
        QCOMPARE(odd.path, StoragePath::Hyper);
        QVERIFY(odd.tensor.padded);
        QCOMPARE(odd.tensor.indexRows(), std::int64_t(48));
        QCOMPARE(odd.tensor.indexCols(), std::int64_t(16));
        QCOMPARE(format::decodeTensor(odd.tensor).sizes(), w.sizes());

        at::Tensor bad = w.clone();
        bad[3][4] = NAN;
        const TensorEncoding nan = encodeTensor("nan", bad, TensorRole::LinearWeight, s);
        QCOMPARE(nan.path, StoragePath::Raw);
        QVERIFY(!nan.tensor.loadTypeIsVector);
        QVERIFY(nan.warning.find("NaN") != std::string::npos);
        bad[3][4] = INFINITY;
        QCOMPARE(encodeTensor("inf", bad, TensorRole::Parameter, s).path, StoragePath::Raw);

        const TensorEncoding wide = encodeTensor("wide", w * 25, TensorRole::LinearWeight, s);
        QCOMPARE(wide.path, StoragePath::Raw);  // MAE fallback
        QVERIFY(wide.officialMae > 0.006f);
        QVERIFY(wide.warning.find("stored raw") != std::string::npos);

        TensorSettings keep;
        keep.keepRaw = true;
        QCOMPARE(encodeTensor("k", w, TensorRole::Parameter, keep).path, StoragePath::Raw);

        QVERIFY_THROWS_EXCEPTION(Error, encodeTensor("x", at::zeros({4, 4, 4}), TensorRole::LinearWeight, s));
        TensorSettings badU;
        badU.uList = {1000};
        QVERIFY_THROWS_EXCEPTION(Error, encodeTensor("x", w, TensorRole::Parameter, badU));
    }

    void resultIsIndependentOfThreadCount()
    {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(8);
        const at::Tensor w = at::normal(0.0, 0.03, {768, 300}, gen);  // several chunks, outer pairs
        const TensorSettings s;
        const int threads = at::get_num_threads();
        at::set_num_threads(1);
        const TensorEncoding one = encodeTensor("w", w, TensorRole::LinearWeight, s);
        at::set_num_threads(std::max(2, threads));
        const TensorEncoding many = encodeTensor("w", w, TensorRole::LinearWeight, s);
        at::set_num_threads(threads);
        QVERIFY(one.tensor.packed.equal(many.tensor.packed));
        QCOMPARE(one.tensor.center[0], many.tensor.center[0]);
        QCOMPARE(one.officialMae, many.officialMae);
        QCOMPARE(one.mae, many.mae);
    }

    void hintsAreHonoured()
    {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
        const at::Tensor w = at::normal(0.0, 0.02, {101}, gen);
        EncodeHints h;
        h.hasCenter = true;
        h.center[0] = 0.001f;
        h.center[1] = -0.002f;
        h.hasPadValue = true;
        h.padValue = 0.0123f;
        const TensorEncoding r = encodeTensor("w", w, TensorRole::Parameter, TensorSettings{}, h);
        QCOMPARE(r.tensor.center[0], 0.001f);
        QCOMPARE(r.tensor.center[1], -0.002f);
        QVERIFY(r.tensor.padded);
    }

    void cancellationStops()
    {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(10);
        CancelToken token;
        token.cancel();
        QVERIFY_THROWS_EXCEPTION(CancelledError, encodeTensor("w", at::normal(0.0, 0.02, {512, 512}, gen),
                                                              TensorRole::LinearWeight, TensorSettings{}, {}, &token));
    }
};

BIRKHOFF_REGISTER_TEST(TestEncoderProperties);
#include "test_encoder_properties.moc"
