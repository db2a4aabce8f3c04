// HyperLinear backend of birkhoff::models::Linear and its attachment to loaded models.
#include "core/models/hyper_linear.h"

#include "core/util/error.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#if defined(BIRKHOFF_HAVE_CUDA_KERNELS) && defined(BIRKHOFF_TORCH_CUDA)
#include <c10/cuda/CUDAStream.h>
#endif

#include <set>
#include <sstream>
#include <stdexcept>

namespace birkhoff::models {

namespace {

std::string quoted(const std::string& s)
{
    return "'" + s + "'";
}

const char* decodeName(kernels::VectorDecode decode)
{
    switch (decode) {
    case kernels::VectorDecode::Fast:
        return "fast decode";
    case kernels::VectorDecode::Corrected:
        return "corrected decode";
    case kernels::VectorDecode::Table:
        break;
    }
    return "table decode";
}

}  // namespace

std::shared_ptr<HyperLinearBackend> HyperLinearBackend::fromEncoded(const format::EncodedTensor& tensor,
                                                                    const HyperLinearOptions& options)
{
    if (tensor.loadType != format::LoadType::LinearMatrix)
        throw Error("tensor " + quoted(tensor.name) + " is stored as " + format::loadTypeName(tensor.loadType)
                    + ", not as a Linear index matrix");
    if (tensor.shape.size() != 2)
        throw Error("tensor " + quoted(tensor.name) + " is a Linear index matrix but not 2-D");
    if (!tensor.packed.defined() || tensor.packed.scalar_type() != at::kByte)
        throw Error("tensor " + quoted(tensor.name) + " has no uint8 index stream");
    const at::Tensor packed = tensor.packed.contiguous();
    try {
        kernels::HyperLinearWeight weight = kernels::HyperLinearWeight::fromPackedStream(
            packed.data_ptr<std::uint8_t>(), static_cast<std::size_t>(packed.numel()), tensor.bits, tensor.padBits,
            tensor.shape[0], tensor.shape[1], tensor.lattice());
        weight.setRowScale(tensor.rowScale);
        return std::make_shared<HyperLinearBackend>(tensor.name, std::move(weight), options);
    } catch (const std::invalid_argument& e) {
        throw Error("tensor " + quoted(tensor.name) + ": " + e.what());
    }
}

HyperLinearBackend::HyperLinearBackend(std::string name, kernels::HyperLinearWeight weight,
                                       const HyperLinearOptions& options)
    : name_(std::move(name)), weight_(std::move(weight)), options_(options)
{
}

at::Tensor HyperLinearBackend::forward(const at::Tensor& x, const at::Tensor& bias) const
{
    const std::int64_t in = weight_.inFeatures();
    if (!x.defined() || x.dim() < 1 || x.size(-1) != in)
        throw Error("HyperLinear " + quoted(name_) + ": input's last dimension is "
                    + (x.defined() && x.dim() > 0 ? std::to_string(x.size(-1)) : std::string("missing"))
                    + ", expected " + std::to_string(in));
    if (x.scalar_type() != at::kFloat)
        throw Error("HyperLinear " + quoted(name_) + ": input dtype " + std::string(c10::toString(x.scalar_type()))
                    + ", expected float32");
    if (bias.defined() && (bias.numel() != weight_.outFeatures() || bias.scalar_type() != at::kFloat))
        throw Error("HyperLinear " + quoted(name_) + ": bias must be float32 with " + std::to_string(weight_.outFeatures())
                    + " elements");
    if (options_.referenceOnly)
        return referenceForward(x, bias);
    std::vector<std::int64_t> outSizes(x.sizes().begin(), x.sizes().end());
    outSizes.back() = weight_.outFeatures();
    const at::Tensor x2d = x.reshape({-1, in}).contiguous();
    if (x.device().is_cpu())
        return forwardCpu(x2d, bias).view(outSizes);
    if (x.device().is_cuda()) {
        const at::Tensor y = tryForwardCuda(x2d, bias);
        if (y.defined())
            return y.view(outSizes);
    }
    return referenceForward(x, bias);
}

at::Tensor HyperLinearBackend::forwardCpu(const at::Tensor& x2d, const at::Tensor& bias) const
{
    const std::int64_t tokens = x2d.size(0);
    at::Tensor y = at::empty({tokens, weight_.outFeatures()}, x2d.options());
    const at::Tensor b = bias.defined() ? bias.to(at::kCPU).contiguous() : at::Tensor();
    kernels::HyperLinearOptions o;
    o.isa = options_.cpuIsa;
    // Inside an intra-op parallel region run single-threaded, as ATen's own kernels do.
    o.threads = at::in_parallel_region() ? 1 : at::get_num_threads();
    try {
        kernels::hyperLinearForward(weight_, x2d.data_ptr<float>(), tokens, b.defined() ? b.data_ptr<float>() : nullptr,
                                    y.data_ptr<float>(), o);
    } catch (const std::exception& e) {
        throw Error("HyperLinear " + quoted(name_) + ": " + e.what());
    }
    return y;
}

#if defined(BIRKHOFF_HAVE_CUDA_KERNELS) && defined(BIRKHOFF_TORCH_CUDA)

at::Tensor HyperLinearBackend::tryForwardCuda(const at::Tensor& x2d, const at::Tensor& bias) const
{
    if (!cudaUnavailableReason().empty())
        return {};
    const int device = x2d.device().index();
    std::shared_ptr<kernels::CudaHyperLinearWeight> copy;
    {
        std::lock_guard<std::mutex> lock(cudaMutex_);
        auto& slot = cudaCopies_[device];
        if (!slot) {
            try {
                slot = std::make_shared<kernels::CudaHyperLinearWeight>(weight_, device);
            } catch (const std::exception& e) {
                cudaCopies_.erase(device);
                throw Error("HyperLinear " + quoted(name_) + ": uploading to CUDA device " + std::to_string(device)
                            + ": " + e.what());
            }
        }
        copy = slot;
    }
    kernels::CudaMath math = kernels::CudaMath::Fp32;
    switch (options_.cuda) {
    case HyperLinearOptions::Cuda::FollowLibTorch:
        math = at::globalContext().allowTF32CuBLAS() ? kernels::CudaMath::Tf32 : kernels::CudaMath::Fp32;
        break;
    case HyperLinearOptions::Cuda::Fp32:
        math = kernels::CudaMath::Fp32;
        break;
    case HyperLinearOptions::Cuda::Tf32:
        math = kernels::CudaMath::Tf32;
        break;
    case HyperLinearOptions::Cuda::Bf16:
        math = kernels::CudaMath::Bf16;
        break;
    }
    const std::int64_t tokens = x2d.size(0);
    at::Tensor y = at::empty({tokens, weight_.outFeatures()}, x2d.options());
    const at::Tensor b = bias.defined() ? bias.to(x2d.device()).contiguous() : at::Tensor();
    try {
        kernels::hyperLinearForwardCuda(*copy, x2d.data_ptr<float>(), tokens, b.defined() ? b.data_ptr<float>() : nullptr,
                                        y.data_ptr<float>(), math, c10::cuda::getCurrentCUDAStream(device).stream());
    } catch (const std::exception& e) {
        throw Error("HyperLinear " + quoted(name_) + ": " + e.what());
    }
    return y;
}

std::string HyperLinearBackend::cudaUnavailableReason()
{
    std::string reason;
    if (kernels::cudaDeviceCount(&reason) == 0)
        return "no usable CUDA device: " + reason;
    return {};
}

#else

at::Tensor HyperLinearBackend::tryForwardCuda(const at::Tensor&, const at::Tensor&) const
{
    return {};
}

std::string HyperLinearBackend::cudaUnavailableReason()
{
#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)
    return "this LibTorch has no CUDA support";
#else
    return "built without the CUDA kernels (configure with the cuda preset)";
#endif
}

#endif

at::Tensor HyperLinearBackend::referenceForward(const at::Tensor& x, const at::Tensor& bias) const
{
    return rethrowAsError("HyperLinear " + quoted(name_) + " (reference path)", [&] {
        const at::Tensor w = denseWeight().to(x.device());
        return at::linear(x, w, bias.defined() ? bias.to(x.device()) : bias);
    });
}

at::Tensor HyperLinearBackend::denseWeight() const
{
    at::Tensor dense = at::empty({weight_.outFeatures(), weight_.inFeatures()}, at::kFloat);
    kernels::HyperLinearOptions o;
    o.isa = options_.cpuIsa;
    o.threads = at::in_parallel_region() ? 1 : at::get_num_threads();
    kernels::decodeDenseWeight(weight_, dense.data_ptr<float>(), o);
    return dense;
}

std::int64_t HyperLinearBackend::weightBytes() const
{
    auto bytes = static_cast<std::int64_t>(weight_.storageBytes());
#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)
    std::lock_guard<std::mutex> lock(cudaMutex_);
    for (const auto& kv : cudaCopies_)
        bytes += static_cast<std::int64_t>(kv.second->deviceBytes());
#endif
    return bytes;
}

std::string HyperLinearBackend::describe() const
{
    const kernels::LatticeParams& p = weight_.lattice();
    std::ostringstream s;
    s << "hyperlinear " << name_ << " [" << weight_.outFeatures() << "x" << weight_.inFeatures() << "] U=" << p.U
      << " K=" << p.K << " " << weight_.bits() << "-bit; ";
    if (options_.referenceOnly) {
        s << "reference path (decode to dense, then at::linear) on every device";
        return s.str();
    }
    const kernels::CpuIsa isa = kernels::effectiveHyperLinearIsa(options_.cpuIsa);
    s << "cpu: kernel " << kernels::cpuIsaName(isa);
    if (isa == kernels::CpuIsa::Avx512)
        s << " (" << decodeName(weight_.avx512Decode()) << ")";
    else
        s << " (table decode)";
    const std::string cudaReason = cudaUnavailableReason();
    if (cudaReason.empty())
        s << "; cuda: kernel";
    else
        s << "; cuda: reference path (" << cudaReason << ")";
    return s.str();
}

HyperLinearAttachment attachHyperLinear(torch::nn::Module& model, const format::CompressedModel& compressed,
                                        const HyperLinearOptions& options, const std::string& keyPrefix,
                                        const Progress& progress)
{
    std::vector<std::pair<std::string, LinearImpl*>> layers;
    for (const auto& item : model.named_modules()) {
        if (auto* linear = dynamic_cast<LinearImpl*>(item.value().get()))
            layers.emplace_back(item.key(), linear);
    }
    HyperLinearAttachment result;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        progress.checkCancelled();
        const auto& [path, layer] = layers[i];
        const std::string key = keyPrefix + (path.empty() ? std::string("weight") : path + ".weight");
        progress.report(static_cast<double>(i) / static_cast<double>(layers.size()), key);
        const format::EncodedTensor* tensor = compressed.find(key);
        if (tensor == nullptr) {
            ++result.notInFile;
            continue;
        }
        if (tensor->loadType != format::LoadType::LinearMatrix) {
            ++result.keptDense;
            continue;
        }
        if (tensor->shape.size() != 2 || tensor->shape[0] != layer->outFeatures()
            || tensor->shape[1] != layer->inFeatures())
            throw Error("tensor " + quoted(key) + " has shape " + c10::str(c10::IntArrayRef(tensor->shape))
                        + " but the layer expects [" + std::to_string(layer->outFeatures()) + ", "
                        + std::to_string(layer->inFeatures()) + "]");
        auto backend = HyperLinearBackend::fromEncoded(*tensor, options);
        result.hyperWeightBytes += backend->weightBytes();
        result.denseWeightBytes += layer->outFeatures() * layer->inFeatures() * static_cast<std::int64_t>(sizeof(float));
        layer->setBackend(std::move(backend));
        result.attachedTensors.push_back(key);
        ++result.attached;
    }
    progress.report(1.0, "HyperLinear attached");
    return result;
}

HyperLinearBackendMap hyperLinearBackends(const format::CompressedModel& compressed, const HyperLinearOptions& options,
                                          const Progress& progress)
{
    HyperLinearBackendMap backends;
    const double total = static_cast<double>(std::max<std::size_t>(1, compressed.tensors.size()));
    for (std::size_t i = 0; i < compressed.tensors.size(); ++i) {
        const format::EncodedTensor& t = compressed.tensors[i];
        progress.checkCancelled();
        progress.report(static_cast<double>(i) / total, t.name);
        if (t.loadType == format::LoadType::LinearMatrix)
            backends.emplace(t.name, HyperLinearBackend::fromEncoded(t, options));
    }
    progress.report(1.0, "HyperLinear backends built");
    return backends;
}

namespace {

io::StateDict decodeAllExcept(const format::CompressedModel& compressed, const std::set<std::string>& attached,
                              const Progress& progress)
{
    io::StateDict out;
    const double total = static_cast<double>(std::max<std::size_t>(1, compressed.tensors.size()));
    for (std::size_t i = 0; i < compressed.tensors.size(); ++i) {
        const format::EncodedTensor& t = compressed.tensors[i];
        progress.checkCancelled();
        progress.report(static_cast<double>(i) / total, t.name);
        if (attached.count(t.name) == 0)
            out.insert(t.name, format::decodeTensor(t));
    }
    progress.report(1.0, "decoded");
    return out;
}

}  // namespace

io::StateDict decodeRemainingTensors(const format::CompressedModel& compressed, const HyperLinearBackendMap& backends,
                                     const Progress& progress)
{
    std::set<std::string> attached;
    for (const auto& kv : backends)
        attached.insert(kv.first);
    return decodeAllExcept(compressed, attached, progress);
}

io::StateDict decodeRemainingTensors(const format::CompressedModel& compressed, const HyperLinearAttachment& attachment,
                                     const Progress& progress)
{
    return decodeAllExcept(compressed, {attachment.attachedTensors.begin(), attachment.attachedTensors.end()},
                           progress);
}

}  // namespace birkhoff::models
