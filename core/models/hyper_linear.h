// HyperLinear in core: the LinearBackend that runs a birkhoff::models::Linear layer straight from
// its compressed weight (the stored lattice indices), and the function that attaches such
// backends to every Linear layer of a model built by core when a compressed file is loaded.
//
// Loading a compressed model, two equivalent ways:
//   SAM models (core/models/sam_model.h):
//      backends = hyperLinearBackends(compressed)    one backend per LinearMatrix tensor
//      buildSamModel(config, decodeRemainingTensors(compressed, backends), source, backends)
//   any nn::Module tree of birkhoff::models::Linear layers:
//      attachment = attachHyperLinear(model, compressed)   every Linear whose "<module>.weight"
//                   is stored as LoadType::LinearMatrix gets a backend (dense weight released)
//      load decodeRemainingTensors(compressed, attachment) into the model.
// Either way the Linear weights stay compressed and everything else (biases, convolutions,
// norms, embeddings, raw tensors, Linear weights stored raw) is decoded to float32, as the
// authors' loader does; the bias of a HyperLinear layer is a dense float32 parameter.
// The model then runs on HyperLinear: CPU tensors through the CPU kernel, CUDA tensors through
// the CUDA kernel when the build has it (cuda preset + a CUDA-enabled LibTorch), anything else
// through the reference path (decode to a dense tensor, then at::linear), with the reason in
// describe().
#pragma once

#include "core/format/encoded_tensor.h"
#include "core/io/state_dict.h"
#include "core/models/linear.h"
#include "core/util/progress.h"
#include "kernels/hyperlinear.h"
#include "kernels/hyperlinear_cuda.h"

#include <torch/nn/module.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace birkhoff::models {

/// How HyperLinear layers compute.
struct HyperLinearOptions {
    /// CPU instruction set (lowered to what the CPU supports); default: detectCpuIsa().
    kernels::CpuIsa cpuIsa = kernels::detectCpuIsa();
    /// CUDA arithmetic. Default: TF32 tensor cores when LibTorch allows TF32 for matrix products
    /// (torch.backends.cuda.matmul.allow_tf32), else exact FP32 - the same choice at::linear makes.
    enum class Cuda { FollowLibTorch, Fp32, Tf32, Bf16 } cuda = Cuda::FollowLibTorch;
    /// Force the reference path (decode to dense, then at::linear) on every device.
    bool referenceOnly = false;
};

/// A Linear weight kept as HyperLinear indices. Thread-safe: forward() may run concurrently.
class HyperLinearBackend : public LinearBackend {
public:
    /// Builds the backend of one compressed Linear weight.
    /// @throws Error naming the tensor if it is not stored as LoadType::LinearMatrix, is not 2-D,
    ///   or its index stream is inconsistent (bits, padding, an index >= U*(K+1)).
    static std::shared_ptr<HyperLinearBackend> fromEncoded(const format::EncodedTensor& tensor,
                                                           const HyperLinearOptions& options = {});

    HyperLinearBackend(std::string name, kernels::HyperLinearWeight weight, const HyperLinearOptions& options);

    /// x: [..., in] float32 (CPU, or CUDA with the CUDA kernels); bias [out] or undefined.
    /// Returns [..., out] float32 on x's device. No autograd through the weight.
    /// @throws Error naming the layer for a wrong last dimension or dtype.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) const override;
    /// The weight decoded (bit-identical to decodeIndex) into a CPU float32 [out, in] tensor.
    at::Tensor denseWeight() const override;
    /// Host index stream (+ decode table if built) plus every device copy.
    std::int64_t weightBytes() const override;
    /// E.g. "hyperlinear U=1225 K=1 12-bit; cpu: kernel avx512 (fast decode); cuda: kernel fp32".
    std::string describe() const override;

    /// The reference path on x's device: at::linear(x, denseWeight(), bias).
    at::Tensor referenceForward(const at::Tensor& x, const at::Tensor& bias) const;

    const std::string& name() const { return name_; }
    const kernels::HyperLinearWeight& weight() const { return weight_; }
    const HyperLinearOptions& options() const { return options_; }

private:
    at::Tensor forwardCpu(const at::Tensor& x2d, const at::Tensor& bias) const;
    /// The CUDA kernel's result, or an undefined tensor when this build cannot run it.
    at::Tensor tryForwardCuda(const at::Tensor& x2d, const at::Tensor& bias) const;
    /// Why CUDA tensors take the reference path, or "" when the CUDA kernel runs them.
    static std::string cudaUnavailableReason();

    std::string name_;
    kernels::HyperLinearWeight weight_;
    HyperLinearOptions options_;
#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)
    mutable std::mutex cudaMutex_;
    mutable std::map<int, std::shared_ptr<kernels::CudaHyperLinearWeight>> cudaCopies_;
#endif
};

/// What attachHyperLinear() did.
struct HyperLinearAttachment {
    int attached = 0;   ///< Linear layers now running on HyperLinear
    int keptDense = 0;  ///< Linear layers whose weight the file stores raw or as pairs (decode them)
    int notInFile = 0;  ///< Linear layers whose weight the file does not hold
    /// Names of the tensors now held by HyperLinear backends (leave them out when loading the
    /// decoded state dict).
    std::vector<std::string> attachedTensors;
    std::int64_t hyperWeightBytes = 0;  ///< bytes the attached backends hold
    std::int64_t denseWeightBytes = 0;  ///< float32 bytes the same weights would take dense
};

/// Backends keyed by the weight's tensor name (the LinearBackendMap of core/models/sam_model.h).
using HyperLinearBackendMap = std::map<std::string, std::shared_ptr<const LinearBackend>>;

/// A HyperLinearBackend for every tensor of `compressed` stored as LoadType::LinearMatrix, in
/// file order. Reports progress per tensor and honours cancellation between tensors.
/// @throws Error naming a tensor whose index stream is invalid; CancelledError.
HyperLinearBackendMap hyperLinearBackends(const format::CompressedModel& compressed,
                                          const HyperLinearOptions& options = {}, const Progress& progress = {});

/// Every tensor of `compressed` except those in `backends`, decoded to dense (float32 for
/// encoded tensors; raw tensors as stored), in the file's order.
/// @throws Error as format::decodeTensor; CancelledError.
io::StateDict decodeRemainingTensors(const format::CompressedModel& compressed, const HyperLinearBackendMap& backends,
                                     const Progress& progress = {});

/// Attaches a HyperLinearBackend to every birkhoff::models::Linear in `model` (any nn::Module
/// tree) whose weight "<keyPrefix><module path>.weight" is stored as LoadType::LinearMatrix.
/// Layers are visited in named_modules() order; reports progress per layer and honours
/// cancellation between layers.
/// @throws Error naming the tensor when its shape differs from the layer's [out, in] or its
///   index stream is invalid; CancelledError.
HyperLinearAttachment attachHyperLinear(torch::nn::Module& model, const format::CompressedModel& compressed,
                                        const HyperLinearOptions& options = {}, const std::string& keyPrefix = "",
                                        const Progress& progress = {});

/// Every tensor of `compressed` except attachment.attachedTensors, decoded to dense (float32 for
/// encoded tensors; raw tensors as stored), in the file's order.
/// @throws Error as format::decodeTensor; CancelledError.
io::StateDict decodeRemainingTensors(const format::CompressedModel& compressed,
                                     const HyperLinearAttachment& attachment, const Progress& progress = {});

}  // namespace birkhoff::models
