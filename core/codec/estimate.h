// A fast estimate of what compressModel() would produce (the studio's live preview while l, U, M
// and overrides change; a dry run that does not encode every weight).
//
// Method: the encoder's decisions for one tensor depend on every pair only through the pair
// centroid, the pad value of an odd width and the farthest pair (the outer radius R); given those,
// each pair's reconstruction (and so its error) depends on that pair alone. The estimator
// therefore computes those statistics once per tensor over ALL its pairs, then encodes a
// deterministic sample - evenly spaced rows of a Linear weight (evenly spaced blocks of pairs for
// other parameters) plus the row/block holding the farthest pair - with the full tensor's centroid
// and pad value imposed (EncodeHints). The sample's MAE for every (U, K) the search tries is an
// unbiased estimate of the full tensor's, so the search takes (almost always) the same path; U,
// K and the index width found on the sample are then applied to the full tensor to compute its
// stored bytes, and format::compressedFileSize() gives the file size for those choices exactly.
// Tensors that are small, raw by rule (buffers, keep-raw overrides, < 10 elements, non-float) or
// below EstimateOptions::exactBelowElements are encoded whole, exactly as compressModel() does.
#pragma once

#include "core/codec/compressor.h"
#include "core/codec/report.h"
#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace birkhoff::codec {

struct EstimateOptions {
    /// Fraction of each large tensor's rows (or pair blocks) to encode, in (0, 1]. 1 encodes
    /// every weight (the estimate is then the exact report, bytes included).
    double sampleFraction = 0.02;
    /// At least this many pairs per sampled tensor (unless the tensor has fewer).
    std::int64_t minSamplePairs = 1024;
    /// Tensors with at most this many elements are always encoded whole.
    std::int64_t exactBelowElements = 1 << 15;
};

class CompressionEstimator {
public:
    /// Computes the per-tensor statistics (centroid, pad value, farthest pair) of `checkpoint`:
    /// one pass over all weights. `checkpoint` is copied by reference count (tensors are shared,
    /// not copied). `originalFileBytes` is the checkpoint file size for the ratio (0: tensor bytes).
    /// @throws Error if roles.size() differs from the tensor count; CancelledError.
    CompressionEstimator(const io::StateDict& checkpoint, std::vector<TensorRole> roles,
                         std::uint64_t originalFileBytes, const Progress& progress = {});
    ~CompressionEstimator();
    CompressionEstimator(const CompressionEstimator&) = delete;
    CompressionEstimator& operator=(const CompressionEstimator&) = delete;

    /// The estimated report for `options` (defaults + overrides + auto l; the target modes are
    /// not estimated; the rate-distortion codec is run exactly: its report is compressModel's). Rows have the same order and meaning as compressModel()'s report; bytes
    /// and the file size are for the full tensors with the U / K / index width found on the
    /// samples. Thread-safe: several estimates may run concurrently (samples are built once per
    /// fraction and cached).
    /// @throws Error for invalid options or a target mode; CancelledError when cancelled.
    CompressionReport estimate(const CompressOptions& options, const EstimateOptions& estimate = {},
                               const Progress& progress = {}) const;

    /// Number of weights the estimate for `estimate` encodes (sampled tensors' samples plus the
    /// whole small tensors): what its run time is proportional to.
    std::int64_t sampledElements(const EstimateOptions& estimate) const;

    std::size_t tensorCount() const { return checkpoint_.size(); }

private:
    struct TensorStats;
    struct Sample;
    std::shared_ptr<const Sample> sampleFor(std::size_t index, const EstimateOptions& estimate) const;
    bool sampled(std::size_t index, const EstimateOptions& estimate) const;

    io::StateDict checkpoint_;
    std::vector<TensorRole> roles_;
    std::uint64_t originalFileBytes_ = 0;
    std::vector<TensorStats> stats_;
    mutable std::mutex cacheMutex_;
    /// (tensor index, sampled row/block count) -> sample
    mutable std::map<std::pair<std::size_t, std::int64_t>, std::shared_ptr<const Sample>> samples_;
};

}  // namespace birkhoff::codec
