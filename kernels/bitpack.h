// Bit packing of index streams in the authors' on-disk layout: each index uses `bits` bits,
// most significant bit first, indices concatenated, and `padBits` zero bits *prepended* so the
// stream fills whole bytes (utils/model_encode.py convert_to_uint8_tensor_optimized).
#pragma once

#include <cstddef>
#include <cstdint>

namespace birkhoff::kernels {

/// Number of zero bits the authors prepend to `count` indices of `bits` bits each.
inline unsigned packedPaddingBits(std::size_t count, unsigned bits)
{
    const std::size_t total = count * bits;
    return static_cast<unsigned>((8 - total % 8) % 8);
}

/// Size in bytes of `count` packed indices of `bits` bits each (padding included).
inline std::size_t packedByteCount(std::size_t count, unsigned bits)
{
    return (count * bits + packedPaddingBits(count, bits)) / 8;
}

/// Smallest bit width that holds `maxIndex` (1 for 0), as the authors' bit_length rule.
inline unsigned bitWidthFor(std::uint32_t maxIndex)
{
    unsigned bits = 1;
    while (bits < 32 && (maxIndex >> bits) != 0)
        ++bits;
    return bits;
}

/// Reads index i of a packed stream. `bytes` must hold packedByteCount(count, bits) bytes;
/// bits must be in [1, 32].
inline std::uint32_t packedIndexAt(const std::uint8_t* bytes, unsigned bits, unsigned padBits,
                                   std::size_t i)
{
    std::size_t bit = static_cast<std::size_t>(padBits) + i * bits;
    std::uint64_t value = 0;
    unsigned remaining = bits;
    while (remaining > 0) {
        const std::size_t byte = bit >> 3;
        const unsigned offset = static_cast<unsigned>(bit & 7);
        const unsigned take = (8 - offset) < remaining ? (8 - offset) : remaining;
        const unsigned shift = 8 - offset - take;
        const std::uint32_t chunk = (bytes[byte] >> shift) & ((1u << take) - 1u);
        value = (value << take) | chunk;
        remaining -= take;
        bit += take;
    }
    return static_cast<std::uint32_t>(value);
}

/// Unpacks `count` indices into out[0..count).
inline void unpackIndices(const std::uint8_t* bytes, unsigned bits, unsigned padBits,
                          std::size_t count, std::uint32_t* out)
{
    for (std::size_t i = 0; i < count; ++i)
        out[i] = packedIndexAt(bytes, bits, padBits, i);
}

/// Packs `count` indices (each < 2^bits) into `out`, which must have room for
/// packedByteCount(count, bits) bytes. Returns the number of prepended padding bits.
inline unsigned packIndices(const std::uint32_t* indices, std::size_t count, unsigned bits,
                            std::uint8_t* out)
{
    const unsigned pad = packedPaddingBits(count, bits);
    const std::size_t nbytes = packedByteCount(count, bits);
    for (std::size_t b = 0; b < nbytes; ++b)
        out[b] = 0;
    std::size_t bit = pad;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t v = indices[i];
        for (int s = static_cast<int>(bits) - 1; s >= 0; --s, ++bit) {
            if ((v >> s) & 1u)
                out[bit >> 3] |= static_cast<std::uint8_t>(0x80u >> (bit & 7));
        }
    }
    return pad;
}

}  // namespace birkhoff::kernels
