// Baseline codecs the Birkhoff codec is measured against (issue 12): plain data-free integer
// quantization of every float tensor with at least kBaselineMinElements elements, the rest kept
// as it is, in a real file format that loads and runs (dequantized to float32 on load).
//
//   rtn  round-to-nearest, symmetric, per-group absmax scale: q = round(w / s) in
//        [-qmax, qmax] with qmax = 2^(bits-1) - 1 and s = absmax / qmax rounded UP to fp16
//        (so no weight is clamped and |w - q s| <= s / 2 for every element); code = q + qmax.
//   hqq  affine w ~ (q - z) s with q in [0, 2^bits - 1], HQQ's data-free half-quadratic solver
//        (Badri & Shaji 2023): s from the group's min/max, z optimised to minimise the
//        l_p (p = 0.7) norm of the weight error by alternating a generalised soft-threshold
//        of the error with the closed-form zero update; the best z seen (measured with fp16
//        s and z, as stored) is kept, so the solver never ends worse than min/max rounding.
//
// Groups: a tensor is viewed as [rows = shape[0], row = numel / rows]; a group is
// `groupSize` consecutive elements of a row, or the whole row (per output channel). A group size
// that does not divide a tensor's row falls back to per-channel for that tensor, with a note.
//
// File (safetensors): per quantized tensor `<name>.qweight` (uint8, the codes packed MSB first
// with kernels/bitpack.h, row-major), `<name>.scales` (float16 [rows, groups per row]) and for
// hqq `<name>.zeros` (float16, same shape); kept tensors under their own name. __metadata__:
// kMetaBaselineFormat = kBaselineFormatTag and kMetaBaselineLayout = JSON {"codec", "bits",
// "group_size" (0 = per channel), "min_elements", "tensors": [{"name", "shape", "quantized",
// "group_size"}...] in checkpoint order}. The file size is therefore the packed bits, one fp16
// scale (and zero) per group, the kept tensors and the header, nothing else.
#pragma once

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::codec {

enum class BaselineCodec {
    Rtn,  ///< round-to-nearest, symmetric absmax scale per group
    Hqq,  ///< half-quadratic optimised zero point per group (data-free)
};

/// "rtn" or "hqq".
const char* baselineCodecName(BaselineCodec codec);
/// Inverse of baselineCodecName. @throws Error naming the accepted values.
BaselineCodec parseBaselineCodec(const std::string& name);

/// Float tensors with fewer elements are kept as they are.
constexpr std::int64_t kBaselineMinElements = 4096;
constexpr unsigned kBaselineMinBits = 2;
constexpr unsigned kBaselineMaxBits = 8;

/// HQQ solver constants (the paper's defaults): l_p exponent, initial beta, beta growth, iterations.
constexpr double kHqqP = 0.7;
constexpr double kHqqBeta = 10.0;
constexpr double kHqqKappa = 1.01;
constexpr int kHqqIterations = 20;

struct BaselineSettings {
    BaselineCodec codec = BaselineCodec::Rtn;
    unsigned bits = 4;
    std::int64_t groupSize = 64;  ///< 0 = one group per output channel (row)
    /// "rtn int4 g64", "hqq int3 per-channel".
    std::string text() const;
};

/// @throws Error when bits are outside [kBaselineMinBits, kBaselineMaxBits] or the group size is
///         negative.
void validateBaselineSettings(const BaselineSettings& settings);

/// One checkpoint tensor in a baseline model: kept as is, or quantized.
struct BaselineTensor {
    std::string name;
    bool quantized = false;
    at::Tensor kept;                  ///< !quantized: the original tensor

    std::vector<std::int64_t> shape;  ///< quantized: original shape
    std::int64_t groupSize = 0;       ///< quantized: effective group size (divides rowLength())
    at::Tensor packed;                ///< quantized: uint8 [packedByteCount(numel, bits)]
    at::Tensor scales;                ///< quantized: float16 [rows, rowLength / groupSize]
    at::Tensor zeros;                 ///< hqq only: float16, like scales

    std::int64_t numel() const;
    /// Elements per row: numel / shape[0] (numel for 0-d and 1-d tensors).
    std::int64_t rowLength() const;
};

/// A baseline-quantized model, tensors in checkpoint order.
struct BaselineModel {
    BaselineSettings settings;
    std::vector<BaselineTensor> tensors;
    /// Per-channel fallbacks ("<name>: row of 200 elements is not a multiple of group 64, ...").
    std::vector<std::string> notes;

    /// Elements of all tensors.
    std::int64_t elementCount() const;
    /// Elements of the quantized tensors.
    std::int64_t quantizedElementCount() const;
};

/// Quantizes one float tensor with `settings` (group size already effective: it must divide the
/// row, 0 = per channel). @throws Error for bad settings, non-float or non-finite tensors.
BaselineTensor quantizeTensor(const std::string& name, const at::Tensor& tensor, const BaselineSettings& settings);

/// Float32 tensor in the original shape (kept tensors: converted to float32 when floating, else as is).
/// @throws Error naming the tensor for inconsistent content.
at::Tensor dequantizeTensor(const BaselineTensor& tensor, const BaselineSettings& settings);

/// Quantizes every floating-point tensor of `checkpoint` with at least kBaselineMinElements
/// elements; keeps the others. Progress per tensor, cancellation between tensors.
/// @throws Error for bad settings or non-finite weights; CancelledError.
BaselineModel quantizeModel(const io::StateDict& checkpoint, const BaselineSettings& settings,
                            const Progress& progress = {});

/// Every tensor dequantized, in checkpoint order (what a model built from the file runs).
io::StateDict dequantizeModel(const BaselineModel& model, const Progress& progress = {});

/// __metadata__ keys and format tag of baseline files.
constexpr const char* kMetaBaselineFormat = "birkhoff.format";
constexpr const char* kMetaBaselineLayout = "birkhoff.baseline";
constexpr const char* kBaselineFormatTag = "birkhoff-baseline-v1";

/// True when `metadata` marks a baseline file (kMetaBaselineFormat == kBaselineFormatTag).
bool isBaselineFile(const io::SafetensorsMetadata& metadata);

/// Parses and validates a baseline file's tensors. `source` names the file in messages.
/// @throws Error naming the tensor or key at fault: missing or extra tensors, wrong dtypes or
///         sizes, bits or group sizes out of range, malformed layout JSON.
BaselineModel parseBaselineModel(const io::SafetensorsContent& content, const std::string& source);

/// Writes the model atomically (no partial file on error).
void writeBaselineModel(const std::filesystem::path& path, const BaselineModel& model);

/// Exact size in bytes writeBaselineModel() produces.
std::uint64_t baselineFileSize(const BaselineModel& model);

}  // namespace birkhoff::codec
