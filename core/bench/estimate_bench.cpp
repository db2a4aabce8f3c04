// Estimate benchmark (see estimate_bench.h).
#include "core/bench/estimate_bench.h"
#include "core/util/stopwatch.h"

#include "core/bench/synthetic_checkpoint.h"
#include "core/codec/compressor.h"
#include "core/codec/estimate.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <ctime>

namespace birkhoff::bench {

namespace {

double meanMae(const codec::CompressionReport& r)
{
    double weighted = 0, count = 0;
    for (const auto& t : r.tensors) {
        if (t.path != codec::StoragePath::Hyper)
            continue;
        weighted += t.mae * static_cast<double>(t.parameters);
        count += static_cast<double>(t.parameters);
    }
    return count == 0 ? 0.0 : weighted / count;
}


double cpuSecondsSince(std::clock_t start)
{
    return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

}  // namespace

EstimateBenchResult runEstimateBenchmark(const std::vector<double>& fractions, bool withExact, const Progress& progress)
{
    const auto spec = samVitBSpec();
    const io::StateDict checkpoint = makeSyntheticCheckpoint(spec, 1);
    const auto roles = rolesOf(spec);
    EstimateBenchResult result;
    result.parameters = checkpoint.elementCount();
    result.threads = at::get_num_threads();
    auto start = std::chrono::steady_clock::now();
    std::clock_t cpuStart = std::clock();
    const codec::CompressionEstimator estimator(checkpoint, roles, 0, progress);
    result.prepareSeconds = secondsSince(start);
    result.prepareCpuSeconds = cpuSecondsSince(cpuStart);

    const codec::CompressOptions options;
    std::vector<codec::CompressionReport> reports;
    for (double fraction : fractions) {
        codec::EstimateOptions o;
        o.sampleFraction = fraction;
        start = std::chrono::steady_clock::now();
        cpuStart = std::clock();
        reports.push_back(estimator.estimate(options, o, progress));
        EstimateBenchRow row;
        row.seconds = secondsSince(start);
        row.cpuSeconds = cpuSecondsSince(cpuStart);
        row.sampleFraction = fraction;
        row.sampledElements = estimator.sampledElements(o);
        result.rows.push_back(row);
    }
    if (withExact) {
        start = std::chrono::steady_clock::now();
        cpuStart = std::clock();
        reports.push_back(codec::compressModel(checkpoint, roles, options, progress).report);
        EstimateBenchRow row;
        row.seconds = secondsSince(start);
        row.cpuSeconds = cpuSecondsSince(cpuStart);
        row.sampleFraction = 1.0;
        row.sampledElements = checkpoint.elementCount();
        result.rows.push_back(row);
    }
    const codec::CompressionReport& reference = reports.back();
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EstimateBenchRow& row = result.rows[i];
        row.ratio = reports[i].ratio();
        row.meanMae = meanMae(reports[i]);
        row.tensors = static_cast<int>(reports[i].tensors.size());
        for (std::size_t t = 0; t < reports[i].tensors.size(); ++t) {
            const auto& a = reports[i].tensors[t];
            const auto& b = reference.tensors[t];
            row.sameChoices += (a.path == b.path && a.U == b.U && a.K == b.K) ? 1 : 0;
        }
    }
    return result;
}

}  // namespace birkhoff::bench
