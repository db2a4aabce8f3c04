// torch.save zip checkpoints (.pth / .pt) as state dicts: reading through the zip reader and
// the restricted unpickler, with one tensor per storage mapped straight from the file (no copy)
// and every state-dict entry an as_strided view of it; writing in the format Python's
// torch.load reads (an OrderedDict, optionally wrapped as {wrapper: OrderedDict}).
#pragma once

#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::io {

/// What readPyTorchCheckpoint() returns.
struct PyTorchCheckpointContent {
    StateDict tensors;               ///< in the file's order
    std::string wrapper;             ///< "", "model" or "state_dict"
    std::vector<std::string> notes;  ///< entries that were ignored, prefixes removed, ...
};

/// True if the bytes start like a zip archive (local header or empty-archive end record).
bool looksLikeZip(const std::uint8_t* data, std::size_t size);

/// Reads a torch.save zip checkpoint. Tensors alias the memory-mapped file (copy-on-write), so
/// loading needs about the file's size in memory once the data are touched; storages of
/// misaligned or deflated entries and bool storages are copied. Tensors that share a storage in
/// the file share it here. Reports progress per storage and honours cancellation.
/// @throws Error naming the file, the record, the global or the tensor at fault (see
/// ZipReader, pickle::unpickle and extractStateDict), for TorchScript archives, and for big-endian
/// files; CancelledError when cancelled.
PyTorchCheckpointContent readPyTorchCheckpoint(const std::filesystem::path& path,
                                               const Progress& progress = {});

/// Writes `tensors` as a torch.save zip archive atomically (temporary file, then rename):
/// <stem>/data.pkl (protocol 2, collections.OrderedDict in state-dict order), <stem>/byteorder,
/// <stem>/data/<n> (one storage per tensor; tensors that are the same view of the same storage
/// share one), <stem>/version. Non-CPU or non-contiguous tensors are written contiguous from
/// CPU. With a non-empty `wrapper` the file holds {wrapper: OrderedDict}.
/// @throws Error for unsupported element types (complex, quantized) or I/O failures; no partial
/// file is left behind.
void savePyTorchCheckpoint(const std::filesystem::path& path, const StateDict& tensors,
                           const std::string& wrapper = "");

}  // namespace birkhoff::io
