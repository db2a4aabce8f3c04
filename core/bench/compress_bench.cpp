// Compression benchmark: our encoder on the official encoder's reference workloads.
#include "core/bench/compress_bench.h"
#include "core/util/stopwatch.h"

#include "core/bench/synthetic_checkpoint.h"
#include "core/codec/compressor.h"
#include "core/format/compressed_writer.h"
#include "core/io/safetensors.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <ctime>

namespace birkhoff::bench {

namespace {

using Clock = std::chrono::steady_clock;


CompressBenchCase runCase(const std::string& name, const io::StateDict& checkpoint,
                          const std::vector<codec::TensorRole>& roles, const std::filesystem::path& file,
                          const Progress& progress)
{
    CompressBenchCase c;
    c.name = name;
    c.threads = at::get_num_threads();
    c.parameters = checkpoint.elementCount();
    c.originalBytes = io::safetensorsFileSize(checkpoint);
    codec::CompressOptions options;
    options.originalFileBytes = c.originalBytes;

    const std::clock_t cpuStart = std::clock();
    const auto start = Clock::now();
    const codec::CompressionResult result = codec::compressModel(checkpoint, roles, options, progress);
    c.compressSeconds = secondsSince(start);
    const auto writeStart = Clock::now();
    format::writeCompressedModel(file, result.model);
    c.writeSeconds = secondsSince(writeStart);
    c.cpuSeconds = static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    c.fileBytes = std::filesystem::file_size(file);
    std::filesystem::remove(file);

    double maeSum = 0;
    std::int64_t encoded = 0;
    for (const auto& t : result.model.tensors)
        if (t.isEncoded())
            c.pairs += t.indexCount();
    for (const auto& row : result.report.tensors)
        if (row.path == codec::StoragePath::Hyper) {
            maeSum += row.mae * static_cast<double>(row.parameters);
            encoded += row.parameters;
        }
    c.meanMae = encoded == 0 ? 0.0 : maeSum / static_cast<double>(encoded);
    return c;
}

}  // namespace

std::vector<CompressBenchCase> runCompressBenchmark(const std::filesystem::path& scratch, const Progress& progress)
{
    std::vector<CompressBenchCase> out;
    {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
        io::StateDict single;
        single.insert("mlp.lin1.weight", at::normal(0.0, 0.02, {3072, 768}, gen, at::TensorOptions().dtype(at::kFloat)));
        out.push_back(runCase("linear_3072x768_N(0,0.02)", single, {codec::TensorRole::LinearWeight},
                              scratch / "bench_linear.safetensors", progress));
    }
    {
        const auto spec = samVitBSpec();
        const io::StateDict checkpoint = makeSyntheticCheckpoint(spec, 2);
        out.push_back(runCase("sam_vit_b_synthetic", checkpoint, rolesOf(spec), scratch / "bench_vit_b.safetensors",
                              progress));
    }
    return out;
}

}  // namespace birkhoff::bench
