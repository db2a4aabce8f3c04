// Extension "entropy_coded": the stored lattice indices of one tensor, range coded on disk.
//
// An index t < U*(K+1) is split into its ring j = t / U and its trajectory position k = t % U,
// and k (U = s*s, a perfect square) into hi = k / s and lo = k % s. On the sheared lattice hi is,
// to within one step, the bin of the pair's first coordinate and lo the bin of its second one,
// so coding hi and lo with two adaptive frequency models (and j with a third when K > 0) costs
// about the entropy of the two quantized coordinates: few bits for the many pairs near the
// centre, more for the rare ones far out. The models start flat and adapt as they go (no table
// is stored); a 32-bit range coder with carry propagation writes the bytes. Only the file uses
// this form: reading decodes it back to the fixed-width stream HyperLinear consumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace birkhoff::format {

/// Range codes `count` indices, each < U*(K+1). U must be a perfect square >= 1.
/// @throws Error for an index out of range or U not a perfect square.
std::vector<std::uint8_t> encodeIndexStream(const std::uint32_t* indices, std::size_t count, std::uint32_t U,
                                            std::uint32_t K);

/// Decodes `count` indices written by encodeIndexStream with the same U and K into out[count].
/// @throws Error ("corrupt entropy-coded index stream ...") when the bytes cannot have been
///   written by the encoder: a code value outside the model, or a stream that ends more than the
///   coder's 4 flush bytes early.
void decodeIndexStream(const std::uint8_t* bytes, std::size_t byteCount, std::size_t count, std::uint32_t U,
                       std::uint32_t K, std::uint32_t* out);

}  // namespace birkhoff::format
