// CUDA HyperLinear kernel on a real GPU (label gpu): FP32 path within 1e-5 and TF32/BF16 tensor
// cores within 1e-2 of the CPU reference, bit-exact decoded weights on the FP32 path, for
// shapes that are not multiples of the tiles, odd `in`, 1 / odd / 4096 tokens, K = 0..3.
// Skips loudly when the build has no CUDA kernels or the machine has no usable CUDA device.
#include "kernels/hyperlinear.h"
#include "kernels/hyperlinear_cuda.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace birkhoff::kernels;

#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)
namespace {

/// Device copy of a host float vector.
class DeviceFloats {
public:
    explicit DeviceFloats(const std::vector<float>& host) : bytes_(host.size() * sizeof(float))
    {
        data_ = static_cast<float*>(cudaAllocate(bytes_, 0));
        cudaCopyToDevice(data_, host.data(), bytes_);
    }
    explicit DeviceFloats(std::size_t count) : bytes_(count * sizeof(float))
    {
        data_ = static_cast<float*>(cudaAllocate(bytes_, 0));
    }
    ~DeviceFloats() { cudaRelease(data_); }
    DeviceFloats(const DeviceFloats&) = delete;
    DeviceFloats& operator=(const DeviceFloats&) = delete;
    float* get() const { return data_; }
    std::vector<float> download() const
    {
        std::vector<float> host(bytes_ / sizeof(float));
        cudaCopyToHost(host.data(), data_, bytes_);
        return host;
    }

private:
    float* data_ = nullptr;
    std::size_t bytes_;
};

/// Why no CUDA device can be used, or an empty string when one can.
QString missingDeviceReason()
{
    std::string reason;
    if (cudaDeviceCount(&reason) > 0)
        return {};
    return QStringLiteral("no usable CUDA device (%1): the CUDA kernel was NOT run").arg(QString::fromStdString(reason));
}

}  // namespace

/// Skips the calling test function (loudly) without a usable CUDA device.
#define REQUIRE_CUDA_DEVICE()                                  \
    do {                                                       \
        const QString birkhoffNoDevice = missingDeviceReason(); \
        if (!birkhoffNoDevice.isEmpty())                       \
            BIRKHOFF_SKIP(birkhoffNoDevice);                   \
    } while (0)
#endif

class TestHyperLinearCuda : public QObject {
    Q_OBJECT
private slots:
#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)
    void matchesReference_data()
    {
        QTest::addColumn<qint64>("out");
        QTest::addColumn<qint64>("in");
        QTest::addColumn<qint64>("tokens");
        QTest::addColumn<unsigned>("U");
        QTest::addColumn<unsigned>("K");
        QTest::newRow("2304x768 T=1 K=1") << qint64(2304) << qint64(768) << qint64(1) << 1225u << 1u;
        QTest::newRow("768x3072 T=17 K=3") << qint64(768) << qint64(3072) << qint64(17) << 1600u << 3u;
        QTest::newRow("100x97 T=70 K=0") << qint64(100) << qint64(97) << qint64(70) << 225u << 0u;
        QTest::newRow("130x161 T=4096 K=2") << qint64(130) << qint64(161) << qint64(4096) << 1600u << 2u;
        QTest::newRow("17x5 T=3 K=1") << qint64(17) << qint64(5) << qint64(3) << 225u << 1u;
    }

    void matchesReference()
    {
        REQUIRE_CUDA_DEVICE();
        QFETCH(qint64, out);
        QFETCH(qint64, in);
        QFETCH(qint64, tokens);
        QFETCH(unsigned, U);
        QFETCH(unsigned, K);
        std::mt19937 rng(static_cast<unsigned>(out + in + tokens));
        const float c[2] = {0.002f, -0.001f}, far[2] = {0.3f, 0.1f};
        const LatticeParams lattice = makeLatticeParams(0.1f, U, K, c, far);
        std::vector<std::uint32_t> indices(static_cast<std::size_t>(out * ((in + 1) / 2)));
        std::uniform_int_distribution<std::uint32_t> pick(0, U * (K + 1) - 1);
        for (auto& t : indices)
            t = pick(rng);
        const HyperLinearWeight weight = HyperLinearWeight::fromIndices(indices.data(), out, in, lattice);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> x(static_cast<std::size_t>(tokens * in)), bias(static_cast<std::size_t>(out));
        for (auto& v : x)
            v = normal(rng);
        for (auto& v : bias)
            v = 0.1f * normal(rng);
        std::vector<float> ref(static_cast<std::size_t>(tokens * out));
        hyperLinearReference(weight, x.data(), tokens, bias.data(), ref.data());

        const CudaHyperLinearWeight device(weight, 0);
        QCOMPARE(device.deviceBytes(), weight.groupedIndices().size() + 2 * decodeTableEntries(lattice) * sizeof(float));
        const DeviceFloats dx(x), dbias(bias), dy(ref.size());
        for (CudaMath math : {CudaMath::Fp32, CudaMath::Tf32, CudaMath::Bf16}) {
            hyperLinearForwardCuda(device, dx.get(), tokens, dbias.get(), dy.get(), math);
            cudaSynchronizeDevice(0);
            const std::vector<float> y = dy.download();
            double maxDiff = 0.0, maxRef = 0.0;
            for (std::size_t i = 0; i < y.size(); ++i) {
                QVERIFY(std::isfinite(y[i]));
                maxDiff = std::max(maxDiff, std::abs(double(y[i]) - double(ref[i])));
                maxRef = std::max(maxRef, std::abs(double(ref[i])));
            }
            const double tolerance = math == CudaMath::Fp32 ? 1e-5 : 1e-2;
            QVERIFY2(maxDiff / maxRef <= tolerance, qPrintable(QStringLiteral("%1: relative error %2")
                                                                   .arg(QLatin1String(cudaMathName(math)))
                                                                   .arg(maxDiff / maxRef)));
        }
    }

    void weightsAreBitExactInFp32()
    {
        REQUIRE_CUDA_DEVICE();
        const std::int64_t out = 70, in = 45, pairs = 23;
        const float c[2] = {0.f, 0.01f}, far[2] = {0.4f, 0.f};
        const LatticeParams lattice = makeLatticeParams(0.1f, 1225, 3, c, far);
        std::vector<std::uint32_t> indices(out * pairs);
        for (std::size_t i = 0; i < indices.size(); ++i)
            indices[i] = static_cast<std::uint32_t>((i * 7919) % (1225 * 4));
        const HyperLinearWeight weight = HyperLinearWeight::fromIndices(indices.data(), out, in, lattice);
        std::vector<float> x(in * in, 0.f);
        for (std::int64_t t = 0; t < in; ++t)
            x[t * in + t] = 1.f;
        const CudaHyperLinearWeight device(weight, 0);
        const DeviceFloats dx(x), dy(static_cast<std::size_t>(in * out));
        hyperLinearForwardCuda(device, dx.get(), in, nullptr, dy.get(), CudaMath::Fp32);
        cudaSynchronizeDevice(0);
        const std::vector<float> y = dy.download();
        std::vector<float> dense(out * in);
        decodeDenseWeight(weight, dense.data());
        for (std::int64_t o = 0; o < out; ++o)
            for (std::int64_t k = 0; k < in; ++k)
                QCOMPARE(y[k * out + o], dense[o * in + k]);
    }
#else
    void cudaKernels()
    {
        BIRKHOFF_SKIP(QStringLiteral("built without CUDA kernels (configure with the cuda preset): the CUDA "
                                     "kernel was NOT tested"));
    }
#endif
};

BIRKHOFF_REGISTER_TEST(TestHyperLinearCuda);
#include "test_hyperlinear_cuda.moc"
