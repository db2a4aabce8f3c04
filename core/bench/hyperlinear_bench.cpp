// HyperLinear benchmark: dense vs decode-then-dense vs HyperLinear, interleaved (see header).
#include "core/bench/hyperlinear_bench.h"

#include "core/bench/synthetic_checkpoint.h"
#include "core/codec/tensor_encoder.h"
#include "core/models/hyper_linear.h"
#include "core/util/error.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

namespace birkhoff::bench {

namespace {

using Clock = std::chrono::steady_clock;

/// Deterministic N(0, scale^2) values of the given shape.
at::Tensor normalTensor(std::vector<std::int64_t> sizes, float scale, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.f, scale);
    at::Tensor t = at::empty(sizes, at::kFloat);
    float* data = t.data_ptr<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        data[i] = normal(rng);
    return t;
}

/// A Linear weight drawn like a trained SAM weight (core/bench/synthetic_checkpoint.h) and
/// compressed with the paper's defaults by the codec.
format::EncodedTensor compressedSamLikeWeight(const LinearShape& shape, const std::string& name, std::uint64_t seed)
{
    const SyntheticTensorSpec spec{name, {shape.out, shape.in}, codec::TensorRole::LinearWeight,
                                   ValueKind::LinearOrConvWeight};
    const io::StateDict drawn = makeSyntheticCheckpoint({spec}, seed);
    codec::TensorEncoding encoding =
        codec::encodeTensor(name, drawn.at(name), codec::TensorRole::LinearWeight, codec::TensorSettings{});
    if (encoding.path != codec::StoragePath::Hyper)
        throw Error("bench hyperlinear: the synthetic weight " + name + " was stored " +
                    codec::storagePathName(encoding.path) + " instead of compressed");
    return std::move(encoding.tensor);
}

double medianOf(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Restores LibTorch's intra-op thread count on scope exit.
class ThreadCountScope {
public:
    explicit ThreadCountScope(int threads) : previous_(at::get_num_threads())
    {
        if (threads > 0 && threads != previous_)
            at::set_num_threads(threads);
    }
    ~ThreadCountScope()
    {
        if (at::get_num_threads() != previous_)
            at::set_num_threads(previous_);
    }
    ThreadCountScope(const ThreadCountScope&) = delete;
    ThreadCountScope& operator=(const ThreadCountScope&) = delete;

private:
    int previous_;
};

/// The weights of one (shape, cache) case: `copies` identical dense weights and backends.
struct WeightSet {
    std::vector<at::Tensor> dense;
    std::vector<std::shared_ptr<models::HyperLinearBackend>> hyper;
};

WeightSet makeWeights(const format::EncodedTensor& encoded, const at::Tensor& dense, std::int64_t copies,
                      const models::HyperLinearOptions& options)
{
    WeightSet set;
    for (std::int64_t i = 0; i < copies; ++i) {
        set.dense.push_back(i == 0 ? dense : dense.clone());
        set.hyper.push_back(models::HyperLinearBackend::fromEncoded(encoded, options));
    }
    return set;
}

}  // namespace

std::vector<LinearShape> samLinearShapes()
{
    return {
        {"sam-vit-b", 2304, 768},  {"sam-vit-b", 768, 768},   {"sam-vit-b", 3072, 768},
        {"sam-vit-b", 768, 3072},  {"mobilesam", 384, 128},   {"mobilesam", 480, 160},
        {"mobilesam", 960, 320},   {"mobilesam", 1280, 320},  {"mobilesam", 320, 1280},
    };
}

std::vector<HyperLinearBenchRecord> runHyperLinearBench(const HyperLinearBenchOptions& options,
                                                        const Progress& progress)
{
    for (const auto& cache : options.caches)
        if (cache != "hot" && cache != "cold")
            throw Error("bench hyperlinear: unknown cache mode '" + cache + "' (hot or cold)");
    for (const auto& s : options.shapes)
        if (s.out < 1 || s.in < 1)
            throw Error("bench hyperlinear: invalid shape " + std::to_string(s.out) + "x" + std::to_string(s.in));
    for (std::int64_t t : options.tokens)
        if (t < 1)
            throw Error("bench hyperlinear: token counts must be positive, got " + std::to_string(t));

    const ThreadCountScope threadScope(options.threads);
    const at::NoGradGuard noGrad;
    const int threads = at::get_num_threads();
    models::HyperLinearOptions hyperOptions;
    hyperOptions.cpuIsa = options.isa;
    const std::string isa = kernels::cpuIsaName(kernels::effectiveHyperLinearIsa(options.isa));

    std::vector<HyperLinearBenchRecord> records;
    const double totalCases = double(options.shapes.size() * options.caches.size() * options.tokens.size());
    double doneCases = 0;
    for (std::size_t si = 0; si < options.shapes.size(); ++si) {
        const LinearShape& shape = options.shapes[si];
        const std::string shapeText = std::to_string(shape.out) + "x" + std::to_string(shape.in);
        const format::EncodedTensor encoded = compressedSamLikeWeight(shape, shape.model + "." + shapeText, 1000 + si);
        const auto probe = models::HyperLinearBackend::fromEncoded(encoded, hyperOptions);
        const at::Tensor dense = probe->denseWeight();  // the compressed weight's values, dense
        const at::Tensor bias = normalTensor({shape.out}, 0.02f, 2000 + si);
        const std::int64_t hyperBytes = probe->weightBytes();
        for (const auto& cache : options.caches) {
            const std::int64_t copies =
                cache == "hot" ? 1 : std::max<std::int64_t>(1, (options.coldBytes + hyperBytes - 1) / hyperBytes);
            const WeightSet weights = makeWeights(encoded, dense, copies, hyperOptions);
            for (std::int64_t tokens : options.tokens) {
                progress.checkCancelled();
                progress.report(doneCases / totalCases, shapeText + " x " + std::to_string(tokens) + " tokens, " + cache);
                const at::Tensor x = normalTensor({tokens, shape.in}, 1.f, 3000 + static_cast<std::uint64_t>(tokens));
                std::size_t next = 0;
                auto nextCopy = [&] { return (next++) % static_cast<std::size_t>(copies); };
                const std::function<void()> methods[3] = {
                    [&] { at::linear(x, weights.dense[nextCopy()], bias); },
                    [&] { weights.hyper[nextCopy()]->referenceForward(x, bias); },
                    [&] { weights.hyper[nextCopy()]->forward(x, bias); },
                };
                for (const auto& m : methods)  // warm-up: first-touch pages, lazy per-weight set-up
                    m();
                std::vector<double> samples[3];
                double spent[3] = {0, 0, 0};
                for (int round = 0; round < 1000; ++round) {
                    if (round >= options.minRounds
                        && std::min({spent[0], spent[1], spent[2]}) >= options.seconds)
                        break;
                    for (int m = 0; m < 3; ++m) {
                        const auto start = Clock::now();
                        methods[m]();
                        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
                        samples[m].push_back(ms);
                        spent[m] += ms / 1000.0;
                    }
                }
                const at::Tensor expected = at::linear(x, dense, bias);
                const at::Tensor got = weights.hyper[0]->forward(x, bias);
                HyperLinearBenchRecord r;
                r.model = shape.model;
                r.shape = shapeText;
                r.tokens = tokens;
                r.cache = cache;
                r.denseMs = medianOf(samples[0]);
                r.decodeThenDenseMs = medianOf(samples[1]);
                r.hyperlinearMs = medianOf(samples[2]);
                r.ratio = r.hyperlinearMs / r.denseMs;
                r.denseWeightBytes = shape.out * shape.in * static_cast<std::int64_t>(sizeof(float));
                r.hyperWeightBytes = weights.hyper[0]->weightBytes();  // after use: a table if one was built
                r.threads = threads;
                r.isa = isa;
                r.relativeError = (got - expected).abs().max().item<double>()
                                  / std::max(1e-30, expected.abs().max().item<double>());
                records.push_back(r);
                doneCases += 1;
            }
        }
    }
    progress.report(1.0, "done");
    return records;
}

}  // namespace birkhoff::bench
