// HyperLinear on the CPU: y[T, out] = x[T, in] * W^T + b computed straight from the stored
// lattice indices of W, never from a dense copy of W.
//
// Run-time storage (HyperLinearWeight): the indices of the Linear weight, re-packed from the
// file's row-major stream into "row groups" of kHyperRowGroup (16) output rows: for every group
// g and every index column p (a pair of input columns), the 16 indices of rows 16g..16g+15 are
// packed back to back, MSB first, with the same number of bits per index as the file (or fewer:
// the bit width of the largest index present). A group column is 2*bits bytes, so every one
// starts on a byte boundary and 16 indices unpack with a few vector instructions. The stream
// has exactly ceil(out/16)*16 * ceil(in/2) * bits / 8 bytes: the file's payload plus at most 15
// zero-index padding rows. Nothing else is held except, for the table decoder, the decode
// table of U*(K+1) float pairs (built on first use; the AVX-512 path never needs it).
//
// The kernel decodes a tile of 16-row groups x KC input columns into a cache-resident panel
// (k-major, 16 rows contiguous per k) and runs a register-blocked FMA micro-kernel over all
// tokens on it, multi-threaded with OpenMP (the runtime LibTorch uses; the thread count is
// omp_get_max_threads() unless given). Instruction sets are selected at run time
// (kernels/cpu_features.h): AVX-512 (arithmetic decode, verified once per weight against
// decodeIndex over every storable index), AVX2+FMA and portable C++ (both decode through the
// table of buildDecodeTable). Every path reproduces decode.h's weights bit for bit; only the
// order of the float32 sums differs from the reference.
#pragma once

#include "kernels/cpu_features.h"
#include "kernels/decode.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace birkhoff::kernels {

/// Output rows per index group of the run-time storage (one AVX-512 vector of weights).
constexpr int kHyperRowGroup = 16;

/// Largest bit width of one stored index the kernels accept: every valid index is below
/// kMaxU * (kMaxRings + 1) < 2^23.
constexpr unsigned kMaxHyperIndexBits = 23;

/// Decoders of the AVX-512 path, fastest first. All reproduce decodeIndex bit for bit.
enum class VectorDecode {
    Fast,       ///< lattice arithmetic without fmod corrections (valid for most tensors)
    Corrected,  ///< lattice arithmetic with exact fmod and floor(t/U) corrections
    Table,      ///< gathers from the decode table
};

/// One compressed Linear weight in the HyperLinear run-time layout (see the file comment).
/// Immutable after construction except for the lazily built decode table, so one instance can
/// serve concurrent forward calls.
class HyperLinearWeight {
public:
    /// Builds the run-time layout from the file's packed stream.
    /// @param stream      the `encoded_index` bytes: row-major [out, ceil(in/2)] indices of
    ///                    `bits` bits, MSB first, `padBits` zero bits prepended
    /// @param streamBytes size of `stream`; must be packedByteCount(out*ceil(in/2), bits)
    /// @param lattice     decode parameters of the tensor (makeLatticeParams)
    /// @throws std::invalid_argument if a size, bits or padBits is inconsistent, U or K is out
    ///         of range, or a stored index is >= U*(K+1) (a corrupt file).
    static HyperLinearWeight fromPackedStream(const std::uint8_t* stream, std::size_t streamBytes,
                                              unsigned bits, unsigned padBits, std::int64_t outFeatures,
                                              std::int64_t inFeatures, const LatticeParams& lattice);

    /// Builds the run-time layout from unpacked indices, row-major [out, ceil(in/2)].
    /// @throws std::invalid_argument as fromPackedStream().
    static HyperLinearWeight fromIndices(const std::uint32_t* indices, std::int64_t outFeatures,
                                         std::int64_t inFeatures, const LatticeParams& lattice);

    HyperLinearWeight(HyperLinearWeight&&) noexcept;
    HyperLinearWeight& operator=(HyperLinearWeight&&) noexcept;
    ~HyperLinearWeight();

    std::int64_t outFeatures() const { return out_; }
    std::int64_t inFeatures() const { return in_; }
    /// Index columns per row: ceil(in / 2) (an odd `in` has a padding coordinate).
    std::int64_t pairsPerRow() const { return pairs_; }
    /// Number of 16-row groups: ceil(out / 16).
    std::int64_t rowGroups() const { return groups_; }
    /// Bits per stored index in the run-time layout.
    unsigned bits() const { return bits_; }
    const LatticeParams& lattice() const { return lattice_; }
    /// f_j = ringFactor(lattice, j) for j = 0..K.
    const std::vector<float>& ringFactors() const { return ringFactors_; }

    /// Extension "row_scale": the weight of output row i is fl(decodeIndex(...) * scale[i]).
    /// `scale` must have outFeatures() finite entries; an empty vector removes the scale.
    /// @throws std::invalid_argument for a wrong size or a non-finite entry.
    void setRowScale(std::vector<float> scale);
    /// The per-row scale, empty when the weight has none.
    const std::vector<float>& rowScale() const { return rowScale_; }

    /// The run-time index stream (row-group layout).
    const std::vector<std::uint8_t>& groupedIndices() const { return grouped_; }
    /// Stored index of (row, index column), read back from the run-time layout.
    std::uint32_t indexAt(std::int64_t row, std::int64_t pair) const;

    /// Decode table (buildDecodeTable: U*(K+1) float pairs), built on the first call;
    /// thread-safe.
    const float* decodeTable() const;
    /// How the AVX-512 path decodes this weight, chosen on the first call (thread-safe) by
    /// comparing the vector decoders with decodeIndex bit for bit over every index < U*(K+1):
    /// Fast when the plain arithmetic reproduces it, else Corrected (exact fmod/division
    /// emulation), else Table. Table without AVX-512.
    VectorDecode avx512Decode() const;

    /// Bytes held at run time: the index stream, plus the decode table once it was built.
    std::size_t storageBytes() const;

private:
    HyperLinearWeight() = default;
    void initLattice(const LatticeParams& lattice, std::int64_t outFeatures, std::int64_t inFeatures);

    std::int64_t out_ = 0;
    std::int64_t in_ = 0;
    std::int64_t pairs_ = 0;
    std::int64_t groups_ = 0;
    unsigned bits_ = 1;
    LatticeParams lattice_;
    std::vector<float> ringFactors_;
    std::vector<float> rowScale_;
    std::vector<std::uint8_t> grouped_;

    struct LazyState;
    std::unique_ptr<LazyState> lazy_;
};

/// How a CPU forward call runs.
struct HyperLinearOptions {
    /// Instruction set; by default detectCpuIsa() (the best the CPU supports, capped by
    /// BIRKHOFF_CPU_ISA). A level above what the CPU supports is lowered to the best supported one.
    CpuIsa isa = detectCpuIsa();
    /// OpenMP threads; <= 0: omp_get_max_threads() (what at::set_num_threads configured).
    int threads = 0;
};

/// The decode table of `lattice` (buildDecodeTable: 2 floats per index t < U*(K+1)), computed
/// in this translation unit's float environment (-ffp-contract=off). For callers compiled by
/// other compilers (the CUDA upload), whose host flags may differ.
std::vector<float> hostDecodeTable(const LatticeParams& lattice);

/// The instruction set a forward call with `requested` actually uses on this CPU.
CpuIsa effectiveHyperLinearIsa(CpuIsa requested);

/// y[T, out] = x[T, in] * W^T + bias, float32, row-major and dense (leading dimensions in and
/// out). `bias` may be null. `x` and `y` must not overlap. T may be 0 (nothing is written).
void hyperLinearForward(const HyperLinearWeight& weight, const float* x, std::int64_t tokens,
                        const float* bias, float* y, const HyperLinearOptions& options = {});

/// The whole weight decoded into `dense` [out, in] row-major with the kernels' decoders
/// (bit-identical to decodeIndex), OpenMP-parallel over row groups. For the decode-then-multiply
/// path and for materialising a layer.
void decodeDenseWeight(const HyperLinearWeight& weight, float* dense, const HyperLinearOptions& options = {});

/// Reference forward, independent of the optimized code: every weight decoded with
/// decodeIndex from indexAt() (times the row scale, if any), then a naive product accumulating each output in double,
/// rounded to float32.
void hyperLinearReference(const HyperLinearWeight& weight, const float* x, std::int64_t tokens,
                          const float* bias, float* y);

}  // namespace birkhoff::kernels
