// Codec roles of a checkpoint's tensors from the model family's module map (core/models/
// family.h): Linear weights become index matrices, buffers stay raw, everything else is a
// parameter. For an unknown layout the family code's documented shape heuristic decides, and the
// result says so (the compress report carries it).
#pragma once

#include "core/codec/settings.h"
#include "core/io/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::codec {

struct ModelRoles {
    std::vector<TensorRole> roles;      ///< one per tensor, state-dict order
    std::string family;                 ///< stable family id ("sam_vit", "generic", ...)
    std::string familyName;             ///< display name ("SAM ViT-B", ...)
    bool knownFamily = false;
    std::int64_t heuristicCount = 0;    ///< tensors classified by the generic heuristic
    std::int64_t linearWeights = 0;
    std::int64_t buffers = 0;
};

/// Detects the family and classifies every tensor.
ModelRoles detectRoles(const io::StateDict& tensors);

}  // namespace birkhoff::codec
