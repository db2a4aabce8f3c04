// safetensors reading (memory-mapped, strictly validated) and writing (atomic).
// Format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets [begin, end)}, "__metadata__": {str: str}}, then the data.
#pragma once

#include "core/io/mapped_file.h"
#include "core/io/state_dict.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace birkhoff::io {

/// Ordered string metadata of a safetensors file ("__metadata__").
using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

/// One tensor record of a parsed header.
struct SafetensorsRecord {
    std::string name;
    std::string dtype;                ///< as written in the file ("F32", "U8", ...)
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;          ///< offsets relative to the first data byte
    std::uint64_t end = 0;
};

struct SafetensorsHeader {
    std::vector<SafetensorsRecord> records;  ///< in header order
    SafetensorsMetadata metadata;
    std::uint64_t dataStart = 0;             ///< absolute offset of the data section
};

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

/// Largest header accepted (the Python library's own limit is 100 MB).
constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1024 * 1024;

/// Parses and validates the header of a safetensors image in memory. `source` names the file
/// in messages. @throws Error on a truncated file, an absurd header length, malformed JSON,
/// an unknown dtype, a shape that does not match its byte range, negative dimensions, and
/// out-of-range or overlapping offsets.
SafetensorsHeader parseSafetensorsHeader(const std::uint8_t* data, std::size_t size,
                                         const std::string& source);

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

/// The safetensors dtype name of a LibTorch scalar type ("F32", ...). @throws Error if none.
std::string safetensorsDtypeName(c10::ScalarType type);

}  // namespace birkhoff::io
