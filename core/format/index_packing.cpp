// Word-at-a-time packing and unpacking of MSB-first index streams.
#include "core/format/index_packing.h"

#include "kernels/bitpack.h"

#include <cstring>

namespace birkhoff::format {

unsigned packIndexStream(const std::uint32_t* indices, std::size_t count, unsigned bits,
                         std::uint8_t* out)
{
    const unsigned pad = kernels::packedPaddingBits(count, bits);
    // `acc` holds the pending bits in its low `pending` bits (at most 7 + 32 of them).
    std::uint64_t acc = 0;
    unsigned pending = pad;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < count; ++i) {
        acc = (acc << bits) | indices[i];
        pending += bits;
        while (pending >= 8) {
            pending -= 8;
            out[pos++] = static_cast<std::uint8_t>(acc >> pending);
        }
    }
    return pad;
}

void unpackIndexRange(const std::uint8_t* bytes, std::size_t nbytes, unsigned bits,
                      unsigned padBits, std::size_t first, std::size_t count, std::uint32_t* out)
{
    std::size_t bit = static_cast<std::size_t>(padBits) + first * bits;
    std::size_t i = 0;
    // Fast path: an index starts at most 7 bits into its first byte and spans at most 39 bits,
    // so one big-endian 64-bit load holds it whenever 8 bytes are available.
    for (; i < count; ++i, bit += bits) {
        const std::size_t byte = bit >> 3;
        if (byte + 8 > nbytes)
            break;
        std::uint64_t word;
        std::memcpy(&word, bytes + byte, 8);
        word = __builtin_bswap64(word);
        out[i] = static_cast<std::uint32_t>((word << (bit & 7)) >> (64 - bits));
    }
    for (; i < count; ++i)
        out[i] = kernels::packedIndexAt(bytes, bits, padBits, first + i);
}

}  // namespace birkhoff::format
