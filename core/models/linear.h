// The Linear layer every SAM model in core is built from. It behaves like torch::nn::Linear
// (parameters "weight" [out, in] and "bias" [out], y = x W^T + b) until a compressed weight is
// attached with setBackend(): from then on the dense weight is released and forward() runs the
// backend (HyperLinear, computing straight from the stored indices), with the bias kept dense.
// This is the single switch point between original and compressed models: models, loaders and
// the predictor have no code path of their own for compressed weights.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>

namespace birkhoff::models {

/// Computes y = x W^T + b for a Linear layer whose weight W is not held as a dense tensor.
class LinearBackend {
public:
    virtual ~LinearBackend() = default;
    /// x: [..., in] float32 on the backend's device; bias: [out] or undefined. Returns [..., out].
    virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) const = 0;
    /// The weight decoded to a dense float32 [out, in] tensor (reference path, tests, export).
    virtual at::Tensor denseWeight() const = 0;
    /// Bytes the backend holds for the weight at run time.
    virtual std::int64_t weightBytes() const = 0;
    /// Short description for reports ("hyperlinear U=1225 K=1 12-bit, avx512").
    virtual std::string describe() const = 0;
};

class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(std::int64_t inFeatures, std::int64_t outFeatures, bool withBias = true);

    /// y = x W^T + b through torch::linear (dense) or the backend (compressed).
    at::Tensor forward(const at::Tensor& x) const;

    /// Attaches a compressed weight. Releases the dense weight's storage (the "weight"
    /// parameter stays registered, with shape [0], so parameter names are unchanged) and
    /// routes forward() to `backend`. @throws Error if `backend` is null.
    void setBackend(std::shared_ptr<const LinearBackend> backend);

    bool hasDenseWeight() const { return backend_ == nullptr; }
    const LinearBackend* backend() const { return backend_.get(); }
    std::int64_t inFeatures() const { return inFeatures_; }
    std::int64_t outFeatures() const { return outFeatures_; }
    /// Bytes held for the weight at run time (dense: out*in*4).
    std::int64_t weightBytes() const;

    at::Tensor weight;
    at::Tensor bias;

private:
    std::int64_t inFeatures_;
    std::int64_t outFeatures_;
    std::shared_ptr<const LinearBackend> backend_;
};

TORCH_MODULE(Linear);

}  // namespace birkhoff::models
