// The compressed model in memory, exactly as a hyper_model.safetensors file stores it: one
// EncodedTensor per checkpoint tensor (raw, flattened pairs or Linear index matrix) plus the
// global settings. Reading a file (the authors' layout or ours), decoding one tensor to dense
// float32 and restoring a whole dense state dict live here; writing lives in
// core/format/compressed_writer.h.
//
// Index layout (what HyperLinear consumes for LoadType::LinearMatrix):
//   - one stored index t = k + U*j per weight pair (k: codebook point, j: ring, 0 <= t < U*(K+1));
//   - LinearMatrix: indices are row-major [out, in/2], or [out, (in+1)/2] when `in` is odd (the
//     last column then pairs W[r, in-1] with a pad value that decoding drops); pair j of row r is
//     (W[r, 2j], W[r, 2j+1]);
//   - Pairs: the tensor flattened row-major, consecutive elements paired, one pad element
//     appended when numel is odd;
//   - packed: `bits` bits per index, most significant bit first, indices concatenated in the
//     order above, `padBits` zero bits prepended to fill whole bytes (kernels/bitpack.h).
#pragma once

#include "core/io/state_dict.h"
#include "core/io/safetensors.h"
#include "core/util/progress.h"
#include "kernels/decode.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::format {

/// How a tensor is stored (the file's `<name>.load_type`).
enum class LoadType : std::uint8_t {
    Raw = 0,           ///< `<name>.origin_param` holds the tensor as is
    Pairs = 1,         ///< flattened pairs, decoded to dense at load
    LinearMatrix = 2,  ///< nn.Linear weight: [out, in/2] index matrix (HyperLinear keeps it)
};

/// "raw", "pairs" or "linear".
const char* loadTypeName(LoadType type);

/// One tensor of a compressed model.
struct EncodedTensor {
    std::string name;                 ///< state-dict key
    LoadType loadType = LoadType::Raw;
    /// Raw tensors only: the authors write load_type with shape [1] for buffers and tensors with
    /// fewer than 10 elements, and as a 0-d scalar for tensors that fell back to raw.
    bool loadTypeIsVector = false;
    at::Tensor raw;                   ///< Raw only: the original tensor (original dtype)

    // Encoded tensors (Pairs, LinearMatrix) only:
    std::vector<std::int64_t> shape;  ///< original shape (original_shape)
    bool padded = false;              ///< a pad element (Pairs) or pad column (LinearMatrix) was added
    float center[2] = {0.f, 0.f};     ///< center_node
    float farthest[2] = {0.f, 0.f};   ///< farthest_node
    float l = 0.f;                    ///< side of the square used for this tensor
    std::uint32_t U = 0;              ///< number of codebook points (the value)
    std::uint8_t uPosition = 0;       ///< position of U in CompressedModel::uList (the file's `.U`)
    std::uint32_t K = 0;              ///< number of outlier rings
    unsigned bits = 0;                ///< bits per stored index (uint_i)
    unsigned padBits = 0;             ///< zero bits prepended to the packed stream (padding_bits)
    at::Tensor packed;                ///< uint8 [bytes]: the packed index stream (encoded_index)
    /// Extension "row_scale" (`<name>.row_scale`, float16 [scaleRows()]): the decoded value of
    /// every element of row r is fl(lattice value * rowScale[r]). Empty: no scale.
    std::vector<float> rowScale;
    /// Extensions "entropy_coded" and "tensor_records": the file stores the tensor as one
    /// `<name>.record` key (core/format/tensor_record.h) with range-coded indices
    /// (core/format/index_entropy_coder.h); `packed` holds them fixed-width in memory either way.
    bool entropyCoded = false;

    bool isEncoded() const { return loadType != LoadType::Raw; }
    /// Number of original elements (product of `shape`, or raw.numel()).
    std::int64_t numel() const;
    /// Number of stored indices (= weight pairs, pad included).
    std::int64_t indexCount() const;
    /// LinearMatrix: shape[0]; Pairs: 1.
    std::int64_t indexRows() const;
    /// LinearMatrix: ceil(in / 2); Pairs: indexCount().
    std::int64_t indexCols() const;
    /// Rows of the row scale: shape[0] for tensors of two or more dimensions, else 1.
    std::int64_t scaleRows() const;
    /// Decode parameters (kernels/decode.h) of this tensor. @throws Error for raw tensors.
    kernels::LatticeParams lattice() const;
    /// Stored index i (0 <= i < indexCount()), read from the packed stream.
    std::uint32_t indexAt(std::int64_t i) const;
    /// Unpacks all indices into out[0 .. indexCount()).
    void unpackIndicesTo(std::uint32_t* out) const;
    /// All indices as an int32 tensor: [indexRows(), indexCols()] for LinearMatrix, [n] for Pairs.
    at::Tensor unpackedIndices() const;
};

/// A whole compressed model: global settings and the tensors in checkpoint order.
struct CompressedModel {
    float l = 0.f;                        ///< global rect_l
    std::vector<std::uint32_t> uList;     ///< num_inner_list (the U candidates)
    std::vector<EncodedTensor> tensors;   ///< checkpoint order
    /// The file's __metadata__ (empty for the authors' files). Ours carry at least
    /// kMetaFormat / kMetaWriter / kMetaTensorOrder, and kMetaExtensions when an extension was used.
    io::SafetensorsMetadata metadata;
    /// Extensions used (from kMetaExtensions): empty for files the official decoder can read.
    std::vector<std::string> extensions;

    /// nullptr if absent.
    const EncodedTensor* find(const std::string& name) const;
    /// @throws Error naming the missing tensor.
    const EncodedTensor& at(const std::string& name) const;
    /// Total number of original elements.
    std::int64_t elementCount() const;
};

/// __metadata__ keys written by Birkhoff Studio.
constexpr const char* kMetaFormat = "birkhoff.format";          ///< kFormatTag
constexpr const char* kMetaWriter = "birkhoff.writer";          ///< "birkhoff-studio <version>"
constexpr const char* kMetaTensorOrder = "birkhoff.tensor_order";  ///< JSON array of names
/// JSON array of extension names; present only when the file uses extensions (then it is meant
/// for Birkhoff Studio only: e.g. per-tensor l is invisible to the official decoder).
constexpr const char* kMetaExtensions = "birkhoff.extensions";
/// JSON object with the compression settings (informative).
constexpr const char* kMetaSettings = "birkhoff.settings";
constexpr const char* kFormatTag = "hyper-compression-v1";

/// Extension names recorded in kMetaExtensions.
namespace extension {
constexpr const char* kPerTensorL = "per_tensor_l";   ///< `<name>.rect_l` keys (overrides, auto l, target)
constexpr const char* kOverrides = "overrides";       ///< per-layer overrides were applied
constexpr const char* kAutoL = "auto_l";
constexpr const char* kTargetMae = "target_mae";
constexpr const char* kTargetRatio = "target_ratio";
constexpr const char* kRowScale = "row_scale";          ///< `<name>.row_scale` keys
constexpr const char* kEntropyCoded = "entropy_coded";  ///< range-coded indices (index_entropy_coder.h)
constexpr const char* kTensorRecords = "tensor_records";  ///< `<name>.record` keys (tensor_record.h)
constexpr const char* kRateDistortion = "rate_distortion";  ///< settings chosen by the RD codec (codec/rate_distortion.h)
}  // namespace extension

/// Parses the tensors of a hyper_model.safetensors image (authors' layout or ours) and checks
/// their consistency. `source` names the file in messages.
/// @throws Error naming the tensor at fault for: missing/extra keys, wrong dtypes or shapes,
///   rect_l not finite or <= 0, U not a perfect square, U position out of range, K above
///   kernels::kMaxRings, index bits outside [1, 32] or wider than U*(K+1) needs, a packed byte
///   count or padding that does not match the index count, shape/numel/padding mismatches,
///   non-finite center or farthest nodes, rings with non-positive radius, a row scale of the
///   wrong size or with non-finite entries, a corrupt entropy-coded index stream.
CompressedModel parseCompressedModel(const io::SafetensorsContent& content, const std::string& source);

/// Reads and validates a compressed file. Tensor order: the file's kMetaTensorOrder when
/// present, otherwise the names in natural order ("blocks.2" before "blocks.10"), because the
/// authors' files are sorted by dtype and name and do not record the checkpoint order.
/// @throws Error as parseCompressedModel, and when the file cannot be read.
CompressedModel readCompressedModel(const std::filesystem::path& path);

/// Dense float32 tensor in the original shape (raw tensors: the stored tensor as is), decoded
/// through kernels/decode.h exactly like the official decoder (decompress_params 'standard').
/// @throws Error naming the tensor when a stored index is >= U*(K+1).
at::Tensor decodeTensor(const EncodedTensor& tensor);

/// Decodes every tensor into a dense state dict in the model's order and original key names.
/// Reports progress per tensor and honours cancellation between tensors.
/// @throws Error as decodeTensor, CancelledError when cancelled.
io::StateDict restoreDense(const CompressedModel& model, const Progress& progress = {});

}  // namespace birkhoff::format
