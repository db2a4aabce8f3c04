// Opening and saving model checkpoints in any supported format: the one entry point every
// other area (codec, models, CLI, GUI) uses. The format is recognised by content, not by file
// name: torch.save zip archives (.pth/.pt) and safetensors. Hugging Face transformers key names
// (SamModel, Sam2Model) are mapped to the original names, and {'model': ...} /
// {'state_dict': ...} wrappers are unwrapped, so one model code path serves all of them.
#pragma once

#include "core/io/pytorch_checkpoint.h"
#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::io {

enum class CheckpointFormat {
    PyTorchZip,   ///< torch.save zip archive (.pth, .pt)
    Safetensors,  ///< safetensors (.safetensors)
};

/// "PyTorch zip" / "safetensors".
const char* checkpointFormatName(CheckpointFormat format);

/// A loaded checkpoint: the state dict in original (not Hugging Face) key names.
struct Checkpoint {
    StateDict tensors;
    CheckpointFormat format = CheckpointFormat::PyTorchZip;
    std::filesystem::path path;
    std::uint64_t fileBytes = 0;
    std::string wrapper;             ///< "", "model" or "state_dict" (PyTorch files)
    std::vector<std::string> notes;  ///< what loading ignored, renamed or dropped, for the user
};

/// Loads a checkpoint, detecting the format by content (zip magic vs safetensors header).
/// Tensors alias the memory-mapped file (copy-on-write). Hugging Face SAM / SAM 2 key names are
/// mapped to the original names (see hf_keys.h) with a note.
/// @throws Error naming the file (and the tensor, record or global at fault) for a missing
/// file, a directory, an empty file, legacy non-zip torch.save files (re-save them with a
/// current torch), ONNX files (use `birkhoff convert`), TorchScript archives, and anything
/// malformed; CancelledError when `progress` is cancelled.
Checkpoint loadCheckpoint(const std::filesystem::path& path, const Progress& progress = {});

/// Saves `tensors` by the extension of `path`: .pth/.pt/.bin -> savePyTorchCheckpoint (with
/// `wrapper`), .safetensors -> writeSafetensors in state-dict order. Atomic.
/// @throws Error for another extension, unsupported element types or I/O failure.
void saveCheckpoint(const std::filesystem::path& path, const StateDict& tensors,
                    const std::string& wrapper = "");

}  // namespace birkhoff::io
