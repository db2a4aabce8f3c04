// Hyper-Compression of one tensor, exactly as the authors' encoder
// (utils/model_encode.py encode_tensor_torch_version / compress_decom_v3) decides it:
//   route     Buffer -> raw ([1]-shaped load_type); < 10 elements -> raw; LinearWeight -> [out, in/2]
//             index matrix (odd `in`: a pad column holding the mean of the second coordinates of
//             W[:, :-1] is appended; the authors' code crashes there); other -> flattened pairs
//             (odd numel: one pad element, the mean of the second coordinates);
//   search    U in list order; no outer pairs -> K = 0; else K = 1..M with "<=" (ties go to the
//             larger K) and an early stop at lossHope; the next U when the best MAE > lossMax. The
//             search's ring radii are computed in double then rounded, and its outer radius is the
//             Frobenius norm of all pairs at the maximum distance (sqrt(m)*R for m copies);
//   encode    with K > 0 every pair is scaled, class 0 included: B = fl(fl(fl(p - c)*f_j) + c),
//             r_j = fl(fl(j*D) + l/2), r_K = R; nearest point by LatticeNearest (torch.cdist's
//             float32 choice);
//   fallback  raw (0-d load_type) when the float32 MAE of the encoder's reconstruction over the
//             padded pairs exceeds rawFallbackMae, and (our addition) for non-finite values.
// MAE decisions compare float32 values with float32 thresholds, as the authors' torch code does;
// the MAE itself is accumulated in double and rounded (torch's float32 cascade sum can differ by an
// ulp, which matters only at an exact threshold tie).
#pragma once

#include "core/codec/settings.h"
#include "core/format/encoded_tensor.h"
#include "core/util/progress.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::codec {

/// Values the caller may impose instead of computing them (for bit-exact comparisons with the
/// authors' files: their float32 mean is implementation-defined at the ulp level).
struct EncodeHints {
    bool hasCenter = false;
    float center[2] = {0.f, 0.f};  ///< pair centroid to use
    bool hasPadValue = false;
    float padValue = 0.f;          ///< value of the pad element / pad column
};

/// How a tensor ended up stored (the report's "path").
enum class StoragePath {
    Hyper,   ///< encoded (load_type 1 or 2)
    Raw,     ///< raw: MAE fallback, keep-raw override or non-finite values
    Buffer,  ///< raw because it is a buffer
    Small,   ///< raw because it has fewer than 10 elements
};

/// "hyper", "raw", "buffer" or "small".
const char* storagePathName(StoragePath path);

/// One evaluated (U, K) of the search. K = 0 when the tensor had no outer pairs.
struct SearchStep {
    std::uint32_t U = 0;
    std::uint32_t K = 0;
    float mae = 0.f;
};

/// The result of encoding one tensor.
struct TensorEncoding {
    /// The stored form. For encoded tensors uPosition is the position of U in settings.uList.
    format::EncodedTensor tensor;
    StoragePath path = StoragePath::Raw;
    std::vector<SearchStep> search;   ///< every trial in order
    /// The float32 MAE of the encoder's reconstruction over the padded pairs: the value compared
    /// with rawFallbackMae (also set when the tensor fell back to raw). 0 for buffers/small.
    float officialMae = 0.f;
    /// Mean and largest |decoded - original| over the original elements, decoded exactly as
    /// decodeTensor() does; 0 for tensors stored raw.
    double mae = 0.0;
    double maxAbsError = 0.0;
    std::int64_t innerPairs = 0;
    std::int64_t outerPairs = 0;
    std::string warning;              ///< non-empty when something deserves the user's attention
};

/// Encodes one tensor. `tensor` may have any floating dtype (it is encoded from its float32
/// values; raw storage keeps the original dtype) and any layout. Runs chunk-parallel through
/// at::parallel_for (inline when called from a parallel region) and checks `cancel` between
/// chunks.
/// @throws Error for invalid settings or a Linear weight that is not 2-D; CancelledError.
TensorEncoding encodeTensor(const std::string& name, const at::Tensor& tensor, TensorRole role,
                            const TensorSettings& settings, const EncodeHints& hints = {},
                            const CancelToken* cancel = nullptr);

}  // namespace birkhoff::codec
