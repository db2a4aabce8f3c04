// The Linear layer every SAM model in core is built from (dense or compressed backend).
#include "core/models/linear.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

namespace birkhoff::models {

LinearImpl::LinearImpl(std::int64_t inFeatures, std::int64_t outFeatures, bool withBias)
    : inFeatures_(inFeatures), outFeatures_(outFeatures)
{
    weight = register_parameter("weight", at::empty({outFeatures, inFeatures}), false);
    if (withBias)
        bias = register_parameter("bias", at::zeros({outFeatures}), false);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const
{
    if (backend_)
        return backend_->forward(x, bias);
    return at::linear(x, weight, bias);
}

void LinearImpl::setBackend(std::shared_ptr<const LinearBackend> backend)
{
    if (!backend)
        throw Error("Linear layer: null compressed-weight backend");
    backend_ = std::move(backend);
    weight.set_(at::empty({0}, weight.options()));
}

std::int64_t LinearImpl::weightBytes() const
{
    if (backend_)
        return backend_->weightBytes();
    return weight.numel() * static_cast<std::int64_t>(weight.element_size());
}

}  // namespace birkhoff::models
