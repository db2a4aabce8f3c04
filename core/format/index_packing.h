// Fast packing and unpacking of index streams in the authors' layout (MSB first, zero bits
// prepended; kernels/bitpack.h is the bit-by-bit reference these are tested against).
#pragma once

#include <cstddef>
#include <cstdint>

namespace birkhoff::format {

/// Packs `count` indices, each < 2^bits (1 <= bits <= 32), into `out`, which must hold
/// kernels::packedByteCount(count, bits) bytes. Returns the number of prepended zero bits.
/// Byte-identical to kernels::packIndices.
unsigned packIndexStream(const std::uint32_t* indices, std::size_t count, unsigned bits,
                         std::uint8_t* out);

/// Unpacks indices [first, first + count) of a packed stream of `nbytes` bytes (`bits` bits
/// each, `padBits` leading zero bits) into out[0 .. count). The caller guarantees the range lies
/// inside the stream. Identical to kernels::packedIndexAt for every index.
void unpackIndexRange(const std::uint8_t* bytes, std::size_t nbytes, unsigned bits,
                      unsigned padBits, std::size_t first, std::size_t count, std::uint32_t* out);

}  // namespace birkhoff::format
