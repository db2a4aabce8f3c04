// Codec roles from the family's tensor kinds.
#include "core/codec/model_roles.h"

#include "core/models/family.h"

namespace birkhoff::codec {

ModelRoles detectRoles(const io::StateDict& tensors)
{
    const models::FamilyInfo family = models::detectFamily(tensors);
    const std::vector<models::TensorRole> kinds = models::classifyAll(family, tensors);
    ModelRoles out;
    out.family = models::familyIdName(family.id);
    out.familyName = family.displayName;
    out.knownFamily = family.isKnown;
    out.roles.reserve(kinds.size());
    for (const models::TensorRole& k : kinds) {
        TensorRole role = TensorRole::Parameter;
        if (k.kind == models::TensorKind::LinearWeight) {
            role = TensorRole::LinearWeight;
            ++out.linearWeights;
        } else if (k.kind == models::TensorKind::Buffer) {
            role = TensorRole::Buffer;
            ++out.buffers;
        }
        if (k.heuristic)
            ++out.heuristicCount;
        out.roles.push_back(role);
    }
    return out;
}

}  // namespace birkhoff::codec
