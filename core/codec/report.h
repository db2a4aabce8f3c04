// The per-compression report: settings, totals and one row per tensor, as JSON (a stable shape
// scripts rely on) or CSV (the tensor rows).
//
// JSON: {"settings": {"l", "U": [...], "M", "loss_hope", "loss_max", "raw_fallback_mae",
//                     "extensions": [...], ...},
//        "totals": {"parameters", "original_bytes", "compressed_bytes", "ratio", "bits_per_weight",
//                   "seconds"},
//        "tensors": [{"name", "shape", "path": "hyper"|"raw"|"buffer"|"small", "l", "U", "K",
//                     "bits_per_index", "bits_per_weight", "mae", "max_abs_error",
//                     "original_bytes", "stored_bytes", "load_type", "warning"?}, ...],
//        "warnings": [...], "model": {"family", "family_name", "known_family", "heuristic_roles"}?}
// ratio = original checkpoint file size / compressed file size (as the paper reports it);
// l/U/K/bits_per_index are null for tensors stored raw; mae and max_abs_error compare the
// restored tensor with the original (0 for raw tensors).
#pragma once

#include "core/codec/tensor_encoder.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::codec {

struct TensorReport {
    std::string name;
    std::vector<std::int64_t> shape;
    StoragePath path = StoragePath::Raw;
    int loadType = 0;
    std::optional<float> l;
    std::optional<std::uint32_t> U;
    std::optional<std::uint32_t> K;
    std::optional<unsigned> bitsPerIndex;
    double bitsPerWeight = 0;
    double mae = 0;
    double maxAbsError = 0;
    std::int64_t parameters = 0;
    std::uint64_t originalBytes = 0;  ///< numel * element size
    std::uint64_t storedBytes = 0;    ///< bytes of all of this tensor's keys in the file
    std::string warning;
};

struct CompressionReport {
    nlohmann::json settings = nlohmann::json::object();
    std::int64_t parameters = 0;
    std::uint64_t originalBytes = 0;    ///< original checkpoint file size (or tensor bytes)
    std::uint64_t compressedBytes = 0;  ///< size of the compressed file
    double seconds = 0;                 ///< wall time (`birkhoff compress`: loading + compression + writing)
    std::vector<TensorReport> tensors;
    std::vector<std::string> warnings;
    /// Where the tensor roles came from (set by the caller that detected them; omitted if empty).
    nlohmann::json model = nlohmann::json::object();

    double ratio() const;
    double bitsPerWeight() const;
    nlohmann::json toJson() const;
    /// The tensor rows as CSV with a header line (shape as "768x3072").
    std::string toCsv() const;
};

/// The double closest to the shortest decimal that reads back as `value` (0.1f -> 0.1, not
/// 0.10000000149011612), so float settings print as written in JSON.
double shortestDecimal(float value);

/// Writes the report atomically: CSV when `path` ends in ".csv", JSON otherwise.
/// @throws Error on I/O failure.
void writeReport(const std::filesystem::path& path, const CompressionReport& report);

}  // namespace birkhoff::codec
