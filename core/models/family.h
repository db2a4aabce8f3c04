// Which SAM-family model a state dict holds, and what each tensor is (the weight of a Linear
// layer, a conv, a norm, an embedding, a buffer, ...). Detection reads key names and shapes only
// (no values). Tensor kinds come from rules written per family from its module structure
// (module-path patterns for each encoder and the shared prompt-encoder/mask-decoder head); for
// an unknown layout ("generic") a documented shape heuristic is used and marked as such.
#pragma once

#include "core/io/state_dict.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace birkhoff::models {

enum class FamilyId {
    Generic,          ///< unknown layout: still loadable and compressible
    SamVit,           ///< SAM v1 ViT-B/L/H (MedSAM has the ViT-B layout)
    SamHq,            ///< SAM-HQ ViT-B/L/H and tiny (TinyViT)
    Sam2,             ///< SAM 2 Hiera-T/S/B+/L
    Sam21,            ///< SAM 2.1 Hiera-T/S/B+/L
    MobileSam,        ///< MobileSAM and TinySAM (identical TinyViT layouts)
    EdgeSam,          ///< EdgeSAM (RepViT encoder)
    EfficientSam,     ///< EfficientSAM Ti/S
    SlimSam,          ///< SlimSAM-50/77 (uniformly pruned SAM ViT-B)
    EfficientVitSam,  ///< EfficientViT-SAM L0/L1/L2/XL0/XL1
};

/// Stable lower-case identifier ("sam_vit", "sam2.1", "generic", ...) for JSON output.
const char* familyIdName(FamilyId id);

struct FamilyInfo {
    FamilyId id = FamilyId::Generic;
    std::string displayName = "generic";  ///< "SAM ViT-B", "SAM 2.1 Hiera-T", "MobileSAM/TinySAM (TinyViT)"
    std::string variant;                  ///< "ViT-B", "Hiera-T", "L0", "Ti", "50", "custom", ...
    bool isKnown = false;                 ///< false for Generic
    /// Architecture numbers read from shapes ("embed_dim", "depth", "mlp_dim", "stages", ...).
    std::vector<std::pair<std::string, std::int64_t>> dimensions;
    std::vector<std::string> notes;
};

/// Detects the family and variant from key names and shapes. Never throws; unknown layouts
/// give FamilyId::Generic. Expects original key names (loadCheckpoint maps Hugging Face names).
FamilyInfo detectFamily(const io::StateDict& tensors);

/// Whether the model factory (loadSamModel: predictor, CLI segment/compare, studio) can run a
/// detected family, and why not.
struct RunSupport {
    bool runnable = false;
    std::string reason;  ///< empty when runnable
};

/// Every known family is runnable (SAM v1 ViT incl. MedSAM and SlimSAM, MobileSAM/TinySAM,
/// SAM-HQ, SAM 2/2.1, EdgeSAM, EfficientSAM, EfficientViT-SAM); an unknown ("generic") layout
/// can be compressed but not run.
RunSupport runSupport(const FamilyInfo& family);

/// Whether a family's pipeline is verified against its official implementation (golden tests
/// on official outputs in ../shared/golden) or only checked for consistency (the small
/// random-weight models of core.models.family_models, configuration inference on the official
/// key lists).
struct OfficialCheck {
    bool golden = false;
    /// The golden tests that cover the family, or "checked for consistency only, not against
    /// the official implementation" (and which part of a family that applies to).
    std::string text;
};

/// Golden tests: SAM ViT (SAM's pipeline; MedSAM's, which shares its layout, is consistency
/// only), SAM-HQ, SAM 2/2.1, MobileSAM/TinySAM, EdgeSAM, EfficientSAM. Consistency only:
/// SlimSAM, EfficientViT-SAM; unknown layouts are not run.
OfficialCheck officialCheck(const FamilyInfo& family);

enum class TensorKind {
    LinearWeight,   ///< weight [out, in] of a Linear layer
    LinearBias,     ///< bias [out] of a Linear layer
    Conv,           ///< weight or bias of a Conv1d/2d/3d
    ConvTranspose,  ///< weight or bias of a ConvTranspose2d
    Norm,           ///< weight or bias of a LayerNorm / LayerNorm2d / GroupNorm / BatchNorm
    Embedding,      ///< weight of an nn.Embedding (tokens, point embeddings)
    Buffer,         ///< a buffer: BatchNorm running stats, the random positional matrix, ...
    Other,          ///< other parameters: pos_embed, rel_pos, attention biases, layer scales, ...
};

/// "linear weight", "linear bias", "conv", "conv-transpose", "norm", "embedding", "buffer", "other".
const char* tensorKindName(TensorKind kind);

/// The kind of one tensor, and whether it came from the generic heuristic rather than the
/// family's rules.
struct TensorRole {
    TensorKind kind = TensorKind::Other;
    bool heuristic = false;
};

/// Classifies `key` of `tensors`. Known families use their module rules; a key no rule covers,
/// or whose shape contradicts its rule (a "Linear" weight that is not 2-D), falls back to the
/// heuristic below and is marked heuristic. The heuristic (also all of Generic):
///  - leaf running_mean / running_var / num_batches_tracked, a key containing
///    positional_encoding_gaussian_matrix, or a top-level pixel_mean / pixel_std: buffer;
///  - "<m>.weight" 2-D: linear weight if <m>.bias exists, is 1-D and has weight.size(0)
///    elements, or if there is no <m>.bias and no segment of <m> contains "embed" or "token";
///    otherwise embedding;
///  - "<m>.weight" 3-D to 5-D: conv-transpose if <m> contains "transpose", "deconv" or "upscal",
///    else conv; 1-D: norm; 0-D: other;
///  - "<m>.bias": the kind of "<m>.weight" (linear weight -> linear bias); other if there is none;
///  - anything else: other.
/// @throws Error if `key` is not in `tensors`.
TensorRole tensorRole(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key);

/// tensorRole(...).kind.
TensorKind tensorKind(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key);

/// The role of every tensor, in state-dict order.
std::vector<TensorRole> classifyAll(const FamilyInfo& family, const io::StateDict& tensors);

/// True for the weight of a Linear layer (2-D [out, in]): what the Birkhoff codec compresses.
bool isLinearWeight(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key);

/// True for buffers (running statistics, the random positional matrix): never compressed.
bool isBuffer(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key);

}  // namespace birkhoff::models
