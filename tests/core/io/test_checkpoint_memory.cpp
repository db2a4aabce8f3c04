// Loading a checkpoint needs about the file's size in memory, not two copies: a ~100 MB
// checkpoint is loaded and every tensor touched while the peak resident set is measured
// (VmHWM after resetting it through /proc/self/clear_refs).
#include "core/io/checkpoint.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QFile>
#include <QTest>

#include <ATen/ATen.h>

#include <malloc.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or -1.
std::int64_t statusBytes(const std::string& field)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, field.size() + 1, field + ":") == 0)
            return std::stoll(line.substr(field.size() + 1)) * 1024;
    return -1;
}

bool resetPeak()
{
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

}  // namespace

class TestCheckpointMemory : public QObject {
    Q_OBJECT
private slots:
    void loadingNeedsAboutTheFileSize()
    {
        const fs::path path = fs::path(birkhoff::test::scratchDir().toStdString()) / "memory_100mb.pth";
        {
            birkhoff::io::StateDict sd;
            for (int i = 0; i < 25; ++i)
                sd.insert("blocks." + std::to_string(i) + ".weight", at::full({1024, 1024}, static_cast<float>(i)));
            birkhoff::io::savePyTorchCheckpoint(path, sd);
        }
        malloc_trim(0);
        const auto fileBytes = static_cast<double>(fs::file_size(path));
        if (!resetPeak() || statusBytes("VmHWM") < 0)
            BIRKHOFF_SKIP(QStringLiteral("/proc/self/clear_refs or VmHWM is unavailable, so the peak memory "
                                         "of loading was NOT measured"));
        const double baseline = static_cast<double>(statusBytes("VmRSS"));
        double sum = 0;
        {
            const birkhoff::io::Checkpoint ckpt = birkhoff::io::loadCheckpoint(path);
            for (const auto& e : ckpt.tensors)
                sum += e.tensor.sum().item<double>();
        }
        const double peak = static_cast<double>(statusBytes("VmHWM"));
        const double ratio = (peak - baseline) / fileBytes;
        qInfo("file %.1f MB, peak resident growth while loading and reading every tensor %.1f MB (%.2fx the file)",
              fileBytes / 1e6, (peak - baseline) / 1e6, ratio);
        QCOMPARE(sum, 1024.0 * 1024.0 * (24 * 25 / 2));  // every value was read
        QVERIFY2(ratio <= 1.3, qPrintable(QStringLiteral("ratio %1").arg(ratio)));
        QVERIFY2(ratio >= 0.9, "the data were not all touched, so the measurement says nothing");
    }
};

BIRKHOFF_REGISTER_TEST(TestCheckpointMemory);
#include "test_checkpoint_memory.moc"
