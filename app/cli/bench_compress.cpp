// `birkhoff bench compress [--json]`: compression speed against the authors' official encoder.
#include "cli/bench.h"
#include "cli/command.h"

#include "core/bench/compress_bench.h"

#include <QDir>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

int runCompressBench(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Compresses (a) one [3072,768] N(0,0.02) Linear weight and (b) a synthetic checkpoint with SAM ViT-B's keys "
        "and shapes with the paper's settings, and compares the throughput with the official encoder "
        "(112,141 pairs/s, 378.7 s for ViT-B's Linear weights on a 2-core CPU)."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    const bool json = parser.isSet(QStringLiteral("json"));
    return runGuarded(QStringLiteral("bench compress"), [&] {
        QTemporaryDir scratch(QDir::tempPath() + QStringLiteral("/birkhoff-bench-XXXXXX"));
        if (!scratch.isValid())
            throw Error("cannot create a temporary directory for the benchmark");
        const auto cases = bench::runCompressBenchmark(toStd(scratch.path()), consoleProgress(json));
        if (json) {
            nlohmann::json out;
            out["official_pairs_per_second"] = bench::kOfficialPairsPerSecond;
            out["official_vit_b_linear_seconds"] = bench::kOfficialVitBLinearSeconds;
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& c : cases)
                rows.push_back({{"name", c.name},
                                {"threads", c.threads},
                                {"parameters", c.parameters},
                                {"pairs", c.pairs},
                                {"compress_seconds", c.compressSeconds},
                                {"write_seconds", c.writeSeconds},
                                {"total_seconds", c.totalSeconds()},
                                {"cpu_seconds", c.cpuSeconds},
                                {"pairs_per_second", c.pairsPerSecond()},
                                {"speedup_vs_official", c.speedupVsOfficial()},
                                {"original_bytes", c.originalBytes},
                                {"file_bytes", c.fileBytes},
                                {"ratio", c.ratio()},
                                {"mean_mae", c.meanMae}});
            out["cases"] = rows;
            printJson(out);
            return kExitOk;
        }
        std::printf("official encoder (2-core CPU): %.0f pairs/s; SAM ViT-B Linear weights in %.1f s\n",
                    bench::kOfficialPairsPerSecond, bench::kOfficialVitBLinearSeconds);
        for (const auto& c : cases) {
            std::printf("%s: %lld parameters, %lld pairs, %d threads\n", c.name.c_str(),
                        static_cast<long long>(c.parameters), static_cast<long long>(c.pairs), c.threads);
            std::printf("  compress %.3f s + write %.3f s = %.3f s wall (%.3f s CPU); %.0f pairs/s = %.1fx the official "
                        "encoder\n",
                        c.compressSeconds, c.writeSeconds, c.totalSeconds(), c.cpuSeconds, c.pairsPerSecond(),
                        c.speedupVsOfficial());
            std::printf("  %llu -> %llu bytes (ratio %.3f), mean MAE of encoded tensors %.6f\n",
                        static_cast<unsigned long long>(c.originalBytes), static_cast<unsigned long long>(c.fileBytes),
                        c.ratio(), c.meanMae);
        }
        return kExitOk;
    });
}

const BenchmarkRegistrar registrar({QStringLiteral("compress"),
                                    QStringLiteral("Compression speed vs the official encoder (SAM ViT-B shapes)"),
                                    runCompressBench});

}  // namespace
}  // namespace birkhoff::cli
