// Which kind of model file a path holds: a plain checkpoint (PyTorch zip or safetensors, opened
// by io::loadCheckpoint) or a compressed model (the hyper_model.safetensors layout, read by
// format::readCompressedModel). Decided by content - the safetensors header names the global
// tensors rect_l and num_inner_list - never by file name, so the studio's file dispatch and
// models::openModelFile (the studio and the CLI) agree on every file. LibTorch-free.
#pragma once

#include <filesystem>

namespace birkhoff::io {

enum class ModelFileKind {
    Checkpoint,  ///< a state dict (PyTorch zip or safetensors)
    Compressed,  ///< a compressed model (hyper_model.safetensors layout)
};

/// "checkpoint" / "compressed".
const char* modelFileKindName(ModelFileKind kind);

/// The kind of the file at `path`: Compressed for a safetensors file whose header holds the
/// global tensors rect_l and num_inner_list; Checkpoint for anything else, including files that
/// cannot be read or whose header does not parse (opening them as a checkpoint then reports why).
/// Reads the safetensors header only (no tensor data). Never throws.
ModelFileKind detectModelFileKind(const std::filesystem::path& path);

}  // namespace birkhoff::io
