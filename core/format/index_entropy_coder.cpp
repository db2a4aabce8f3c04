// Adaptive range coding of lattice indices (see the header).
#include "core/format/index_entropy_coder.h"

#include "core/util/error.h"

#include <cmath>
#include <string>

namespace birkhoff::format {

namespace {

constexpr std::uint32_t kTop = 1u << 24;
constexpr std::uint32_t kMaxTotal = 1u << 16;  ///< keeps range / total >= 2^8
constexpr std::uint32_t kIncrement = 24;

/// Adaptive frequencies of `n` symbols in a Fenwick tree: cumulative counts and the symbol of a
/// cumulative value in O(log n). Counts start at 1 and are halved when the total would pass
/// kMaxTotal, so recent statistics weigh more and no count reaches zero.
class AdaptiveModel {
public:
    explicit AdaptiveModel(std::uint32_t n) : freq_(n, 1), tree_(n + 1, 0), total_(n)
    {
        rebuild();
        while (top_ * 2 <= n)
            top_ *= 2;
    }
    std::uint32_t total() const { return total_; }
    std::uint32_t frequency(std::uint32_t s) const { return freq_[s]; }
    /// Sum of the frequencies of symbols < s.
    std::uint32_t cumulative(std::uint32_t s) const
    {
        std::uint32_t sum = 0;
        for (std::uint32_t i = s; i > 0; i -= i & (0u - i))
            sum += tree_[i];
        return sum;
    }
    /// The symbol s with cumulative(s) <= value < cumulative(s) + frequency(s); value < total().
    std::uint32_t find(std::uint32_t value, std::uint32_t& cumulativeOut) const
    {
        std::uint32_t pos = 0, sum = 0;
        for (std::uint32_t step = top_; step > 0; step >>= 1) {
            const std::uint32_t next = pos + step;
            if (next < tree_.size() && sum + tree_[next] <= value) {
                pos = next;
                sum += tree_[next];
            }
        }
        cumulativeOut = sum;
        return pos;
    }
    void update(std::uint32_t s)
    {
        if (total_ + kIncrement > kMaxTotal) {
            total_ = 0;
            for (auto& f : freq_) {
                f = (f + 1) / 2;
                total_ += f;
            }
            rebuild();
        }
        freq_[s] += kIncrement;
        total_ += kIncrement;
        for (std::uint32_t i = s + 1; i < tree_.size(); i += i & (0u - i))
            tree_[i] += kIncrement;
    }

private:
    void rebuild()
    {
        std::fill(tree_.begin(), tree_.end(), 0u);
        for (std::uint32_t s = 0; s < freq_.size(); ++s)
            for (std::uint32_t i = s + 1; i < tree_.size(); i += i & (0u - i))
                tree_[i] += freq_[s];
    }

    std::vector<std::uint32_t> freq_;
    std::vector<std::uint32_t> tree_;
    std::uint32_t total_;
    std::uint32_t top_ = 1;
};

class RangeEncoder {
public:
    void encode(AdaptiveModel& model, std::uint32_t symbol)
    {
        const std::uint32_t r = range_ / model.total();
        low_ += static_cast<std::uint64_t>(r) * model.cumulative(symbol);
        range_ = r * model.frequency(symbol);
        while (range_ < kTop) {
            range_ <<= 8;
            shiftLow();
        }
        model.update(symbol);
    }
    std::vector<std::uint8_t> finish()
    {
        for (int i = 0; i < 5; ++i)
            shiftLow();
        return std::move(bytes_);
    }

private:
    void shiftLow()
    {
        if (static_cast<std::uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
            const auto carry = static_cast<std::uint8_t>(low_ >> 32);
            std::uint8_t temp = cache_;
            do {
                bytes_.push_back(static_cast<std::uint8_t>(temp + carry));
                temp = 0xFF;
            } while (--cacheSize_ != 0);
            cache_ = static_cast<std::uint8_t>(low_ >> 24);
        }
        ++cacheSize_;
        low_ = (low_ & 0x00FFFFFFu) << 8;
    }

    std::uint64_t low_ = 0;
    std::uint32_t range_ = 0xFFFFFFFFu;
    std::uint8_t cache_ = 0;
    std::uint64_t cacheSize_ = 1;
    std::vector<std::uint8_t> bytes_;
};

class RangeDecoder {
public:
    RangeDecoder(const std::uint8_t* bytes, std::size_t count) : bytes_(bytes), count_(count)
    {
        for (int i = 0; i < 5; ++i)
            code_ = (code_ << 8) | next();
    }
    std::uint32_t decode(AdaptiveModel& model)
    {
        const std::uint32_t r = range_ / model.total();
        const std::uint32_t value = code_ / r;
        if (value >= model.total())
            throw Error("corrupt entropy-coded index stream: code value outside the model at byte "
                        + std::to_string(position_));
        std::uint32_t cumulative = 0;
        const std::uint32_t symbol = model.find(value, cumulative);
        code_ -= r * cumulative;
        range_ = r * model.frequency(symbol);
        while (range_ < kTop) {
            code_ = (code_ << 8) | next();
            range_ <<= 8;
        }
        model.update(symbol);
        return symbol;
    }

private:
    std::uint32_t next()
    {
        const std::size_t at = position_++;
        if (at < count_)
            return bytes_[at];
        if (at >= count_ + 4)
            throw Error("corrupt entropy-coded index stream: it ends after " + std::to_string(count_)
                        + " bytes, before its last index");
        return 0;
    }

    const std::uint8_t* bytes_;
    std::size_t count_;
    std::size_t position_ = 0;
    std::uint32_t code_ = 0;
    std::uint32_t range_ = 0xFFFFFFFFu;
};

std::uint32_t squareSide(std::uint32_t U)
{
    const auto s = static_cast<std::uint32_t>(std::lround(std::sqrt(static_cast<double>(U))));
    if (U == 0 || s * s != U)
        throw Error("entropy-coded indices need U to be a perfect square, got " + std::to_string(U));
    return s;
}

}  // namespace

std::vector<std::uint8_t> encodeIndexStream(const std::uint32_t* indices, std::size_t count, std::uint32_t U,
                                            std::uint32_t K)
{
    const std::uint32_t s = squareSide(U);
    const std::uint64_t limit = static_cast<std::uint64_t>(U) * (K + 1);
    AdaptiveModel ring(K + 1), hi(s), lo(s);
    RangeEncoder encoder;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t t = indices[i];
        if (t >= limit)
            throw Error("index " + std::to_string(t) + " at position " + std::to_string(i)
                        + " is not below U*(K+1) = " + std::to_string(limit));
        const std::uint32_t k = t % U;
        if (K > 0)
            encoder.encode(ring, t / U);
        encoder.encode(hi, k / s);
        encoder.encode(lo, k % s);
    }
    return encoder.finish();
}

void decodeIndexStream(const std::uint8_t* bytes, std::size_t byteCount, std::size_t count, std::uint32_t U,
                       std::uint32_t K, std::uint32_t* out)
{
    const std::uint32_t s = squareSide(U);
    AdaptiveModel ring(K + 1), hi(s), lo(s);
    RangeDecoder decoder(bytes, byteCount);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t j = K > 0 ? decoder.decode(ring) : 0;
        const std::uint32_t h = decoder.decode(hi);
        const std::uint32_t l = decoder.decode(lo);
        out[i] = j * U + h * s + l;
    }
}

}  // namespace birkhoff::format
