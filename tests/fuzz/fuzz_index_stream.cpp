// libFuzzer target: the range decoder of entropy-coded lattice indices
// (core/format/index_entropy_coder.h) on arbitrary bytes. The first four bytes choose the lattice
// (side 1 + byte 0, so U = side^2; K = byte 1 mod 4) and the index count (bytes 2-3, at most
// 4096); the rest is the coded stream. Any input must either be refused with birkhoff::Error or
// decode to indices below U*(K+1) that the encoder writes back to a stream decoding to the same
// indices.
#include "core/format/index_entropy_coder.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace birkhoff::format;
    if (size < 4)
        return 0;
    const std::uint32_t side = 1u + data[0];
    const std::uint32_t U = side * side;
    const std::uint32_t K = data[1] % 4u;
    const std::size_t count = (static_cast<std::size_t>(data[2]) | (static_cast<std::size_t>(data[3]) << 8)) % 4097;
    std::vector<std::uint32_t> indices(count);
    try {
        decodeIndexStream(data + 4, size - 4, count, U, K, indices.data());
    } catch (const birkhoff::Error&) {
        return 0;
    }
    for (std::uint32_t t : indices)
        if (t >= U * (K + 1))
            __builtin_trap();
    const std::vector<std::uint8_t> again = encodeIndexStream(indices.data(), count, U, K);
    std::vector<std::uint32_t> back(count);
    decodeIndexStream(again.data(), again.size(), count, U, K, back.data());
    if (back != indices)
        __builtin_trap();
    return 0;
}
