// CPU HyperLinear: run-time weight layout, work planning and instruction-set dispatch (this
// translation unit is compiled for the baseline ISA), plus the plain reference implementation.
#include "kernels/hyperlinear.h"

#include "kernels/bitpack.h"
#include "kernels/hyperlinear_cuda.h"
#include "kernels/hyperlinear_tiles.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace birkhoff::kernels {

struct HyperLinearWeight::LazyState {
    std::once_flag tableOnce;
    std::vector<float> table;
    std::atomic<bool> tableBuilt{false};
    std::once_flag decodeOnce;
    VectorDecode decode = VectorDecode::Table;
};

namespace {

std::int64_t ceilDiv(std::int64_t a, std::int64_t b)
{
    return (a + b - 1) / b;
}

/// Appends `bits`-bit values MSB first to a byte array; flush() writes the last partial byte
/// (zero-filled).
class BitWriter {
public:
    BitWriter(std::uint8_t* bytes, unsigned bits) : bytes_(bytes), bits_(bits) {}
    void put(std::uint32_t value)
    {
        buffer_ = (buffer_ << bits_) | value;
        held_ += bits_;
        while (held_ >= 8) {
            held_ -= 8;
            *bytes_++ = static_cast<std::uint8_t>(buffer_ >> held_);
        }
    }
    void flush()
    {
        if (held_ > 0)
            *bytes_++ = static_cast<std::uint8_t>(buffer_ << (8 - held_));
        held_ = 0;
    }

private:
    std::uint8_t* bytes_;
    unsigned bits_;
    std::uint64_t buffer_ = 0;
    unsigned held_ = 0;
};

/// Reads `bits`-bit values MSB first from a byte stream, starting after `skipBits` bits.
class BitReader {
public:
    BitReader(const std::uint8_t* bytes, unsigned bits, unsigned skipBits) : bytes_(bytes), bits_(bits)
    {
        if (skipBits > 0) {
            buffer_ = *bytes_++;
            held_ = 8 - skipBits;
            buffer_ &= (1u << held_) - 1u;
        }
    }
    std::uint32_t next()
    {
        while (held_ < bits_) {
            buffer_ = (buffer_ << 8) | *bytes_++;
            held_ += 8;
        }
        held_ -= bits_;
        return static_cast<std::uint32_t>((buffer_ >> held_) & ((std::uint64_t{1} << bits_) - 1));
    }

private:
    const std::uint8_t* bytes_;
    unsigned bits_;
    std::uint64_t buffer_ = 0;
    unsigned held_ = 0;
};

std::string shapeText(std::int64_t out, std::int64_t in)
{
    return "[" + std::to_string(out) + ", " + std::to_string(in) + "]";
}

}  // namespace

HyperLinearWeight::HyperLinearWeight(HyperLinearWeight&&) noexcept = default;
HyperLinearWeight& HyperLinearWeight::operator=(HyperLinearWeight&&) noexcept = default;
HyperLinearWeight::~HyperLinearWeight() = default;

void HyperLinearWeight::initLattice(const LatticeParams& lattice, std::int64_t outFeatures, std::int64_t inFeatures)
{
    if (outFeatures < 1 || inFeatures < 1)
        throw std::invalid_argument("HyperLinear: invalid weight shape " + shapeText(outFeatures, inFeatures));
    if (lattice.U < 1 || lattice.U > kMaxU)
        throw std::invalid_argument("HyperLinear: U = " + std::to_string(lattice.U) + " is outside [1, "
                                    + std::to_string(kMaxU) + "]");
    if (lattice.K > kMaxRings)
        throw std::invalid_argument("HyperLinear: K = " + std::to_string(lattice.K) + " exceeds "
                                    + std::to_string(kMaxRings));
    if (!(lattice.l > 0.f) || !std::isfinite(lattice.l))
        throw std::invalid_argument("HyperLinear: the square side l = " + std::to_string(lattice.l)
                                    + " is not a positive finite number");
    out_ = outFeatures;
    in_ = inFeatures;
    pairs_ = ceilDiv(inFeatures, 2);
    groups_ = ceilDiv(outFeatures, kHyperRowGroup);
    lattice_ = lattice;
    ringFactors_.resize(lattice.K + 1);
    for (std::uint32_t j = 0; j <= lattice.K; ++j)
        ringFactors_[j] = lattice.K == 0 ? 1.f : ringFactor(lattice, j);
    lazy_ = std::make_unique<LazyState>();
}

HyperLinearWeight HyperLinearWeight::fromIndices(const std::uint32_t* indices, std::int64_t outFeatures,
                                                 std::int64_t inFeatures, const LatticeParams& lattice)
{
    HyperLinearWeight w;
    w.initLattice(lattice, outFeatures, inFeatures);
    const std::uint32_t limit = lattice.U * (lattice.K + 1);
    const std::int64_t count = outFeatures * w.pairs_;
    std::uint32_t maxIndex = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        if (indices[i] >= limit)
            throw std::invalid_argument("HyperLinear: stored index " + std::to_string(indices[i]) + " at row "
                                        + std::to_string(i / w.pairs_) + ", column " + std::to_string(i % w.pairs_)
                                        + " is not below U*(K+1) = " + std::to_string(limit));
        maxIndex = indices[i] > maxIndex ? indices[i] : maxIndex;
    }
    w.bits_ = bitWidthFor(maxIndex);
    const std::size_t columnBytes = 2 * static_cast<std::size_t>(w.bits_);
    w.grouped_.assign(static_cast<std::size_t>(w.groups_ * w.pairs_) * columnBytes, 0);
    BitWriter writer(w.grouped_.data(), w.bits_);
    for (std::int64_t g = 0; g < w.groups_; ++g) {
        for (std::int64_t p = 0; p < w.pairs_; ++p) {
            for (std::int64_t r = 0; r < kHyperRowGroup; ++r) {
                const std::int64_t row = g * kHyperRowGroup + r;
                writer.put(row < outFeatures ? indices[row * w.pairs_ + p] : 0u);
            }
        }
    }
    writer.flush();
    return w;
}

HyperLinearWeight HyperLinearWeight::fromPackedStream(const std::uint8_t* stream, std::size_t streamBytes,
                                                      unsigned bits, unsigned padBits, std::int64_t outFeatures,
                                                      std::int64_t inFeatures, const LatticeParams& lattice)
{
    if (outFeatures < 1 || inFeatures < 1)
        throw std::invalid_argument("HyperLinear: invalid weight shape " + shapeText(outFeatures, inFeatures));
    if (bits < 1 || bits > 32)
        throw std::invalid_argument("HyperLinear: " + std::to_string(bits) + " bits per index is outside [1, 32]");
    const std::size_t count = static_cast<std::size_t>(outFeatures) * static_cast<std::size_t>(ceilDiv(inFeatures, 2));
    if (padBits != packedPaddingBits(count, bits))
        throw std::invalid_argument("HyperLinear: " + std::to_string(padBits) + " padding bits, expected "
                                    + std::to_string(packedPaddingBits(count, bits)) + " for " + std::to_string(count)
                                    + " indices of " + std::to_string(bits) + " bits");
    if (streamBytes != packedByteCount(count, bits))
        throw std::invalid_argument("HyperLinear: index stream of " + std::to_string(streamBytes)
                                    + " bytes, expected " + std::to_string(packedByteCount(count, bits))
                                    + " for weight " + shapeText(outFeatures, inFeatures) + " at "
                                    + std::to_string(bits) + " bits");
    std::vector<std::uint32_t> indices(count);
    BitReader reader(stream, bits, padBits);
    for (std::size_t i = 0; i < count; ++i)
        indices[i] = reader.next();
    return fromIndices(indices.data(), outFeatures, inFeatures, lattice);
}

std::uint32_t HyperLinearWeight::indexAt(std::int64_t row, std::int64_t pair) const
{
    const std::int64_t g = row / kHyperRowGroup;
    const std::int64_t r = row % kHyperRowGroup;
    const std::size_t position = static_cast<std::size_t>((g * pairs_ + pair) * kHyperRowGroup + r);
    return packedIndexAt(grouped_.data(), bits_, 0, position);
}

const float* HyperLinearWeight::decodeTable() const
{
    std::call_once(lazy_->tableOnce, [this] {
        lazy_->table.resize(2 * decodeTableEntries(lattice_));
        buildDecodeTable(lattice_, lazy_->table.data());
        lazy_->tableBuilt.store(true, std::memory_order_release);
    });
    return lazy_->table.data();
}

VectorDecode HyperLinearWeight::avx512Decode() const
{
    std::call_once(lazy_->decodeOnce, [this] {
        if (hardwareCpuIsa() != CpuIsa::Avx512) {
            lazy_->decode = VectorDecode::Table;
            return;
        }
        // Compare against a table of our own so that a weight whose vector decoder is exact
        // never keeps a table.
        std::vector<float> reference(2 * decodeTableEntries(lattice_));
        buildDecodeTable(lattice_, reference.data());
        lazy_->decode = static_cast<VectorDecode>(
            detail::chooseAvx512Decode(lattice_, ringFactors_.data(), reference.data()));
    });
    return lazy_->decode;
}

void HyperLinearWeight::setRowScale(std::vector<float> scale)
{
    if (!scale.empty() && static_cast<std::int64_t>(scale.size()) != out_)
        throw std::invalid_argument("row scale has " + std::to_string(scale.size()) + " entries, expected "
                                    + std::to_string(out_));
    for (std::size_t i = 0; i < scale.size(); ++i)
        if (!std::isfinite(scale[i]))
            throw std::invalid_argument("row scale of row " + std::to_string(i) + " is not finite");
    rowScale_ = std::move(scale);
}

std::size_t HyperLinearWeight::storageBytes() const
{
    std::size_t bytes = grouped_.size() + rowScale_.size() * sizeof(float);
    if (lazy_->tableBuilt.load(std::memory_order_acquire))
        bytes += lazy_->table.size() * sizeof(float);
    return bytes;
}

std::vector<float> hostDecodeTable(const LatticeParams& lattice)
{
    std::vector<float> table(2 * decodeTableEntries(lattice));
    buildDecodeTable(lattice, table.data());
    return table;
}

CpuIsa effectiveHyperLinearIsa(CpuIsa requested)
{
    const CpuIsa hw = hardwareCpuIsa();
    return static_cast<int>(requested) < static_cast<int>(hw) ? requested : hw;
}

const char* cudaMathName(CudaMath math)
{
    switch (math) {
    case CudaMath::Tf32:
        return "tf32";
    case CudaMath::Bf16:
        return "bf16";
    case CudaMath::Fp32:
        break;
    }
    return "fp32";
}

namespace detail {

float* threadScratch(std::size_t floats)
{
    struct Scratch {
        float* data = nullptr;
        std::size_t capacity = 0;
        ~Scratch() { std::free(data); }
    };
    thread_local Scratch scratch;
    if (scratch.capacity < floats) {
        std::free(scratch.data);
        const std::size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        scratch.data = static_cast<float*>(std::aligned_alloc(64, bytes));
        if (scratch.data == nullptr) {
            scratch.capacity = 0;
            throw std::bad_alloc();
        }
        scratch.capacity = floats;
    }
    return scratch.data;
}

namespace {

/// Work a thread should get before another one is worth waking, in units of about one decoded
/// weight pair (~0.3 ns with AVX-512): ~20 us. Below it, fork/join and a descheduled thread on a
/// busy machine cost more than the split saves (BLAS libraries keep small products on one
/// thread for the same reason).
constexpr std::int64_t kMinWorkPerThread = std::int64_t{1} << 16;

/// Tokens per range when there are many: the activations of 256 tokens (768 KiB for in = 768)
/// stay in L2/L3 while all row blocks pass over them, and re-decoding the panels once per 256
/// tokens costs about 4% of the multiply.
constexpr std::int64_t kTokenBlock = 256;

TilePlan makePlan(const IsaBlocking& b, std::int64_t groups, std::int64_t pairs, std::int64_t tokens, int threads)
{
    TilePlan plan;
    // Work units: decoding a pair costs about as much as 8 of its token products (16 FMA lanes).
    const std::int64_t work = groups * 16 * pairs * (1 + tokens / 8);
    const std::int64_t useful = std::max<std::int64_t>(1, work / kMinWorkPerThread);
    plan.threads = static_cast<int>(std::min<std::int64_t>(threads < 1 ? 1 : threads, useful));
    std::int64_t rowBlocks = ceilDiv(groups, b.maxGroups);
    // Equal shares per thread: a multiple of the thread count when there are enough groups.
    if (plan.threads > 1 && rowBlocks % plan.threads != 0) {
        const std::int64_t balanced = ceilDiv(rowBlocks, plan.threads) * plan.threads;
        if (balanced <= groups)
            rowBlocks = balanced;
    }
    plan.groupsPerBlock = ceilDiv(groups, rowBlocks);
    plan.rowBlocks = ceilDiv(groups, plan.groupsPerBlock);
    // Many tokens: ranges of about kTokenBlock tokens, run range by range (runTiles orders the
    // items token-range major), so the range's activations stay in L2/L3 while every row block
    // passes over them; panels are decoded once per range, T / kTokenBlock times in all.
    std::int64_t tokenRanges = std::max<std::int64_t>(1, tokens / kTokenBlock);
    // Too few row blocks to feed every thread: split the tokens further (each range re-decodes
    // its panels, so ranges are kept long).
    if (plan.rowBlocks * tokenRanges < plan.threads) {
        const std::int64_t minTokens = 8 * static_cast<std::int64_t>(b.mr);
        const std::int64_t wanted = ceilDiv(plan.threads, plan.rowBlocks);
        const std::int64_t affordable = std::max<std::int64_t>(1, tokens / minTokens);
        tokenRanges = std::max(tokenRanges, std::min(wanted, affordable));
    }
    plan.tokensPerRange = ceilDiv(ceilDiv(tokens, tokenRanges), b.mr) * b.mr;
    plan.tokenRanges = ceilDiv(tokens, plan.tokensPerRange);
    const std::int64_t items = plan.rowBlocks * plan.tokenRanges;
    if (items < plan.threads)
        plan.threads = static_cast<int>(items);
    return plan;
}

}  // namespace
}  // namespace detail

namespace {

detail::TileProblem makeProblem(const HyperLinearWeight& weight, const float* x, std::int64_t tokens, const float* bias,
                                float* y)
{
    detail::TileProblem pr;
    pr.grouped = weight.groupedIndices().data();
    pr.bits = weight.bits();
    pr.out = weight.outFeatures();
    pr.in = weight.inFeatures();
    pr.pairs = weight.pairsPerRow();
    pr.groups = weight.rowGroups();
    pr.lattice = weight.lattice();
    pr.ringFactors = weight.ringFactors().data();
    pr.x = x;
    pr.tokens = tokens;
    pr.bias = bias;
    pr.y = y;
    pr.rowScale = weight.rowScale().empty() ? nullptr : weight.rowScale().data();
    return pr;
}

}  // namespace

void hyperLinearForward(const HyperLinearWeight& weight, const float* x, std::int64_t tokens, const float* bias,
                        float* y, const HyperLinearOptions& options)
{
    if (tokens < 0)
        throw std::invalid_argument("HyperLinear: negative token count " + std::to_string(tokens));
    if (tokens == 0)
        return;
    if (x == nullptr || y == nullptr)
        throw std::invalid_argument("HyperLinear: null input or output");
    const CpuIsa isa = effectiveHyperLinearIsa(options.isa);
    const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
    detail::TileProblem pr = makeProblem(weight, x, tokens, bias, y);
    switch (isa) {
    case CpuIsa::Avx512: {
        const VectorDecode decode = weight.avx512Decode();
        pr.decodeMode = static_cast<int>(decode);
        pr.table = decode == VectorDecode::Table ? weight.decodeTable() : nullptr;
        pr.plan = detail::makePlan(detail::kAvx512Blocking, pr.groups, pr.pairs, tokens, threads);
        detail::runAvx512(pr);
        break;
    }
    case CpuIsa::Avx2Fma:
        pr.table = weight.decodeTable();
        pr.plan = detail::makePlan(detail::kAvx2Blocking, pr.groups, pr.pairs, tokens, threads);
        detail::runAvx2(pr);
        break;
    case CpuIsa::Portable:
        pr.table = weight.decodeTable();
        pr.plan = detail::makePlan(detail::kPortableBlocking, pr.groups, pr.pairs, tokens, threads);
        detail::runPortable(pr);
        break;
    }
}

void decodeDenseWeight(const HyperLinearWeight& weight, float* dense, const HyperLinearOptions& options)
{
    detail::TileProblem pr = makeProblem(weight, nullptr, 0, nullptr, nullptr);
    pr.plan.threads = options.threads > 0 ? options.threads : omp_get_max_threads();
    switch (effectiveHyperLinearIsa(options.isa)) {
    case CpuIsa::Avx512: {
        const VectorDecode decode = weight.avx512Decode();
        pr.decodeMode = static_cast<int>(decode);
        pr.table = decode == VectorDecode::Table ? weight.decodeTable() : nullptr;
        detail::decodeDenseAvx512(pr, dense);
        break;
    }
    case CpuIsa::Avx2Fma:
        pr.table = weight.decodeTable();
        detail::decodeDenseAvx2(pr, dense);
        break;
    case CpuIsa::Portable:
        pr.table = weight.decodeTable();
        detail::decodeDensePortable(pr, dense);
        break;
    }
}

void hyperLinearReference(const HyperLinearWeight& weight, const float* x, std::int64_t tokens, const float* bias,
                          float* y)
{
    const std::int64_t out = weight.outFeatures();
    const std::int64_t in = weight.inFeatures();
    const LatticeParams& lattice = weight.lattice();
    std::vector<float> dense(static_cast<std::size_t>(out * in));
    for (std::int64_t row = 0; row < out; ++row) {
        for (std::int64_t p = 0; p < weight.pairsPerRow(); ++p) {
            float w[2];
            decodeIndex(lattice, weight.indexAt(row, p), w);
            if (!weight.rowScale().empty()) {
                w[0] *= weight.rowScale()[static_cast<std::size_t>(row)];
                w[1] *= weight.rowScale()[static_cast<std::size_t>(row)];
            }
            dense[row * in + 2 * p] = w[0];
            if (2 * p + 1 < in)
                dense[row * in + 2 * p + 1] = w[1];
        }
    }
    for (std::int64_t t = 0; t < tokens; ++t) {
        for (std::int64_t o = 0; o < out; ++o) {
            double sum = 0.0;
            for (std::int64_t k = 0; k < in; ++k)
                sum += static_cast<double>(x[t * in + k]) * static_cast<double>(dense[o * in + k]);
            if (bias)
                sum += bias[o];
            y[t * out + o] = static_cast<float>(sum);
        }
    }
}

}  // namespace birkhoff::kernels
