// The safetensors header: records, metadata and the strict parser, LibTorch-free so it can be
// built alone (fuzzed by tests/fuzz/fuzz_safetensors_header.cpp).
// Format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets [begin, end)}, "__metadata__": {str: str}}, then the data.
#pragma once

#include <cstddef>
#include <cstdint>
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

/// Largest header accepted (the Python library's own limit is 100 MB).
constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1024 * 1024;

/// Bytes per element of a safetensors dtype name this project reads ("F32" -> 4, "BOOL" -> 1),
/// or 0 for a dtype it does not read (U64, F8 variants, unknown names).
std::size_t safetensorsDtypeSize(const std::string& dtype);

/// Parses and validates the header of a safetensors image in memory. `source` names the file
/// in messages. @throws Error on a truncated file, an absurd header length, malformed JSON,
/// an unknown dtype, a shape that does not match its byte range, negative dimensions, and
/// out-of-range or overlapping offsets.
SafetensorsHeader parseSafetensorsHeader(const std::uint8_t* data, std::size_t size,
                                         const std::string& source);

}  // namespace birkhoff::io
