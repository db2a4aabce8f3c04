// safetensors reading (memory-mapped, strictly validated) and writing (atomic). The header
// parser itself lives in safetensors_header.h (LibTorch-free).
#pragma once

#include "core/io/mapped_file.h"
#include "core/io/safetensors_header.h"
#include "core/io/state_dict.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace birkhoff::io {

/// What readSafetensors() returns: tensors in header order, plus the metadata.
struct SafetensorsContent {
    StateDict tensors;
    SafetensorsMetadata metadata;
};

/// Order of tensors in written files.
enum class SafetensorsOrder {
    AsGiven,        ///< state-dict order (round trips keep key order)
    DtypeThenName,  ///< the Python library's order: dtype rank descending, then name
};

/// Reads a safetensors file; tensors alias the memory-mapped file (copy-on-write).
/// U16/U32 are widened to int32/int64 because LibTorch 1.13 has no unsigned wide types.
/// @throws Error naming the file and the tensor at fault.
SafetensorsContent readSafetensors(const std::filesystem::path& path);

/// Writes `tensors` (any device/layout; written contiguous from CPU) atomically.
/// @throws Error on unsupported dtypes or I/O failure; no partial file is left behind.
void writeSafetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const SafetensorsMetadata& metadata = {},
                      SafetensorsOrder order = SafetensorsOrder::AsGiven);

/// Exact size in bytes of the file writeSafetensors() would write for these arguments (header
/// included), without writing anything (dry runs, size estimates).
/// @throws Error on unsupported dtypes.
std::uint64_t safetensorsFileSize(const StateDict& tensors, const SafetensorsMetadata& metadata = {},
                                  SafetensorsOrder order = SafetensorsOrder::AsGiven);

}  // namespace birkhoff::io
