// Opening a model file, for the studio and the CLI alike: ONE entry point for every kind of file
// (PyTorch zip and safetensors checkpoints, compressed hyper_model.safetensors files, told apart
// by io::detectModelFileKind) that returns everything they need: the runnable model (or why it
// cannot run) and how it runs, the family and the codec role of every tensor, the tensors the
// compressor and the live estimate read, the compressed model itself, and what loading noted.
// A checkpoint compressed in memory becomes the same kind of result (compressedModelFile), built
// exactly as the file written from it opens, so a model compressed in the studio runs as that
// file runs in the CLI. checkCompressedMatches() refuses a compressed file that was not made
// from a model of the open original's family and layout. loadSamModel (sam_model.h) is
// openModelFile's runnable model.
#pragma once

#include "core/codec/model_roles.h"
#include "core/format/encoded_tensor.h"
#include "core/io/model_file_kind.h"
#include "core/io/state_dict.h"
#include "core/models/family.h"
#include "core/models/sam_model.h"
#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::models {

/// An opened model file (or a model compressed in memory).
struct ModelFile {
    std::filesystem::path path;        ///< the file; for a model compressed in memory, its original's
    io::ModelFileKind kind = io::ModelFileKind::Checkpoint;
    std::string format;                ///< "PyTorch zip", "safetensors", kCompressedFormat or "baseline ... (dequantized on load)"
    std::uint64_t fileBytes = 0;       ///< the file's size (compressed in memory: of the file it writes)
    FamilyInfo family;                 ///< detected from key names and shapes
    codec::ModelRoles roles;           ///< the codec role of every tensor, in state-dict order
    TensorShapes shapes;               ///< name -> shape of every tensor
    std::int64_t parameterCount = 0;   ///< elements of all tensors (buffers included)
    std::size_t tensorCount = 0;
    /// Checkpoints: every tensor in state-dict order, aliasing the mapped file (what the
    /// compressor and the estimator read). Compressed models: empty.
    io::StateDict tensors;
    std::string wrapper;               ///< checkpoints: "", "model" or "state_dict"
    /// Compressed models: the stored model (what is saved and restored); checkpoints: null.
    std::shared_ptr<const format::CompressedModel> compressed;
    std::optional<std::filesystem::path> configPath;  ///< the config.json applied, if any
    /// The runnable model (eval mode, float32, CPU), or null when it cannot run (see cannotRun).
    std::shared_ptr<SamModel> model;
    std::string cannotRun;             ///< why `model` is null (also when not built); empty when it runs
    /// How the model runs: "dense float32", "HyperLinear on N Linear layers (CPU kernel ...);
    /// other tensors decoded to float32; X MiB of weights at run time", "decoded to dense
    /// float32", "cannot run" or "not built".
    std::string runtime;
    /// What loading renamed, ignored or used (checkpoint notes, compressed-format extensions).
    std::vector<std::string> notes;
    double loadSeconds = 0;
};

/// ModelFile::format of compressed models.
constexpr const char* kCompressedFormat = "compressed (hyper_model.safetensors)";

struct OpenModelOptions {
    LoadOptions load;        ///< config.json, and how compressed Linear weights run
    /// false: no runnable model is built (compressing, inspecting): `model` stays null and
    /// `runtime` is "not built".
    bool buildModel = true;
};

/// Opens `path` by its content (io::detectModelFileKind): a checkpoint through
/// io::loadCheckpoint (Hugging Face names mapped, wrappers removed), a compressed file through
/// format::readCompressedModel, its model built by buildCompressedSamModel (Linear weights stored
/// as index matrices run as HyperLinear per options.load, everything else decoded). The
/// configuration comes from the shapes and options.load.configPath or the config.json beside
/// `path`. A layout that cannot run (an unknown family, shapes that do not fit) is not an error:
/// `model` is null and `cannotRun` says why; such a checkpoint can still be compressed.
/// @throws Error naming the file for missing, unreadable or malformed files and unreadable
///         config.json files; CancelledError when `progress` is cancelled.
ModelFile openModelFile(const std::filesystem::path& path, const OpenModelOptions& options = {},
                        const Progress& progress = {});

/// `compressed` - codec::compressModel's result for original.tensors - as an opened model that
/// runs exactly as the file written from it opens next to `original` (buildCompressedSamModel
/// with the original's config.json; options.compressedRun / linearBackend). `fileBytes` is that
/// file's size (CompressionReport::compressedBytes). A layout that cannot run gives a null
/// model with `cannotRun` set, as in openModelFile.
/// @throws CancelledError when `progress` is cancelled; Error for an unreadable config.json.
ModelFile compressedModelFile(const ModelFile& original, format::CompressedModel compressed, std::uint64_t fileBytes,
                              const LoadOptions& options = {}, const Progress& progress = {});

/// Checks that the compressed model `compressed` was made from a model of `original`'s family
/// and tensor layout (the same tensor names with the same shapes), i.e. that comparing their
/// masks means something. Weights are not compared (a fine-tuned model compresses to the same
/// layout).
/// @throws Error naming both files and both families, and listing the first differing tensors.
void checkCompressedMatches(const ModelFile& original, const ModelFile& compressed);

}  // namespace birkhoff::models
